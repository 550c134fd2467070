import {
  getDefinition,
  type JobMap,
  type JobRegistry,
  type inferJobInput,
  type inferJobProgressOutput,
  type inferJobResult,
} from '../contract/define.ts';
import { readJob, type TypedJobInfo } from '../ops/typed-read.ts';
import { watchProgress } from './progress-watch.ts';
import { ErrorCode, JobwireError } from '../errors.ts';
import { countOption } from '../option-checks.ts';
import {
  closeConnection,
  openConnection,
  withRedis,
  type Connection,
} from '../redis/connection.ts';
import {
  makeKeyCache,
  resolveCommon,
  withRedisPastBusy,
  type QueueContext,
} from '../redis/queue-context.ts';
import { removeRepeat } from '../redis/transitions/repeat.ts';
import type { RepeatSpec } from '../contract/options.ts';
import { QueueAdmin, type CancelOptions } from '../ops/admin.ts';
import type { MigrateOptions, MigrateReport } from '../ops/migrate-report.ts';
import {
  migrateLayouts,
  readLayouts,
  type LayoutMigrateOptions,
  type LayoutMigrateReport,
  type QueueLayout,
} from '../ops/layout-migrate.ts';
import type { CancelOutcome } from '../redis/transitions/operator.ts';
import {
  QueueInspector,
  type GetJobOptions,
  type JobInfo,
  type JobListOptions,
  type QueueCounts,
} from '../ops/inspect.ts';
import {
  READER_WINDOW_MS,
  readWaitingByVersion,
  type WaitingByVersion,
  type WaitingByVersionOptions,
} from '../ops/lanes.ts';
import {
  readFlowStats,
  type FlowStats,
  type FlowStatsOptions,
} from '../ops/flow-stats.ts';
import type { EnqueueOptions, JobState } from '../types.ts';
import { resolveDurability } from './durability.ts';
import type { BulkItem, JobHandle, QueueOptions } from './queue-types.ts';
import { JobStore, type StoredJob } from './job-store.ts';
import { newJobId } from './job-id.ts';
import { listRepeats, repeatSpec, scheduleRepeat } from './repeat-schedules.ts';
import { ResultReader } from './result-reader.ts';
import { checkBulkItem, checkJob } from './prepare.ts';
import { bulkResult, storeBulk } from './bulk.ts';
import { enqueueSettings, type PreparedJob } from './prepared-job.ts';
import type { EnqueueJob } from '../redis/transitions/enqueue.ts';
import { checkRepeat, checkRepeatKey, type RepeatOptions } from './repeat.ts';
import { throttledHandle } from './throttled-handle.ts';

/** `T` with its fields writable, to build it in steps. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The enqueue surface shared by `Queue` and the in-memory `TestQueue`, so
 * code that only produces jobs can be unit-tested without Redis.
 * @public
 */
export type Producer<TJobs extends JobMap> = Pick<
  Queue<TJobs>,
  'enqueue' | 'enqueueBulk'
>;

/**
 * The producer: validates and enqueues jobs, and offers the maintenance API.
 * @public
 */
export class Queue<TJobs extends JobMap> {
  private readonly ctx: QueueContext;
  private readonly conn: Connection;
  private readonly maxPayloadBytes: number;
  private readonly bulkChunkSize: number;
  private readonly jobStore: JobStore;
  private readonly inspector: QueueInspector;
  private readonly admin: QueueAdmin;
  private readonly results: ResultReader;
  private closed = false;

  constructor(
    readonly registry: JobRegistry<TJobs>,
    private readonly options: QueueOptions = {},
  ) {
    // Checked before a connection is opened, so a bad setting leaks nothing.
    resolveDurability(options, undefined);
    const common = resolveCommon(options);
    const maxEvents = countOption(options, 'maxEvents', 1);
    this.maxPayloadBytes = countOption(options, 'maxPayloadBytes', 1);
    this.bulkChunkSize = countOption(options, 'bulkChunkSize', 1);
    this.conn = openConnection(options, 'command', common.logger);
    this.ctx = {
      registry,
      client: this.conn.client,
      prefix: common.prefix,
      connectTimeoutMs: common.connectTimeoutMs,
      commandTimeoutMs: common.commandTimeoutMs,
      maxEvents,
      logger: common.logger,
      keys: makeKeyCache(common.prefix),
    };
    this.jobStore = new JobStore(this.ctx, options.strictRedisConfig ?? false);
    this.inspector = new QueueInspector(this.ctx);
    this.admin = new QueueAdmin(this.ctx, this.inspector);
    this.results = new ResultReader(this.ctx, options);
  }

  /**
   * Validates `payload` against the job type's schema and stores the job.
   * Throws ValidationError (nothing written) when the payload or options are
   * invalid, RedisUnavailableError when Redis cannot be reached in time.
   */
  async enqueue<TName extends keyof TJobs & string>(
    name: TName,
    payload: inferJobInput<TJobs, TName>,
    options?: EnqueueOptions,
  ): Promise<JobHandle<inferJobResult<TJobs, TName>>> {
    const job = this.prepare(name, payload, options);
    // A durability wait confirms the jobs of its own call only.
    const handle =
      job.durability === undefined
        ? this.handle(await this.jobStore.storeBatched(job))
        : (await this.store(job.queue, [job]))[0];
    return handle as JobHandle<inferJobResult<TJobs, TName>>;
  }

  /**
   * Validates every item first (one invalid item rejects the whole call
   * before anything is written), then stores them per queue, each chunk of
   * `bulkChunkSize` jobs of one queue atomically in one round trip. If
   * some items are stored and others are not (a queue's Redis Cluster node
   * is down), rejects with BulkEnqueueError, whose `outcomes` say per item
   * what was stored; if none is, with the error itself.
   */
  async enqueueBulk(
    items: readonly BulkItem<TJobs>[],
  ): Promise<JobHandle<unknown>[]> {
    const prepared = items.map((item, i) =>
      checkBulkItem(i, item.name, () =>
        this.prepare(item.name, item.payload, item.options),
      ),
    );
    const outcomes = await storeBulk<JobHandle<unknown>>(
      prepared,
      this.bulkChunkSize,
      async (queue, jobs) =>
        (await this.jobStore.storeOutcomes(queue, jobs)).map((o) =>
          o instanceof Error ? o : this.handle(o),
        ),
    );
    return bulkResult(outcomes);
  }

  /** @internal Checks a job and builds its script input; touches no I/O. */
  prepare(
    name: string,
    payload: unknown,
    options: EnqueueOptions | undefined,
  ): PreparedJob {
    this.assertOpen();
    const {
      def,
      data,
      options: o,
      flowKeys,
    } = checkJob(
      this.registry,
      name,
      payload,
      options,
      this.maxPayloadBytes,
      Date.now(),
    );
    const durability = resolveDurability(this.options, options?.durability);
    // Ids come from the producer, not a Redis counter: unique across
    // queues, and never reissued by a Redis that lost its data.
    const input: Mutable<EnqueueJob> = {
      id: o.jobId ?? newJobId(),
      generated: o.jobId === undefined,
      name,
      dataJson: data,
      priority: o.priority,
      delayMs: Math.round(o.delayMs),
      settings: enqueueSettings(o, def),
    };
    // The script converts runAt with Redis time, like every due time.
    if (o.runAtMs !== undefined) input.runAtMs = o.runAtMs;
    if (flowKeys.group !== undefined) input.groupKey = flowKeys.group;
    if (flowKeys.debounce !== undefined) input.debounceKey = flowKeys.debounce;
    if (flowKeys.throttle !== undefined) input.throttleKey = flowKeys.throttle;
    const job: PreparedJob = { queue: def.queue, name, input };
    if (durability !== undefined) job.durability = durability;
    return job;
  }

  /** @internal Runs the enqueue script for jobs of one queue. */
  async store(
    queue: string,
    jobs: readonly PreparedJob[],
  ): Promise<JobHandle<unknown>[]> {
    const stored = await this.jobStore.store(queue, jobs);
    return stored.map((s) => this.handle(s));
  }

  /** What a handle's methods call on this queue; one object per queue. */
  private readonly handleHost = {
    awaitResult: (
      name: string,
      id: string,
      opts: { timeoutMs?: number | undefined } | undefined,
      sentAt: number | undefined,
    ) => this.awaitResult(name as keyof TJobs & string, id, opts, sentAt),
    cancel: (id: string, opts: CancelOptions) => this.cancel(id, opts),
  };

  private handle(stored: StoredJob): JobHandle<unknown> {
    const { queue, name, id, sentAt, outcome, replaced } = stored;
    // A throttled job was never stored: nothing to wait for or cancel.
    if (outcome === 'throttled') return throttledHandle(queue, name, id);
    // Methods closing over `host`, not `this`: they work detached, and
    // (unlike arrow properties) cost no naming call per handle under
    // esbuild's keepNames, which tsx applies.
    const host = this.handleHost;
    return {
      id,
      name,
      queue,
      outcome,
      duplicate: outcome === 'duplicate',
      ...(replaced !== undefined ? { replaced } : {}),
      finished(opts) {
        return host.awaitResult(name, id, opts, sentAt);
      },
      cancel(opts) {
        return host.cancel(id, { ...opts, queue });
      },
    };
  }

  /**
   * Waits for a job to finish and returns its result, parsed with the job
   * type's result schema. Works for jobs enqueued by any process.
   */
  async waitForResult<TName extends keyof TJobs & string>(
    name: TName,
    id: string,
    options?: { timeoutMs?: number | undefined },
  ): Promise<inferJobResult<TJobs, TName>> {
    return this.awaitResult(name, id, options, undefined);
  }

  private async awaitResult<TName extends keyof TJobs & string>(
    name: TName,
    id: string,
    options: { timeoutMs?: number | undefined } | undefined,
    enqueuedAt: number | undefined,
  ): Promise<inferJobResult<TJobs, TName>> {
    this.assertOpen();
    const def = getDefinition(this.registry, name);
    const result = await this.results.read(
      def,
      name,
      id,
      options?.timeoutMs,
      enqueuedAt,
    );
    return result as inferJobResult<TJobs, TName>;
  }

  /**
   * Declares a repeatable job: a cron expression (with optional time zone)
   * or a fixed interval. Occurrences get deterministic ids per slot, so any
   * number of processes calling this, or running workers, never schedule
   * duplicates. Calling it again with the same key replaces the schedule.
   */
  async repeat<TName extends keyof TJobs & string>(
    name: TName,
    payload: inferJobInput<TJobs, TName>,
    repeat: RepeatOptions,
    options?: Omit<EnqueueOptions, 'jobId' | 'delayMs' | 'runAt'>,
  ): Promise<JobHandle<inferJobResult<TJobs, TName>>> {
    checkRepeat(repeat, options);
    // Validates payload and options before anything is written.
    const job = this.prepare(name, payload, options);
    const spec = repeatSpec(name, job.input.dataJson, repeat, options);
    await this.jobStore.checkConfigOnce();
    await this.jobStore.layout.ensure(this.ctx.keys(job.queue));
    const { id, kept } = await scheduleRepeat(this.ctx, job, spec);
    return this.handle({
      queue: job.queue,
      name,
      id,
      sentAt: performance.now(),
      // The same spec again keeps the occurrence it made: no new job.
      outcome: kept ? 'duplicate' : 'created',
    }) as JobHandle<inferJobResult<TJobs, TName>>;
  }

  /**
   * Stops a repeat and removes its pending occurrence. Resolves false when
   * the type has no schedule under `key`.
   */
  async removeRepeat(
    name: keyof TJobs & string,
    key: string,
  ): Promise<boolean> {
    checkRepeatKey(key);
    const k = this.ctx.keys(getDefinition(this.registry, name).queue);
    return withRedisPastBusy(this.ctx, () =>
      removeRepeat(this.ctx.client, k, this.ctx.maxEvents, key, name),
    );
  }

  /** Lists the repeats declared in the queues of this registry. */
  getRepeats(): Promise<RepeatSpec[]> {
    return listRepeats(this.ctx);
  }

  private assertOpen(): void {
    if (this.closed)
      throw new JobwireError(ErrorCode.CLOSED, 'queue is closed');
  }

  // ----- the maintenance API (ops/inspect.ts and ops/admin.ts) -----

  /** Counts jobs per state, overall and per job type. */
  getCounts(
    options: { queue?: string | undefined } = {},
  ): Promise<QueueCounts> {
    return this.inspector.getCounts(options);
  }

  /**
   * Reads one job; without `queue`, finds it among the registry's queues.
   * With `name` (checked), progress and result are parsed and typed.
   */
  getJob<TName extends keyof TJobs & string = never>(
    id: string,
    options: GetJobOptions & { name?: TName | undefined } = {},
  ): Promise<
    ([TName] extends [never] ? JobInfo : TypedJobInfo<TJobs, TName>) | undefined
  > {
    return readJob(this.inspector, this.registry, id, options) as never;
  }

  /** Reports job `id`'s typed progress values, then settles as `finished()`. */
  watchProgress<TName extends keyof TJobs & string>(
    name: TName,
    id: string,
    onProgress: (progress: inferJobProgressOutput<TJobs, TName>) => void,
    options?: { timeoutMs?: number | undefined },
  ): Promise<inferJobResult<TJobs, TName>> {
    const done = this.awaitResult(name, id, options, undefined);
    return watchProgress(this.ctx, this.options, name, id, onProgress, done);
  }

  /**
   * Lists jobs in one state, oldest first, with paging. Waiting jobs come in
   * the order workers will take them. `name` filters by job type.
   *
   * With `upcast: true`, each job's `data` is what a handler of this
   * registry would get: an older version's payload checked by its `from`
   * schema, run through the upcasters and parsed by the current schema
   * (`dataVersion` says which version `data` is in; `version` stays the
   * stored one). A job that cannot be upcast is listed anyway, with its
   * stored payload and `upcastError`; one bad job never fails the page.
   */
  getJobs(state: JobState, options: JobListOptions = {}): Promise<JobInfo[]> {
    return this.inspector.getJobs(state, options);
  }

  /**
   * Per job type, how many jobs wait at each contract version (lane), and
   * for a version that no live worker reads, why: e.g. `{ version: 3,
   * waiting: 12, reason: 'no-reader', newestReader: 2 }`. Jobs of a version
   * wait until a worker that knows it runs.
   */
  async getWaitingByVersion(
    options: WaitingByVersionOptions = {},
  ): Promise<WaitingByVersion> {
    const out = Object.create(null) as WaitingByVersion;
    const windowMs = options.readerWindowMs ?? READER_WINDOW_MS;
    for (const queue of this.inspector.queuesOf(options.queue)) {
      await withRedis(this.ctx.client, this.ctx.connectTimeoutMs, () =>
        readWaitingByVersion(
          this.ctx.client,
          this.ctx.keys(queue),
          windowMs,
          out,
        ),
      );
    }
    return out;
  }

  /**
   * Flow control now, per job type with flow rules (as its workers
   * recorded them) or with throttled/debounced jobs: the rules, how full
   * the type-wide rate window is, the throttle and debounce counters, and
   * the keys with the most waiting jobs, each with its active jobs and what
   * it waits on (`concurrency`, `rate` with `freesInMs`, or `turn`). A few
   * pipelined reads per queue; at most 1000 keys of a type are read, so
   * with more `keyCounts.exact` is false. See docs/flow-control.md.
   */
  async getFlowStats(options: FlowStatsOptions = {}): Promise<FlowStats> {
    const out = Object.create(null) as FlowStats;
    const { type } = options;
    // A registry type lives in one queue: read only that one.
    const queues =
      type !== undefined &&
      options.queue === undefined &&
      Object.hasOwn(this.registry.jobs, type)
        ? [this.registry.jobs[type]!.queue]
        : this.inspector.queuesOf(options.queue);
    for (const queue of queues) {
      await withRedis(this.ctx.client, this.ctx.connectTimeoutMs, () =>
        readFlowStats(this.ctx.client, this.ctx.keys(queue), out, {
          ...(type !== undefined ? { type } : {}),
          ...(options.keys !== undefined ? { keys: options.keys } : {}),
        }),
      );
    }
    return out;
  }

  /** Sends a failed or expired job back to waiting with fresh attempts. */
  retry(
    id: string,
    options: { queue?: string | undefined } = {},
  ): Promise<void> {
    return this.admin.retry(id, options);
  }

  /**
   * Cancels a job: a waiting or delayed one ends as cancelled at once and
   * this resolves `'cancelled'`; an active one resolves `'requested'`: its
   * handler's `signal` aborts with a CancelledError within one lease
   * renewal interval (a third of the worker's `leaseMs`), and the job then
   * ends as cancelled, whatever the handler does. A cancelled job is never
   * retried; `finished()` rejects with a CancelledError. A finished job is
   * refused with JOB_NOT_IN_STATE.
   */
  cancel(id: string, options: CancelOptions = {}): Promise<CancelOutcome> {
    return this.admin.cancel(id, options);
  }

  /** Makes a delayed job runnable now. */
  promote(
    id: string,
    options: { queue?: string | undefined } = {},
  ): Promise<void> {
    return this.admin.promote(id, options);
  }

  /** Removes a job that is not active, with its logs. */
  remove(
    id: string,
    options: { queue?: string | undefined } = {},
  ): Promise<void> {
    return this.admin.remove(id, options);
  }

  /**
   * Removes up to `limit` completed, failed, expired or cancelled jobs
   * that finished more than `olderThanMs` ago. Returns their ids.
   */
  clean(
    state: 'completed' | 'failed' | 'expired' | 'cancelled',
    olderThanMs: number,
    limit = 1000,
    options: { queue?: string | undefined } = {},
  ): Promise<string[]> {
    return this.admin.clean(state, olderThanMs, limit, options);
  }

  /** Removes every waiting job (and delayed ones with `delayed: true`). */
  drain(
    options: { queue?: string | undefined; delayed?: boolean | undefined } = {},
  ): Promise<number> {
    return this.admin.drain(options);
  }

  /**
   * Rewrites the queued (waiting and delayed) jobs of type `name` that older
   * contract versions stored into its current version, in place, in atomic
   * batches: each payload is upcast and validated as a worker would, then
   * written with the current version, and a waiting job moves to the
   * current version's lane keeping its place. Active jobs are never
   * touched; a job that changes between read and write is skipped; a job
   * whose upcast fails is reported and left as it was. With `dryRun`,
   * nothing is written and the report holds a sample. Returns the counts
   * per version before and after, and what was migrated, skipped and failed.
   */
  migrate(
    name: keyof TJobs & string,
    options: MigrateOptions = {},
  ): Promise<MigrateReport> {
    return this.admin.migrate(name, options, this.maxPayloadBytes);
  }

  /**
   * The storage layout each queue records (all queues if omitted), and the
   * newest this build supports: a producer or worker refuses a queue whose
   * layout is newer (LAYOUT_UNSUPPORTED).
   */
  getLayout(
    options: { queue?: string | undefined } = {},
  ): Promise<QueueLayout[]> {
    return readLayouts(this.ctx, this.inspector.queuesOf(options.queue));
  }

  /**
   * Rewrites every job a layout 1 build stored (payload in the job hash,
   * logs at `j:<id>:log`) into the current layout, in atomic, idempotent
   * batches, and records the layout. Nothing is lost if it stops midway:
   * run it again. Refuses (LAYOUT_UNSUPPORTED, writing nothing) a queue a
   * newer jobwire wrote. See docs/maintenance.md.
   */
  migrateLayout(
    options: LayoutMigrateOptions = {},
  ): Promise<LayoutMigrateReport[]> {
    this.assertOpen();
    return migrateLayouts(
      this.ctx,
      this.inspector.queuesOf(options.queue),
      options,
    );
  }

  /** Stops every worker from taking jobs of the queue (all queues if omitted). */
  pause(options: { queue?: string | undefined } = {}): Promise<void> {
    return this.admin.pause(options);
  }

  /** Lets workers take jobs again. */
  resume(options: { queue?: string | undefined } = {}): Promise<void> {
    return this.admin.resume(options);
  }

  /** Whether a queue is paused. */
  isPaused(queue: string): Promise<boolean> {
    return this.admin.isPaused(queue);
  }

  /** Closes the queue's connections. Pending `finished()` calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Enqueues accepted before close() are still written.
    await this.jobStore.flush();
    await this.results.close();
    await closeConnection(this.conn);
  }
}

/**
 * Creates a producer for the job types of `registry`.
 * @public
 */
export function createQueue<TJobs extends JobMap>(
  registry: JobRegistry<TJobs>,
  options?: QueueOptions,
): Queue<TJobs> {
  return new Queue(registry, options);
}
