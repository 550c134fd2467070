/**
 * What `migrate` reports (ops/migrate.ts): its options, the queued jobs per
 * contract version, failures and a dry run's sample.
 */
import type { SerializedError } from '../errors.ts';

/** Options of `Queue.migrate`. @public */
export interface MigrateOptions {
  /** The queue to migrate in. @defaultValue the job type's queue */
  queue?: string | undefined;
  /** Read, upcast and count, but write nothing. @defaultValue false */
  dryRun?: boolean | undefined;
  /**
   * Jobs read per page and written per batch (one atomic script call each).
   * @defaultValue 500
   */
  batchSize?: number | undefined;
  /** How many jobs a dry run shows before and after. @defaultValue 3 */
  sample?: number | undefined;
}

/** The queued jobs of one contract version. @public */
export interface VersionCounts {
  version: number;
  waiting: number;
  delayed: number;
}

/** A job `migrate` could not rewrite: left as it was. @public */
export interface MigrateFailure {
  id: string;
  state: 'waiting' | 'delayed';
  /** Its stored version. */
  version: number;
  /** Why: the upcast's ValidationError or UpcastError, CORRUPT_JOB, PAYLOAD_TOO_LARGE. */
  error: SerializedError;
}

/** One job of a dry run's sample: its payload as stored, and as it would be. @public */
export interface MigrateSample {
  id: string;
  state: 'waiting' | 'delayed';
  fromVersion: number;
  before: unknown;
  after: unknown;
}

/** A repeat schedule whose template `migrate` could not rewrite: left as it was. @public */
export interface MigrateRepeatFailure {
  /** The repeat key. */
  key: string;
  /** The template's stored version. */
  version: number;
  /** Why: the upcast's ValidationError or UpcastError, CORRUPT_JOB, PAYLOAD_TOO_LARGE. */
  error: SerializedError;
}

/**
 * The type's repeat schedules whose occurrence template an older version
 * declared: their template (payload, version, fingerprint) and spec data
 * are upcast like queued jobs, so later occurrences are created at the
 * current version. @public
 */
export interface MigrateRepeatCounts {
  /** Schedules rewritten (for a dry run: that would be). */
  migrated: number;
  /** Schedules replaced or removed between read and write: left alone. */
  skipped: number;
  /** Schedules whose template could not be upcast or stored: left as they were. */
  failed: number;
  /** The first 100 failures. */
  failures: MigrateRepeatFailure[];
}

/** What `migrate` found and did. @public */
export interface MigrateReport {
  queue: string;
  name: string;
  /** The current version: the one jobs are migrated to. */
  version: number;
  dryRun: boolean;
  /** Queued jobs per stored version before the run, oldest version first. */
  before: VersionCounts[];
  /**
   * After the run, counted again (jobs enqueued, taken or finished meanwhile
   * count too); for a dry run, what the run would leave.
   */
  after: VersionCounts[];
  /** Jobs rewritten (for a dry run: that would be). */
  migrated: number;
  /** Jobs that changed between read and write (taken by a worker, removed): left alone. */
  skipped: number;
  /** Jobs whose payload could not be upcast or stored: left as they were. */
  failed: number;
  /** The first 100 failures, in the order they were read. */
  failures: MigrateFailure[];
  /** Dry run: the first `sample` jobs, before and after. Empty otherwise. */
  sample: MigrateSample[];
  /** The type's repeat schedules of older versions (not counted in `migrated`, `skipped`, `failed`). */
  repeats: MigrateRepeatCounts;
}

/** A job hash's version field, read as Lua's `num(v, 1)` reads it. */
export function storedVersion(raw: string | null): number {
  const n = raw === null || raw.trim() === '' ? NaN : Number(raw);
  return Number.isFinite(n) ? n : 1;
}

/** Queued jobs counted per version. */
export class Tally {
  private readonly byVersion = new Map<number, VersionCounts>();

  add(version: number, state: 'waiting' | 'delayed', n = 1): void {
    let c = this.byVersion.get(version);
    if (c === undefined) {
      c = { version, waiting: 0, delayed: 0 };
      this.byVersion.set(version, c);
    }
    c[state] += n;
  }

  rows(): VersionCounts[] {
    return [...this.byVersion.values()]
      .filter((c) => c.waiting + c.delayed > 0)
      .sort((a, b) => a.version - b.version)
      .map((c) => ({ ...c }));
  }
}
