import type {
  JobMap,
  inferJobInput,
  inferJobProgress,
  inferJobResult,
} from '../contract/define.ts';
import type { ResolvedEnqueueOptions } from '../contract/options.ts';
import type { SerializedError } from '../errors.ts';
import type { HandlerMap } from '../worker/worker-options.ts';

/** Where a captured job is. @public */
export type TestJobState =
  'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

/** A job captured by a `TestQueue`, typed by its job type. @public */
export interface TestJob<
  TJobs extends JobMap,
  TName extends keyof TJobs & string,
> {
  readonly id: string;
  readonly name: TName;
  readonly queue: string;
  /** The stored input, as Redis would hold it (JSON round trip, no transforms). */
  readonly data: inferJobInput<TJobs, TName>;
  /** The enqueue options merged over the job type's defaults. */
  readonly options: Readonly<ResolvedEnqueueOptions>;
  readonly state: TestJobState;
  /** What `finished()` resolves to, once completed. */
  readonly result?: inferJobResult<TJobs, TName> | undefined;
  /** The final failure, once failed. */
  readonly error?: SerializedError | undefined;
  /** The reason given with `cancel`, once cancelled with one. */
  readonly cancelReason?: string | undefined;
  /** Every failed attempt, oldest first (kept after a retry succeeds). */
  readonly errors: readonly SerializedError[];
  /** Attempts run so far; `options.attempts` is the number allowed. */
  readonly attemptsMade: number;
  /** Accepted progress values, in order. */
  readonly progress: readonly inferJobProgress<TJobs, TName>[];
  readonly logs: readonly string[];
}

/** Any captured job of the registry: narrow it by checking `name`. @public */
export type AnyTestJob<TJobs extends JobMap> = {
  [TName in keyof TJobs & string]: TestJob<TJobs, TName>;
}[keyof TJobs & string];

/** Options of `createTestQueue`. @public */
export interface TestQueueOptions<TJobs extends JobMap> {
  /** Handlers that `runAll()` (or `runInline`) calls; jobs without one stay waiting. */
  handlers?: HandlerMap<TJobs> | undefined;
  /** Run each job as soon as it is enqueued; `enqueue` resolves after it ran. */
  runInline?: boolean | undefined;
  /** As for `createQueue`. @defaultValue 524288 (512 KiB) */
  maxPayloadBytes?: number | undefined;
  /** As for `createWorker`. @defaultValue 524288 (512 KiB) */
  maxResultBytes?: number | undefined;
}
