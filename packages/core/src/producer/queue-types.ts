import type { inferJobInput, JobMap } from '../contract/define.ts';
import type { ConnectionOptions } from '../redis/connection.ts';
import type { Durability, EnqueueOptions } from '../types.ts';
import type { CancelOutcome } from '../redis/transitions/operator.ts';

/** Options of `createQueue`. @public */
export interface QueueOptions extends ConnectionOptions {
  /** Largest payload as UTF-8 JSON. @defaultValue 524288 (512 KiB) */
  maxPayloadBytes?: number;
  /** Jobs stored per round trip by `enqueueBulk`. @defaultValue 1000 */
  bulkChunkSize?: number;
  /** Approximate cap of each queue's event stream. @defaultValue 10000 */
  maxEvents?: number;
  /**
   * Opt-in persistence wait for every enqueue: after the enqueue script,
   * in the same pipeline, `WAITAOF` (with `aof: true`, Redis 7.2+) or
   * `WAIT <replicas>`. When it cannot be confirmed, the call rejects with
   * a `DurabilityError` (`DURABILITY_UNAVAILABLE` or `DURABILITY_TIMEOUT`)
   * although the jobs were stored. Overridable per enqueue.
   * @defaultValue undefined (no wait: acknowledged once Redis applied the write)
   */
  durability?: Durability;
}

/** What `enqueue` returns. @public */
export interface JobHandle<TResult> {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** True when a job with this `jobId` already existed; nothing was written. */
  readonly duplicate: boolean;
  /**
   * Resolves with the job's typed result, or rejects with its final failure.
   * Backed by Redis, so it works from any process and after restarts.
   */
  finished(options?: { timeoutMs?: number }): Promise<TResult>;
  /**
   * Cancels the job, as `queue.cancel(id)` does: `'cancelled'` when it
   * was waiting or delayed, `'requested'` when it is active (its handler's
   * signal aborts at the next lease renewal, then it ends as cancelled).
   */
  cancel(options?: { reason?: string }): Promise<CancelOutcome>;
}

/** One item of `enqueueBulk`. @public */
export type BulkItem<TJobs extends JobMap> = {
  [TName in keyof TJobs & string]: {
    name: TName;
    payload: inferJobInput<TJobs, TName>;
    options?: EnqueueOptions;
  };
}[keyof TJobs & string];
