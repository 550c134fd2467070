import {
  ErrorCode,
  JobwireError,
  serializeError,
  toJobwireError,
  type SerializedError,
} from '../errors.ts';
import { readPayload } from '../contract/upcast.ts';
import { withRedis } from '../redis/connection.ts';
import type { QueueContext } from '../redis/queue-context.ts';
import type { StoredOptions } from '../contract/options.ts';
import { JobField } from '../redis/job-fields.ts';
import { laneKeysOf } from './lanes.ts';
import { stateFromLetter, type JobState } from '../types.ts';

/** Counts per state. @public */
export type StateCounts = Record<JobState, number>;

/** Counts per state, overall and per job type. @public */
export interface QueueCounts extends StateCounts {
  byType: Record<string, StateCounts>;
}

/** Everything stored about one job. @public */
export interface JobInfo {
  id: string;
  name: string;
  queue: string;
  state: JobState;
  /** The payload as the producer stored it (before transforms). */
  data: unknown;
  priority: number;
  attemptsMade: number;
  attempts: number;
  stalls: number;
  deliveries: number;
  createdAt: number;
  startedAt?: number | undefined;
  finishedAt?: number | undefined;
  /** When a delayed job becomes due, ms since the epoch. */
  dueAt?: number | undefined;
  progress?: unknown | undefined;
  result?: unknown | undefined;
  errors: SerializedError[];
  logs: string[];
  /** The contract version of the producer that stored it. */
  version: number;
  /** The contract fingerprint of the producer that stored it ('' if unknown). */
  fingerprint: string;
  /**
   * With `{ upcast: true }` (`getJob` or `getJobs`) only: the version `data`
   * is in. It is this code's version when the job could be read as a
   * handler would get it; the stored version when not (see `upcastError`,
   * or a job of a newer version, or of a type, this code does not know).
   */
  dataVersion?: number | undefined;
  /**
   * With `{ upcast: true }`: why `data` could not be read or upcast
   * (`UPCAST_FAILED` when an upcaster threw, `VALIDATION_FAILED` when the
   * old payload or the upcast result failed its schema). `data` is then the
   * stored payload, unchanged.
   */
  upcastError?: SerializedError | undefined;
  /**
   * When a cancel of the job was requested while it was active, ms since
   * the epoch: it ends as cancelled once its handler's run settles.
   */
  cancelRequestedAt?: number | undefined;
  /** The reason given with its cancel, if any. */
  cancelReason?: string | undefined;
  /**
   * An active job's lease deadline (Redis clock, ms since the epoch). A
   * live worker renews it every third of its `leaseMs`, so a deadline in
   * the past means the worker holding the job died or froze: the next
   * stall check puts the job back to waiting (or fails it, past
   * `maxStalls`).
   */
  leaseExpiresAt?: number | undefined;
}

/** Options of `getJob`. @public */
export interface GetJobOptions {
  /** The job's queue; without it, the registry's queues are searched. */
  queue?: string | undefined;
  /**
   * Give `data` as a handler of this code's contract would get it: an older
   * version's payload run through the upcasters, then parsed by the current
   * payload schema (defaults and transforms applied). @defaultValue false
   */
  upcast?: boolean | undefined;
}

/** Which jobs `getJobs` lists: a queue, a job type, and a page. @public */
export interface JobListOptions {
  /** The queue to list; without it, every queue of the registry in turn. */
  queue?: string | undefined;
  /** Only jobs of this type. */
  name?: string | undefined;
  /** Jobs to skip. @defaultValue 0 */
  offset?: number | undefined;
  /** Jobs to return, 1 to 1000. @defaultValue 50 */
  limit?: number | undefined;
  /**
   * Give each job's `data` as a handler of this code's contract would get
   * it, as `getJob(id, { upcast: true })` does. A job that cannot be upcast
   * is still listed, with its stored `data` and the reason in
   * `upcastError`; the page never fails for it. @defaultValue false
   */
  upcast?: boolean | undefined;
}

function emptyCounts(): StateCounts {
  return {
    waiting: 0,
    delayed: 0,
    active: 0,
    completed: 0,
    failed: 0,
    expired: 0,
    cancelled: 0,
  };
}

function parseMaybe(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * The read side of the maintenance API: counts, listings and one job's
 * details.
 */
export class QueueInspector {
  /**
   * Settings entries read (`<queue>\n<ref>` → `<fingerprint>|<options>`): a
   * ref is derived from its entry, which never changes (JobField.settingsRef),
   * so listings read each one once.
   */
  private readonly settings = new Map<string, string>();

  constructor(private readonly ctx: QueueContext) {}

  /** The given queue, or every queue of the registry. */
  queuesOf(queue: string | undefined): readonly string[] {
    return queue === undefined ? this.ctx.registry.queues : [queue];
  }

  private redis<TResult>(fn: () => Promise<TResult>): Promise<TResult> {
    return withRedis(this.ctx.client, this.ctx.connectTimeoutMs, fn);
  }

  /** Counts jobs per state, overall and per job type. */
  async getCounts(
    options: { queue?: string | undefined } = {},
  ): Promise<QueueCounts> {
    // Null prototype: a type named `constructor` or `toString` is a key
    // like any other, not a member inherited from Object.prototype.
    const byType = Object.create(null) as Record<string, StateCounts>;
    const total: QueueCounts = { ...emptyCounts(), byType };
    // Sent together: one round trip whatever the number of queues.
    const all = await this.redis(() =>
      Promise.all(
        this.queuesOf(options.queue).map((queue) =>
          this.ctx.client.hgetall(this.ctx.keys(queue).counts),
        ),
      ),
    );
    for (const raw of all) {
      for (const [field, value] of Object.entries(raw)) {
        const sep = field.lastIndexOf('|');
        const letter = field.slice(sep + 1);
        if (sep < 0 || !Object.hasOwn(stateFromLetter, letter)) continue;
        const state = stateFromLetter[letter]!;
        const type = field.slice(0, sep);
        const n = Number(value);
        total[state] += n;
        (total.byType[type] ??= emptyCounts())[state] += n;
      }
    }
    return total;
  }

  /**
   * The queue holding job `id`: the one given, or the only queue of the
   * registry where it exists. Generated ids are unique across queues; a
   * custom `jobId` used in two queues is refused rather than guessed.
   */
  async locate(
    id: string,
    queue: string | undefined,
  ): Promise<string | undefined> {
    if (queue !== undefined) return queue;
    const queues = this.ctx.registry.queues;
    if (queues.length === 1) return queues[0];
    // Sent together: one round trip whatever the number of queues, and
    // each command goes to its own slot's node on a Cluster.
    const exists = await this.redis(() =>
      Promise.all(
        queues.map((q) => this.ctx.client.exists(this.ctx.keys(q).job(id))),
      ),
    );
    const found = queues.filter((_, i) => exists[i] === 1);
    if (found.length > 1) {
      const problem = `job id ${id} exists in queues ${found.join(', ')} (a custom jobId used in both)`;
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `${problem}; pass { queue } to say which`,
        { hint: { option: 'queue', values: found, problem } },
      );
    }
    return found[0];
  }

  /** Reads one job; without `queue`, finds it among the registry's queues. */
  async getJob(
    id: string,
    options: GetJobOptions = {},
  ): Promise<JobInfo | undefined> {
    const queue = await this.locate(id, options.queue);
    if (queue === undefined) return undefined;
    const k = this.ctx.keys(queue);
    const [hash, logs, dueAt, leaseUntil] = await this.redis(async () => {
      const r = await this.ctx.client
        .multi()
        .hgetall(k.job(id))
        .lrange(k.log(id), 0, -1)
        .zscore(k.delayed, id)
        .get(k.payload(id))
        // A job stored before logs moved keeps them here; when the name is
        // another job's hash, LRANGE fails alone and is ignored.
        .lrange(k.legacyLog(id), 0, -1)
        .zscore(k.active, id)
        .exec();
      const h = (r?.[0]?.[1] ?? {}) as Record<string, string>;
      const payload = r?.[3]?.[1] as string | null | undefined;
      if (typeof payload === 'string') h[JobField.legacyData] = payload;
      const due = r?.[2]?.[1] as string | null | undefined;
      const legacy = r?.[4]?.[1];
      const logs = (r?.[1]?.[1] ?? []) as string[];
      const lease = r?.[5]?.[1] as string | null | undefined;
      return [
        h,
        Array.isArray(legacy) ? [...(legacy as string[]), ...logs] : logs,
        due ?? undefined,
        lease ?? undefined,
      ] as const;
    });
    if (hash[JobField.name] === undefined) return undefined;
    await this.resolveSettings(queue, hash);
    const info = toJobInfo(queue, id, hash, logs, dueAt);
    if (info.state === 'active' && leaseUntil !== undefined)
      info.leaseExpiresAt = Number(leaseUntil);
    return options.upcast === true ? this.upcast(info) : info;
  }

  /**
   * Fills in a job hash's options and fingerprint from its settings ref
   * (layout 3) where it does not hold them itself, as the scripts read them
   * (jobSettings in scripts/includes/base.lua).
   */
  private async resolveSettings(
    queue: string,
    h: Record<string, string>,
  ): Promise<void> {
    const F = JobField;
    const ref = h[F.settingsRef];
    if (ref === undefined) return;
    if (h[F.options] !== undefined && h[F.fingerprint] !== undefined) return;
    const cacheKey = `${queue}\n${ref}`;
    let value = this.settings.get(cacheKey);
    if (value === undefined) {
      const k = this.ctx.keys(queue);
      const read = await this.redis(() =>
        this.ctx.client.hget(k.settings, ref),
      );
      if (read === null) return;
      value = read;
      // Bounded: distinct settings are few, but a process may watch many queues.
      if (this.settings.size >= 1000) this.settings.clear();
      this.settings.set(cacheKey, value);
    }
    const bar = value.indexOf('|');
    h[F.options] ??= value.slice(bar + 1);
    h[F.fingerprint] ??= value.slice(0, bar);
  }

  /** `info` with its data read as this code's handler would get it. */
  private async upcast(info: JobInfo): Promise<JobInfo> {
    const def = Object.hasOwn(this.ctx.registry.jobs, info.name)
      ? this.ctx.registry.jobs[info.name]
      : undefined;
    info.dataVersion = info.version;
    if (def === undefined || info.version > def.version) return info;
    try {
      info.data = await readPayload(
        def,
        info.version,
        info.data,
        `payload of ${info.name} job ${info.id}`,
      );
      info.dataVersion = def.version;
    } catch (err) {
      info.upcastError = serializeError(toJobwireError(err));
    }
    return info;
  }

  /**
   * Lists jobs in one state, oldest first, with paging. Waiting jobs come in
   * the order workers will take them. `name` filters by job type; `upcast`
   * reads each job's data as this code's handler would get it.
   */
  async getJobs(
    state: JobState,
    options: JobListOptions = {},
  ): Promise<JobInfo[]> {
    const offset = Math.max(0, options.offset ?? 0);
    const limit = Math.min(Math.max(1, options.limit ?? 50), 1000);
    const out: JobInfo[] = [];
    const queues = this.queuesOf(options.queue);
    // One offset across queues: whole queues are skipped by their counts.
    let skip = offset;
    for (const queue of queues) {
      if (queues.length > 1) {
        const counts = await this.getCounts({ queue });
        const here = options.name
          ? (counts.byType[options.name]?.[state] ?? 0)
          : counts[state];
        if (skip >= here) {
          skip -= here;
          continue;
        }
      }
      const k = this.ctx.keys(queue);
      let ids: string[];
      if (state === 'waiting') {
        const types = options.name
          ? [options.name]
          : await this.redis(() => this.ctx.client.smembers(k.types));
        const merged: [number, string][] = [];
        // Every version lane of the types: scores share one sequence, so
        // the merge is the order workers that read them all take them in.
        const lanes = await this.redis(() =>
          laneKeysOf(this.ctx.client, k, types),
        );
        for (const key of lanes) {
          const r = await this.redis(() =>
            this.ctx.client.zrange(
              key,
              0,
              String(skip + limit - 1),
              'WITHSCORES',
            ),
          );
          for (let i = 0; i < r.length; i += 2)
            merged.push([Number(r[i + 1]), r[i]!]);
        }
        merged.sort((a, b) => a[0] - b[0]);
        ids = merged.slice(skip, skip + limit).map(([, id]) => id);
      } else {
        const key = k[state];
        ids = [];
        let pos = 0;
        let skipped = 0;
        // A type filter scans in pages; without one, ranges are exact.
        while (ids.length < limit) {
          const page = await this.redis(() =>
            this.ctx.client.zrange(
              key,
              options.name ? pos : skip,
              String(options.name ? pos + 499 : skip + limit - 1),
            ),
          );
          if (page.length === 0) break;
          if (!options.name) {
            ids = page;
            break;
          }
          const names = await this.redis(() =>
            Promise.all(
              page.map((id) => this.ctx.client.hget(k.job(id), JobField.name)),
            ),
          );
          page.forEach((id, i) => {
            if (names[i] !== options.name || ids.length >= limit) return;
            if (skipped < skip) skipped++;
            else ids.push(id);
          });
          pos += page.length;
        }
      }
      skip = 0;
      for (const id of ids) {
        if (out.length >= limit) break;
        const info = await this.getJob(id, {
          queue,
          upcast: options.upcast === true,
        });
        if (info) out.push(info);
      }
      if (out.length >= limit) break;
    }
    return out.slice(0, limit);
  }
}

function toJobInfo(
  queue: string,
  id: string,
  h: Record<string, string>,
  logs: string[],
  dueAt: string | undefined,
): JobInfo {
  const F = JobField;
  const opts = parseMaybe(h[F.options]) as Partial<StoredOptions> | undefined;
  const info: JobInfo = {
    id,
    name: h[F.name] ?? '',
    queue,
    state: stateFromLetter[h[F.state] ?? ''] ?? 'waiting',
    data: parseMaybe(h[F.legacyData]),
    priority: Number(h[F.priority] ?? 0),
    attemptsMade: Number(h[F.attemptsMade] ?? 0),
    attempts: opts?.at ?? 1,
    stalls: Number(h[F.stalls] ?? 0),
    deliveries: Number(h[F.deliveries] ?? 0),
    createdAt: Number(h[F.createdAt] ?? 0),
    errors: (parseMaybe(h[F.errors]) as SerializedError[] | undefined) ?? [],
    logs,
    version: Number(h[F.version] ?? 1),
    fingerprint: h[F.fingerprint] ?? '',
  };
  const started = h[F.startedAt];
  if (started !== undefined) info.startedAt = Number(started);
  const finished = h[F.finishedAt];
  if (finished !== undefined) info.finishedAt = Number(finished);
  if (dueAt !== undefined) info.dueAt = Number(dueAt);
  const progress = h[F.progress];
  if (progress !== undefined) info.progress = parseMaybe(progress);
  const cancelAt = h[F.cancelRequested];
  if (cancelAt !== undefined) info.cancelRequestedAt = Number(cancelAt);
  const cancelReason = h[F.cancelReason];
  if (cancelReason !== undefined) info.cancelReason = cancelReason;
  const result = h[F.result];
  // '' is a job without a result (no result schema, or an undefined one).
  if (result !== undefined && result !== '') info.result = parseMaybe(result);
  return info;
}
