import type { JobRegistry } from '../contract/define.ts';
import type { QueueKeys } from '../redis/keys.ts';
import type { RedisClient } from '../redis/scripts/index.ts';
import type { LeasedJob } from '../redis/transitions/lease.ts';
import type { Job } from './job.ts';
import type { WorkerEvents } from './worker-options.ts';

/** A handler as a job run calls it. */
export type AnyHandler = (job: Job<unknown, unknown>) => unknown;

/** What a job run needs from the fetch loop of its job's queue. */
export interface RunQueue {
  readonly keys: QueueKeys;
  /**
   * Writes a completion with the queue's next batch (which frees the job's
   * slot at once); resolves with its code.
   */
  complete(
    job: LeasedJob,
    result: string,
    keep: readonly [number, number],
  ): Promise<number>;
}

/**
 * What a job run needs from its worker: the worker builds one host and
 * every run reads it, so this module never imports the worker.
 */
export interface JobRunHost {
  readonly client: RedisClient;
  readonly registry: JobRegistry;
  readonly handlers: Readonly<Record<string, AnyHandler | undefined>>;
  readonly maxEvents: number;
  readonly maxLogLines: number;
  readonly maxResultBytes: number;
  /** How long a job of a newer version waits in delayed once handed back. */
  readonly newerVersionDelayMs: number;
  /** A queue this worker consumes (its fetch loop). */
  queueOf(queue: string): RunQueue;
  /** Emits a worker event; a throwing listener never reaches the run. */
  emit<TEvent extends keyof WorkerEvents>(
    event: TEvent,
    ...args: WorkerEvents[TEvent]
  ): void;
  reportError(err: unknown, context: string): void;
}

/** A job being handled, as the worker tracks it. */
export interface RunningJob {
  readonly leased: LeasedJob;
  /** Set once the handler's outcome is decided (or the job was handed back). */
  settled: boolean;
  /** False once the lease is lost or the job was released: stop renewing. */
  renewing: boolean;
  /** Resolves when the handler settled and its outcome was written. */
  readonly done: Promise<void>;
  /** Called when a lease renewal found the lease gone. */
  leaseLost(during: string): void;
  /**
   * Called when a lease renewal found the job's cancel requested: aborts
   * the handler's signal with a CancelledError; the outcome written next
   * ends the job as cancelled.
   */
  cancel(reason: string): void;
  /** Aborts the handler and hands the job back to waiting (shutdown). */
  release(reason: Error): Promise<void>;
}
