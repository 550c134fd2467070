import type { ConnectionOptions } from '../redis/connection.ts';
import type {
  JobMap,
  inferJobOutput,
  inferJobProgress,
  inferJobResultInput,
} from '../contract/define.ts';
import type { SerializedError } from '../errors.ts';
import type { Job } from './job.ts';

/** A handler for job type `TName`. @public */
export type Handler<TJobs extends JobMap, TName extends keyof TJobs> = (
  job: Job<inferJobOutput<TJobs, TName>, inferJobProgress<TJobs, TName>>,
) =>
  | Promise<inferJobResultInput<TJobs, TName>>
  | inferJobResultInput<TJobs, TName>;

/** Handlers by job type; a worker serves the types it has handlers for. @public */
export type HandlerMap<TJobs extends JobMap> = {
  [TName in keyof TJobs & string]?: Handler<TJobs, TName>;
};

/** Options of `createWorker`. @public */
export interface WorkerOptions extends ConnectionOptions {
  /** Jobs run at once over all types. @defaultValue 1 */
  concurrency?: number | undefined;
  /** Per-type caps under `concurrency`, e.g. `{ renderPdf: 2 }`. */
  typeConcurrency?: Record<string, number> | undefined;
  /**
   * Most jobs leased ahead of free slots while handlers are short (moving
   * average under 10 ms), so the next job is at hand when one finishes.
   * The buffer is sized to about 4 ms of recent handler time per slot
   * (at least one job).
   * They hold real leases, and go back to waiting on close and pause, or
   * after waiting 1 s for a slot. 0 turns prefetching off.
   * @defaultValue the larger of concurrency and 128
   */
  prefetch?: number | undefined;
  /** Lease length; renewed every third of it. @defaultValue 30000 */
  leaseMs?: number | undefined;
  /** Interval of the stalled-job check. @defaultValue 5000 */
  stallCheckIntervalMs?: number | undefined;
  /** Stalls allowed before a job fails with STALL_LIMIT. @defaultValue 1 */
  maxStalls?: number | undefined;
  /** Longest single blocking wait. @defaultValue 5000 */
  blockTimeoutMs?: number | undefined;
  /**
   * How long a job of a contract version newer than this worker knows waits
   * in delayed after the worker hands it back unrun (the `deferred` event),
   * so that a worker that knows the version takes it. A worker never leases
   * such a job from its version's lane; only jobs that producers from
   * before version lanes stored in lane 1 reach it. Long enough that an
   * old worker does not spin on them; short enough that a newer worker
   * finds them soon.
   * @defaultValue 5000
   */
  newerVersionDelayMs?: number | undefined;
  /** Approximate cap of each queue's event stream. @defaultValue 10000 */
  maxEvents?: number | undefined;
  /** Log lines kept per job. @defaultValue 1000 */
  maxLogLines?: number | undefined;
  /**
   * Largest result a handler may return, as UTF-8 JSON bytes: a larger one
   * fails its job with PAYLOAD_TOO_LARGE, without retry. A result is kept
   * in the job and in its `completed` event. The same bound holds for each
   * `job.progress()` value (as JSON) and `job.log()` line: a larger one is
   * refused (the call rejects with PAYLOAD_TOO_LARGE, nothing is written).
   * @defaultValue 524288 (512 KiB)
   */
  maxResultBytes?: number | undefined;
  /** Start consuming at once. @defaultValue true */
  autorun?: boolean | undefined;
  /**
   * While the worker runs, report promise rejections nobody handled (a
   * handler that started a promise and forgot it) through the `error`
   * event instead of letting Node end the process, which would turn every
   * job in flight into a stall. Set false to keep Node's default.
   * @defaultValue true
   */
  catchUnhandledRejections?: boolean | undefined;
}

/** Events a worker emits, for logs and metrics. @public */
export interface WorkerEvents {
  /** A handler finished and its result was stored. */
  completed: [
    info: { id: string; name: string; queue: string; result: unknown },
  ];
  /** An attempt failed; `willRetry` tells whether another attempt follows. */
  failed: [
    info: {
      id: string;
      name: string;
      queue: string;
      error: SerializedError;
      willRetry: boolean;
    },
  ];
  /** A write for a job was refused because this worker lost its lease. */
  leaseLost: [
    info: { id: string; name: string; queue: string; during: string },
  ];
  /**
   * A job was handed back unrun: a newer contract version wrote it than
   * this worker knows (`version` > `knownVersion`). It waits in delayed for
   * `newerVersionDelayMs`, then in its version's lane for a worker that
   * knows it; nothing about its attempts changed. Only jobs that producers
   * from before version lanes stored in lane 1 reach an older worker: a
   * worker never reads the lanes of versions it does not know.
   */
  deferred: [
    info: {
      id: string;
      name: string;
      queue: string;
      version: number;
      knownVersion: number;
      reason: 'newer-version';
    },
  ];
  /**
   * A job whose cancel was requested ended as cancelled when its run
   * settled (its handler saw its signal abort with a CancelledError).
   */
  cancelled: [info: { id: string; name: string; queue: string }];
  /**
   * Stalled jobs were recovered by this worker's check; `cancelled` counts
   * those whose cancel was requested, which end as cancelled instead.
   */
  stalled: [
    info: {
      queue: string;
      requeued: number;
      failed: number;
      cancelled: number;
    },
  ];
  /**
   * An internal error (Redis down, a listener threw); the worker carries
   * on. Except `REDIS_CONFIG` with `strictRedisConfig`: the worker refused
   * to start and leases nothing (see `Worker#ready`).
   */
  error: [error: Error];
}

/** What `health()` reports. @public */
export interface WorkerHealth {
  /**
   * True when the worker runs and every queue is reachable: both its
   * connections are ready, and on a Redis Cluster its slot's master is
   * connected and its last call did not find the cluster down. False
   * for good when the worker refused to start (`refused`).
   */
  ready: boolean;
  running: number;
  paused: boolean;
  closing: boolean;
  /**
   * Set when the worker refused to start and leases nothing: with
   * `strictRedisConfig`, a `maxmemory-policy` other than `noeviction`
   * (code `REDIS_CONFIG`). Fix the cause, then close the worker and start
   * a new one.
   */
  refused?: { code: string; message: string } | undefined;
  /** Per queue: connection states, and whether the queue itself is paused. */
  connections: {
    queue: string;
    command: string;
    blocking: string;
    queuePaused: boolean;
    /**
     * False while the command connection is not `ready` (connecting, or
     * reconnecting after a drop), and while the queue's last call found
     * Redis unavailable (on a Cluster: its slot unserved, or CLUSTERDOWN),
     * until a call succeeds.
     */
    reachable: boolean;
  }[];
}
