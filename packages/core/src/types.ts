/**
 * Glossary
 * - job type: a named contract (payload, result and progress schemas plus
 *   defaults) declared once with `job()` inside `defineJobs()`.
 * - job: one unit of work of a job type, stored as a Redis hash.
 * - queue: a named group of job types sharing one Redis hash slot; every
 *   job type lives in exactly one queue.
 * - worker: a process-side consumer that serves one or more job types.
 * - lease: a worker's time-limited claim on an active job, identified by a
 *   token; it is renewed while the handler runs. Writes with a stale token
 *   are refused (fencing).
 * - attempt: one run of the handler that ended in success or failure;
 *   `attempts` bounds them. Delivery that ends in a stall is not an attempt.
 * - stall: a delivery whose lease expired without an outcome (the worker
 *   died or froze); the job goes back to waiting, up to `maxStalls` times.
 * - cancel: ends a waiting or delayed job at once; an active job's handler
 *   sees its signal abort at the next lease renewal, and the job ends as
 *   cancelled, never retried.
 */

/** Where a job is. @public */
export type JobState =
  | 'waiting'
  | 'delayed'
  | 'active'
  | 'completed'
  | 'failed'
  | 'expired'
  | 'cancelled';

/** The short state letters stored in job hashes and counters. */
export const stateLetter = {
  waiting: 'w',
  delayed: 'd',
  active: 'a',
  completed: 'c',
  failed: 'f',
  expired: 'x',
  cancelled: 'k',
} as const satisfies Record<JobState, string>;

export const stateFromLetter: Record<string, JobState> = Object.fromEntries(
  Object.entries(stateLetter).map(([k, v]) => [v, k as JobState]),
);

/** Kue's named priority levels; lower runs first. @public */
export const priorityLevels = {
  critical: -15,
  high: -10,
  medium: -5,
  normal: 0,
  low: 10,
} as const;

/** A named level or an integer from -1000 (first) to 1000 (last). @public */
export type Priority = keyof typeof priorityLevels | number;

/**
 * Computes the wait before the next attempt, in ms. Called after a failed
 * attempt that another attempt follows, with that attempt's number (1 for
 * the first) and its error: what the handler threw when that is an `Error`
 * (the very object, so `instanceof` your own classes and their fields
 * work), otherwise the recorded `JobwireError` (`HANDLER_FAILED` for a
 * thrown non-Error value, the `TimeoutError` of the job's own timeout).
 * It answers synchronously; the return is rounded to whole ms. One that
 * throws, or returns anything but a finite number ≥ 0 (a promise, NaN),
 * does not lose the attempt: its failure is recorded as usual, the next
 * attempt runs without delay, and the problem is reported on the worker's
 * `error` event as `HANDLER_FAILED` naming the job type. The return is not capped by `maxDelayMs`, which
 * belongs to the object form.
 * @public
 */
export type BackoffFunction = (attempt: number, error: Error) => number;

/** How long to wait between attempts. @public */
export type Backoff =
  | {
      type: 'fixed' | 'exponential';
      /** Base delay; exponential doubles it per attempt. */
      delayMs: number;
      /** Random spread as a fraction of the delay, 0 to 1. @defaultValue 0 */
      jitter?: number | undefined;
      /**
       * Upper bound on one delay, before jitter (fixed and exponential
       * alike). @defaultValue 3_600_000
       */
      maxDelayMs?: number | undefined;
    }
  | BackoffFunction;

/**
 * Which finished jobs to keep. `true` keeps all, `false` removes at once;
 * `count` keeps the newest N, `ageMs` drops those older than it. A rule
 * trims only the finished jobs of its own job type. A `jobId` stays
 * deduplicated exactly as long as its job is kept.
 * @public
 */
export type Keep =
  boolean | { count?: number | undefined; ageMs?: number | undefined };

/** @public */
export interface Retention {
  /** @defaultValue `{ count: 1000 }` */
  completed?: Keep | undefined;
  /**
   * Applies to failed, expired and cancelled jobs.
   * @defaultValue `{ count: 10000 }`
   */
  failed?: Keep | undefined;
}

/** Options shared by job type defaults and a single enqueue. @public */
export interface JobOptions {
  /** @defaultValue 'normal' (0) */
  priority?: Priority | undefined;
  /** Total attempts including the first. @defaultValue 1 */
  attempts?: number | undefined;
  /** @defaultValue exponential, 1000 ms */
  backoff?: Backoff | undefined;
  /**
   * Per-attempt handler timeout in ms; 0 disables. At most 2,147,483,647
   * (Node's timer limit). @defaultValue 0
   */
  timeoutMs?: number | undefined;
  /** Wait before the job becomes runnable. @defaultValue 0 */
  delayMs?: number | undefined;
  /**
   * A job not started within this time after it became runnable expires.
   * Once a worker has taken it, a job never expires: not after a stall, a
   * release at shutdown or a retry.
   */
  expireAfterMs?: number | undefined;
  /** @defaultValue keep 1000 completed, 10000 failed */
  retention?: Retention | undefined;
}

/**
 * Wait, after the enqueue script, until the write is persisted: `WAITAOF`
 * (Redis 7.2 and later) when `aof` is set, otherwise `WAIT` for
 * `replicas`. Sent in the same pipeline as the script (no extra round
 * trip). When the wait fails the jobs are still stored, and the call
 * rejects with a `DurabilityError`.
 * @public
 */
export interface Durability {
  /**
   * Wait until the local Redis has fsynced the write to its append-only
   * file (`WAITAOF 1 …`). Needs Redis 7.2+ with `appendonly yes`;
   * otherwise the call rejects with `DURABILITY_UNAVAILABLE`.
   * @defaultValue false
   */
  aof?: boolean | undefined;
  /**
   * Replicas that must acknowledge the write: received it (`WAIT`), or,
   * with `aof: true`, fsynced it to their own AOF (`WAITAOF`).
   * @defaultValue 0
   */
  replicas?: number | undefined;
  /**
   * Longest wait for the acknowledgements, in ms, before the call rejects
   * with `DURABILITY_TIMEOUT`. Must be below `commandTimeoutMs`.
   * @defaultValue 1000
   */
  timeoutMs?: number | undefined;
}

/** Options for one `enqueue` call. @public */
export interface EnqueueOptions extends Omit<JobOptions, 'backoff'> {
  /** Run at this time instead of after `delayMs`. */
  runAt?: Date | undefined;
  /** Your own id: a second enqueue with it returns the existing job. */
  jobId?: string | undefined;
  /** Serializable backoff only; functions belong in the job definition. */
  backoff?: Exclude<Backoff, BackoffFunction> | undefined;
  /**
   * Overrides the queue's `durability` for this call (fields merge over
   * the queue's); `false` turns the wait off.
   * @defaultValue the queue's `durability` (none)
   */
  durability?: Durability | false | undefined;
}
