/**
 * The storage layout: the version of the form a queue's jobs and keys are
 * stored in. Each queue records it in its meta hash (field `layout`), so a
 * process meets a form it cannot read as a clear refusal
 * (LayoutUnsupportedError) rather than as jobs it misreads or corrupts.
 *
 * Layouts so far:
 * - 1: the payload in the job hash (F.legacyData, `d`), log lines at
 *   `<base>j:<id>:log`, no contract versions or lanes. Builds of that time
 *   recorded no layout.
 * - 2: the payload at `<base>p:<id>`, logs at `<base>l:<id>`, versions
 *   and lanes.
 * - 3: a job hash names its options and fingerprint by a ref
 *   (JobField.settingsRef) into the queue's settings hash
 *   (`<base>settings`) instead of holding them, unless its options differ
 *   from its type's defaults. A layout 2 build would read such a job as
 *   having no options, hence the bump. This build writes layout 3; it reads
 *   layout 2 jobs as they are (each field inline first, then by ref), so
 *   they need no rewrite, and layout 1 data, which `migrateLayout`
 *   (ops/layout-migrate.ts) rewrites into the current form.
 *
 * A change to the stored form that an older build would misread raises
 * LAYOUT_VERSION. A queue without the field is taken as this layout (its
 * data came from a build that predates the field, which this one reads);
 * the first producer (or worker, in a queue holding data) records it.
 */
import { LayoutUnsupportedError } from '../errors.ts';
import { withRedis } from './connection.ts';
import type { QueueKeys } from './keys.ts';
import { runScript, type RedisClient } from './scripts/index.ts';

/** The newest layout this build reads and writes. */
export const LAYOUT_VERSION = 3;

/**
 * How long a positive check is trusted. A long-running process checks
 * again after this, so one that keeps running while a newer jobwire takes
 * the queue over stops within a minute; one check a minute per queue costs
 * nothing measurable.
 */
const RECHECK_MS = 60_000;

/**
 * Checks the queue's layout and records this build's when it has none (or
 * an older one). `producer`: record it even in an empty queue. Returns the
 * layout recorded before (0 for none); throws LayoutUnsupportedError, having
 * written nothing, when it is newer than this build knows.
 */
export async function checkLayout(
  client: RedisClient,
  k: QueueKeys,
  producer: boolean,
): Promise<number> {
  const found = Number(
    await runScript(
      client,
      'checkLayout',
      [k.meta, k.counts],
      [LAYOUT_VERSION, producer ? '1' : '0'],
    ),
  );
  if (found > LAYOUT_VERSION)
    throw new LayoutUnsupportedError(k.queue, found, LAYOUT_VERSION);
  return found;
}

/**
 * The layout check of one producer or worker: once per queue before its
 * first write, then again at most once a minute; a failed check (Redis
 * down, or a refusal) is not cached, so the next call asks again.
 */
export class LayoutGate {
  private readonly checks = new Map<
    string,
    { at: number; done: Promise<unknown>; passed: boolean }
  >();

  constructor(
    private readonly client: RedisClient,
    private readonly connectTimeoutMs: number,
    /** A producer records its layout in an empty queue too; a worker does not. */
    private readonly producer: boolean,
  ) {}

  /**
   * True when a check of queue `k` passed less than a minute ago, so a
   * write need not wait for `ensure`.
   */
  fresh(k: QueueKeys): boolean {
    const cached = this.checks.get(k.queue);
    return (
      cached !== undefined &&
      cached.passed &&
      Date.now() - cached.at < RECHECK_MS
    );
  }

  /** Resolves when queue `k` may be written by this build; rejects with LAYOUT_UNSUPPORTED if not. */
  ensure(k: QueueKeys): Promise<unknown> {
    const now = Date.now();
    const cached = this.checks.get(k.queue);
    if (cached !== undefined && now - cached.at < RECHECK_MS)
      return cached.done;
    const done = withRedis(
      this.client,
      this.connectTimeoutMs,
      () => checkLayout(this.client, k, this.producer),
      k.meta,
    );
    const entry = { at: now, done, passed: false };
    this.checks.set(k.queue, entry);
    done.then(
      () => {
        entry.passed = true;
      },
      () => {
        if (this.checks.get(k.queue) === entry) this.checks.delete(k.queue);
      },
    );
    return done;
  }
}
