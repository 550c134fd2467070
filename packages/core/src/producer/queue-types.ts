import type { inferJobInput, JobMap } from '../contract/define.ts';
import type { ConnectionOptions } from '../redis/connection.ts';
import type { Durability, EnqueueOptions } from '../types.ts';
import type { CancelOutcome } from '../redis/transitions/operator.ts';

/** Options of `createQueue`. @public */
export interface QueueOptions extends ConnectionOptions {
  /** Largest payload as UTF-8 JSON. @defaultValue 524288 (512 KiB) */
  maxPayloadBytes?: number | undefined;
  /** Jobs stored per round trip by `enqueueBulk`. @defaultValue 1000 */
  bulkChunkSize?: number | undefined;
  /** Approximate cap of each queue's event stream. @defaultValue 10000 */
  maxEvents?: number | undefined;
  /**
   * Opt-in persistence wait for every enqueue: after the enqueue script,
   * in the same pipeline, `WAITAOF` (with `aof: true`, Redis 7.2+) or
   * `WAIT <replicas>`. When it cannot be confirmed, the call rejects with
   * a `DurabilityError` (`DURABILITY_UNAVAILABLE` or `DURABILITY_TIMEOUT`)
   * although the jobs were stored. Overridable per enqueue.
   * @defaultValue undefined (no wait: acknowledged once Redis applied the write)
   */
  durability?: Durability | undefined;
}

/**
 * What an enqueue did with a job: `created` (stored), `duplicate` (a job
 * with its `jobId` existed; nothing was written) or `throttled` (its
 * type's `throttle` dropped it; nothing was written). @public
 */
export type EnqueueStatus = 'created' | 'duplicate' | 'throttled';

/** What `enqueue` returns. @public */
export interface JobHandle<TResult> {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** What the enqueue did with the job (see docs/debounce-and-throttle.md). */
  readonly outcome: EnqueueStatus;
  /** True when a job with this `jobId` already existed; nothing was written. */
  readonly duplicate: boolean;
  /**
   * With a `debounce` rule: the id of the pending job of the same key that
   * this job replaced. That job ended as cancelled (reason
   * `debounced: replaced by <this id>`) and its `finished()` rejects with
   * a CancelledError.
   */
  readonly replaced?: string | undefined;
  /**
   * Resolves with the job's typed result, or rejects with its final failure.
   * Backed by Redis, so it works from any process and after restarts. A
   * throttled job's rejects at once with a JobwireError `THROTTLED`; a job
   * a later one debounced away rejects with a CancelledError.
   */
  finished(options?: { timeoutMs?: number | undefined }): Promise<TResult>;
  /**
   * Cancels the job, as `queue.cancel(id)` does: `'cancelled'` when it
   * was waiting or delayed, `'requested'` when it is active (its handler's
   * signal aborts at the next lease renewal, then it ends as cancelled).
   * A throttled job was never stored: it rejects with JOB_NOT_FOUND.
   */
  cancel(options?: { reason?: string | undefined }): Promise<CancelOutcome>;
}

/** One item of `enqueueBulk`. @public */
export type BulkItem<TJobs extends JobMap> = {
  [TName in keyof TJobs & string]: {
    name: TName;
    payload: inferJobInput<TJobs, TName>;
    options?: EnqueueOptions | undefined;
  };
}[keyof TJobs & string];
