/**
 * Every default in one place. The settings block of docs/settings.md is
 * checked against this file by a test, so change both together.
 */
export const defaults = {
  /** Key prefix in Redis. */
  prefix: 'jobwire',
  /** Queue a job type goes to when its definition names none. */
  queue: 'default',
  /** Priority of a job: Kue's `normal`. */
  priority: 0,
  /** Total attempts (1 = no retry). */
  attempts: 1,
  /** Backoff between attempts. */
  backoff: {
    type: 'exponential',
    delayMs: 1000,
    jitter: 0,
    maxDelayMs: 3_600_000,
  },
  /** Per-attempt handler timeout; 0 disables it. */
  timeoutMs: 0,
  /** Largest payload, as UTF-8 JSON bytes. */
  maxPayloadBytes: 512 * 1024,
  /** Largest handler result a worker stores, as UTF-8 JSON bytes. */
  maxResultBytes: 512 * 1024,
  /** How long a call waits for Redis before failing with RedisUnavailableError. */
  connectTimeoutMs: 1000,
  /** How long one command may take before it fails with RedisUnavailableError. */
  commandTimeoutMs: 5000,
  /** Completed jobs kept per job type (the most recent ones). */
  keepCompleted: { count: 1000 },
  /** Failed jobs, and expired jobs, kept per job type (the most recent ones). */
  keepFailed: { count: 10_000 },
  /** Approximate cap on the event stream of each queue. */
  maxEvents: 10_000,
  /** Log lines kept per job. */
  maxLogLines: 1000,
  /** Longest durability wait (WAIT / WAITAOF) of an enqueue that asks for one. */
  durabilityTimeoutMs: 1000,
  /** Jobs enqueued per round trip in `enqueueBulk`. */
  bulkChunkSize: 1000,
  /** `migrate`: jobs read per page and rewritten per atomic batch. */
  migrateBatchSize: 500,
  /** `migrate` dry run: jobs shown before and after. */
  migrateSample: 3,
  /** Worker: jobs run at once, over all job types. */
  concurrency: 1,
  /** Worker: lease length; renewed every third of it while the handler runs. */
  leaseMs: 30_000,
  /** Worker: how often active jobs are checked for expired leases. */
  stallCheckIntervalMs: 5000,
  /** Worker: deliveries that may stall before the job fails with STALL_LIMIT. */
  maxStalls: 1,
  /** Worker: longest single blocking wait for new jobs. */
  blockTimeoutMs: 5000,
  /**
   * Worker: how long a job of a contract version newer than the worker knows
   * waits in delayed after the worker handed it back (only jobs stored in
   * lane 1 by producers from before version lanes reach such a worker).
   */
  newerVersionDelayMs: 5000,
  /** Worker: `close()` deadline before handlers are aborted. */
  shutdownDeadlineMs: 10_000,
} as const;
