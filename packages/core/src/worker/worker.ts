import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { defaults } from '../defaults.ts';
import {
  closeConnection,
  dropConnection,
  mapRedisError,
  openConnection,
  settlesWithin,
  type Connection,
  type Logger,
} from '../redis/connection.ts';
import {
  QueueConsumer,
  type ConsumerHost,
  type Reservation,
} from './queue-consumer.ts';
import { ageRulesOf, type LeasedJob } from '../redis/transitions/lease.ts';
import type { JobMap, JobRegistry } from '../contract/define.ts';
import { ErrorCode, JobwireError, ShutdownError } from '../errors.ts';
import { startJobRun } from './job-run.ts';
import type { AnyHandler, JobRunHost, RunningJob } from './job-run-host.ts';
import { makeKeyCache, resolveCommon } from '../redis/queue-context.ts';
import { workerHealth } from './health.ts';
import { CallWatch } from './call-watch.ts';
import { Wakeup } from './wakeup.ts';
import { LeaseUpkeep, runningKey } from './lease-upkeep.ts';
import { MAX_PARKED_MS, type SlotBook } from './slot-book.ts';
import {
  flowRulesOf,
  knownVersions,
  slotBookFor,
  typesByQueue,
} from './worker-settings.ts';
import { countOption, timeOption } from '../option-checks.ts';
import { trackRunning } from './stray-rejections.ts';
import { trackForTests } from '../testing/track-open.ts';
import { Queue } from '../producer/queue.ts';
import { repairQueues, templateOf } from './repeat-repair.ts';
import { READER_WINDOW_MS } from '../ops/lanes.ts';
import { checkAtStart } from './startup.ts';
import type {
  HandlerMap,
  WorkerEvents,
  WorkerHealth,
  WorkerOptions,
} from './worker-options.ts';

/**
 * A consumer process for one or more job types, possibly across queues.
 * @public
 */
export class Worker<TJobs extends JobMap> implements ConsumerHost {
  readonly workerId = randomUUID().slice(0, 12);
  readonly leaseMs: number;
  readonly blockTimeoutMs: number;
  readonly maxEvents: number;
  readonly soleConsumer: boolean;
  private readonly newerVersionDelayMs: number;
  private readonly maxStalls: number;
  private readonly stallCheckIntervalMs: number;
  private readonly maxLogLines: number;
  private readonly maxResultBytes: number;
  private readonly emitter = new EventEmitter();
  private readonly logger: Logger;
  private readonly command: Connection;
  private readonly consumers: QueueConsumer[] = [];
  private readonly concurrency: number;
  private readonly slots: SlotBook;
  private readonly jobs = new Map<string, RunningJob>();
  private readonly capacity = new Wakeup();
  private readonly producer: Queue<TJobs>;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Apart from `timers`: close() keeps renewing until the last job settled. */
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly upkeep: LeaseUpkeep;
  /** Whether Redis answers the renewals and completions (health). */
  private readonly calls: CallWatch;
  /** What every job run reads from this worker, built once. */
  private readonly runHost: JobRunHost;
  private stopping = false;
  private paused = false;
  private closed: Promise<void> | undefined;
  private readonly options: WorkerOptions;
  /** Set by run(): it starts the worker once. */
  private started = false;
  /** Aborted by close(): ends the start-up waits, and their timers, at once. */
  private readonly closing = new AbortController();
  /** Why the worker refused to start (strictRedisConfig); it leases nothing. */
  private refusal: JobwireError | undefined;
  /** Strict, until the start-up check passed: not ready, leasing nothing. */
  private checking = false;
  private settleReady: (err?: Error) => void = () => {};

  /**
   * Settles once the worker has started, that is connected and checked
   * the eviction policy (see `strictRedisConfig`); with `autorun: false`,
   * after `run()`. Rejects with `REDIS_CONFIG` when `strictRedisConfig`
   * made the worker refuse to start (it then leases nothing: close it).
   * Never settles when the worker is closed first: a rejection then would
   * be unhandled in every `ready.then(…)` chain, during a shutdown.
   * Awaiting it is optional: its own rejection, unhandled, does not end
   * the process (a promise chained on it needs a `catch`).
   */
  readonly ready: Promise<void>;

  constructor(
    readonly registry: JobRegistry<TJobs>,
    readonly handlers: HandlerMap<TJobs>,
    options: WorkerOptions = {},
  ) {
    this.options = options;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    this.ready.catch(() => {});
    const common = resolveCommon(options);
    this.logger = common.logger;
    this.leaseMs = timeOption(options, 'leaseMs');
    this.blockTimeoutMs = timeOption(options, 'blockTimeoutMs');
    this.maxEvents = countOption(options, 'maxEvents', 1);
    this.newerVersionDelayMs = timeOption(options, 'newerVersionDelayMs');
    this.concurrency = countOption(options, 'concurrency', 1);
    this.maxStalls = countOption(options, 'maxStalls', 0);
    this.stallCheckIntervalMs = timeOption(options, 'stallCheckIntervalMs');
    this.maxLogLines = countOption(options, 'maxLogLines', 1);
    this.maxResultBytes = countOption(options, 'maxResultBytes', 1);
    const names = Object.keys(handlers).filter(
      (n) => handlers[n] !== undefined,
    );
    if (names.length === 0) {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        'createWorker(): give at least one handler',
      );
    }
    this.slots = slotBookFor(registry, options, this.concurrency);
    // Every check that can refuse runs before a connection is opened: a
    // refused worker must not leave a socket keeping the process alive.
    const keys = makeKeyCache(common.prefix);
    const byQueue = typesByQueue(registry, handlers, names);
    this.soleConsumer = byQueue.size === 1;
    this.command = openConnection(options, 'command', this.logger);
    this.producer = new Queue(registry, {
      ...options,
      connection: this.command.client,
    });
    const ageRules = new Map<string, string>();
    for (const [queue, types] of byQueue) {
      ageRules.set(
        queue,
        ageRulesOf(
          types.map((name) => ({ name, ...registry.jobs[name]!.options })),
        ),
      );
      const blocking = openConnection(options, 'blocking', this.logger);
      this.consumers.push(
        new QueueConsumer(
          this,
          this.command,
          blocking,
          keys(queue),
          types,
          knownVersions(registry, types),
          flowRulesOf(registry, types),
        ),
      );
    }
    this.calls = new CallWatch(common.commandTimeoutMs);
    this.upkeep = new LeaseUpkeep({
      client: this.command.client,
      consumers: this.consumers,
      jobs: this.jobs,
      slots: this.slots,
      leaseMs: this.leaseMs,
      maxEvents: this.maxEvents,
      maxStalls: this.maxStalls,
      ageRules,
      reportError: (err, context) => {
        const mapped = mapRedisError(err);
        if (
          mapped instanceof JobwireError &&
          mapped.code === ErrorCode.REDIS_UNAVAILABLE
        )
          this.calls.failed();
        this.reportError(err, context);
      },
      stalled: (info) => this.safeEmit('stalled', info),
    });
    this.runHost = this.makeRunHost();
    trackForTests(
      'worker',
      `worker(${[...byQueue.keys()].join(',')})`,
      () => this.closed === undefined,
    );
    if (options.autorun !== false) this.run();
  }

  /**
   * Starts the worker (done by the constructor unless `autorun: false`).
   * With `strictRedisConfig`, it leases only once the eviction policy was
   * read and is `noeviction`; see `ready`.
   */
  run(): void {
    if (this.stopping)
      throw new JobwireError(ErrorCode.CLOSED, 'worker is closed');
    if (this.started) return;
    this.started = true;
    if (this.options.catchUnhandledRejections !== false)
      trackRunning(this.strayRejections, true);
    const strict = this.options.strictRedisConfig ?? false;
    // Not strict, the check only warns: the worker need not wait for it.
    if (!strict) this.startConsuming();
    else this.checking = true;
    checkAtStart(this.command.client, {
      strict,
      logger: this.logger,
      signal: this.closing.signal,
      reportError: (err, context) => this.reportError(err, context),
    }).then(
      (outcome) => {
        // Closed first: `ready` stays pending (see its comment).
        if (outcome === 'aborted' || this.stopping) return;
        this.checking = false;
        if (strict) this.startConsuming();
        this.settleReady();
        void this.firstChecks();
      },
      (err: unknown) => this.refuse(err, strict),
    );
  }

  /** Timers and lease loops: run() starts them once the worker may lease. */
  private startConsuming(): void {
    const renewEvery = Math.max(50, Math.floor(this.leaseMs / 3));
    this.renewTimer = setInterval(() => this.renewLeases(), renewEvery);
    this.timers.push(
      setInterval(
        () => void this.upkeep.handBack(this.slots.unparkStale()),
        MAX_PARKED_MS / 4,
      ),
    );
    // Leasing calls say which versions this worker reads; a busy or paused
    // worker makes none, so a note says it well within the stats' window.
    const noteEvery = Math.min(this.blockTimeoutMs, READER_WINDOW_MS / 4);
    this.timers.push(
      setInterval(() => {
        for (const c of this.consumers) void c.noteReaders();
      }, noteEvery),
    );
    this.timers.push(
      setInterval(() => void this.periodicCheck(), this.stallCheckIntervalMs),
    );
    for (const c of this.consumers) c.start();
  }

  /** Renews the leases held; health() watches the call. */
  private renewLeases(): void {
    const renewal = this.upkeep.renew();
    // Not a call when nothing is held, or the client is not ready (it
    // returns at once; health() reads the client's status then).
    if (this.holdsLeases() && this.command.client.status === 'ready')
      this.calls.renewal(renewal);
  }

  /** Whether this worker holds leases: running or prefetched jobs. */
  private holdsLeases(): boolean {
    return this.jobs.size > 0 || this.slots.buffer.length > 0;
  }

  /** The stalled-job check and the repeat repair, at each interval. */
  private async periodicCheck(): Promise<void> {
    await this.upkeep.recoverStalled(this.stallCheckIntervalMs);
    await this.repairRepeats();
  }

  /** Once connected: the flow rules published, and a first check at once. */
  private async firstChecks(): Promise<void> {
    try {
      for (const c of this.consumers) await c.publishFlow();
      if (!this.stopping) await this.periodicCheck();
    } catch {
      // The next interval's check tries again.
    }
  }

  /**
   * The start-up check failed for good (REDIS_CONFIG, or a caller's client
   * that ended): reported once, `ready` rejects, and when strict the worker
   * stays without leasing; health() reports it.
   */
  private refuse(err: unknown, strict: boolean): void {
    if (this.stopping) return;
    const error =
      err instanceof JobwireError
        ? err
        : new JobwireError(
            ErrorCode.REDIS_UNAVAILABLE,
            err instanceof Error ? err.message : String(err),
            { cause: err },
          );
    if (strict) this.refusal = error;
    this.reportError(
      error,
      strict
        ? 'refusing to start (strictRedisConfig)'
        : 'checking the eviction policy at start',
    );
    this.settleReady(error);
  }

  // ----- ConsumerHost -----

  isStopping(): boolean {
    return this.stopping;
  }

  /** @internal Aborted when close() begins (ConsumerHost). */
  get stopSignal(): AbortSignal {
    return this.closing.signal;
  }

  isPaused(): boolean {
    return this.paused;
  }

  reserve(
    types: readonly string[],
    forWait?: boolean,
    portion?: number,
    share?: number,
  ): Reservation {
    return this.slots.reserve(types, forWait, portion, share);
  }

  unreserve(reservation: Reservation): void {
    this.slots.unreserve(reservation);
    this.capacity.notify();
  }

  waitForCapacity(): Promise<void> {
    return this.capacity.wait(this.blockTimeoutMs);
  }

  dispatch(leased: LeasedJob): void {
    // A lease reply: Redis answers, whatever a renewal met before.
    this.calls.answered();
    // A fetch answered after pause() or close() began: hand the job back.
    if (this.paused) void this.upkeep.handBack([leased]);
    else if (!this.stopping && this.slots.tryOccupy(leased)) this.start(leased);
    else this.slots.park(leased); // closing: the last sweep hands it back
  }

  /** Runs a job that holds a slot. */
  private start(leased: LeasedJob): void {
    // By lease token, unique per lease: a stale run of a job id (its lease
    // lost) must not remove a newer run of the same id when it ends.
    const key = runningKey(leased.queue, leased.token);
    this.consumerOf(leased.queue).noteStarted(leased);
    const running = startJobRun(this.runHost, leased);
    this.jobs.set(key, running);
    void running.done.finally(() => {
      this.calls.written(key);
      if (this.jobs.get(key) === running) this.jobs.delete(key);
      this.slotFreed(leased);
      this.capacity.notify();
    });
  }

  /** Fills free slots from the prefetch buffer. */
  private startParked(): void {
    if (this.stopping || this.paused) return;
    for (let job = this.slots.nextParked(); job; job = this.slots.nextParked())
      this.start(job);
  }

  slotFreed(leased: LeasedJob): void {
    // Called at the ack and again when the run ends: only the first counts.
    if (!this.slots.release(leased)) return;
    // At the ack, while the job still runs: its completion is being written.
    const key = runningKey(leased.queue, leased.token);
    if (this.jobs.has(key)) this.calls.writing(key);
    this.startParked();
  }

  /**
   * Reports a failure of the worker's own work, nearly always a Redis call:
   * an ioredis error (a Cluster's MOVED, "Too many Cluster redirections",
   * ClusterAllFailedError) becomes the JobwireError with the code users
   * filter on (REDIS_UNAVAILABLE…), with the original as `cause`.
   */
  reportError(err: unknown, context: string): void {
    this.emitError(mapRedisError(err), context);
  }

  /**
   * What catches stray rejections: a handler's own error, reported as it
   * is (its "ECONNREFUSED" is not Redis's).
   */
  private readonly strayRejections = {
    reportError: (err: unknown, context: string): void =>
      this.emitError(err, context),
  };

  /** Emits `err` on 'error', or logs it when nobody listens. */
  private emitError(err: unknown, context: string): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.emitter.listenerCount('error') > 0) this.safeEmit('error', error);
    else this.logger.warn(`worker: ${context}: ${error.message}`);
  }

  /**
   * Keeps every repeat schedule of this worker's queues with its one
   * pending occurrence (see repeat-repair.ts).
   */
  private async repairRepeats(): Promise<void> {
    // Not in a queue whose layout check refused it (redis/layout.ts).
    const writable = await Promise.all(
      this.consumers.map((c) => c.writable().catch(() => false)),
    );
    return repairQueues(
      {
        client: this.command.client,
        maxEvents: this.maxEvents,
        template: (spec) =>
          templateOf(spec, this.registry, (name, payload, options) =>
            this.producer.prepare(name, payload, options),
          ),
        reportError: (err, context) => this.reportError(err, context),
      },
      this.consumers.filter((_, i) => writable[i]).map((c) => c.keys),
    );
  }

  private makeRunHost(): JobRunHost {
    return {
      client: this.command.client,
      registry: this.registry as JobRegistry,
      handlers: this.handlers as Record<string, AnyHandler | undefined>,
      maxEvents: this.maxEvents,
      maxLogLines: this.maxLogLines,
      maxResultBytes: this.maxResultBytes,
      newerVersionDelayMs: this.newerVersionDelayMs,
      queueOf: (queue) => this.consumerOf(queue),
      emit: (event, ...args) => this.safeEmit(event, ...args),
      reportError: (err, context) => this.reportError(err, context),
    };
  }

  private consumerOf(queue: string): QueueConsumer {
    return this.consumers.find((c) => c.keys.queue === queue)!;
  }

  /** Emits an event; a throwing listener is logged, never crashes the loop. */
  safeEmit<TEvent extends keyof WorkerEvents>(
    event: TEvent,
    ...args: WorkerEvents[TEvent]
  ): void {
    try {
      this.emitter.emit(event, ...args);
    } catch (err) {
      this.logger.error(
        `a "${event}" listener threw (bug in the listener): ${(err as Error).message}`,
      );
    }
  }

  /** Subscribes to a worker event. */
  on<TEvent extends keyof WorkerEvents>(
    event: TEvent,
    listener: (...args: WorkerEvents[TEvent]) => void,
  ): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Unsubscribes from a worker event. */
  off<TEvent extends keyof WorkerEvents>(
    event: TEvent,
    listener: (...args: WorkerEvents[TEvent]) => void,
  ): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  // ----- control -----

  /** Stops taking new jobs; running ones continue. */
  pause(): void {
    this.paused = true;
    for (const c of this.consumers) c.interrupt();
    void this.upkeep.handBack(this.slots.unpark());
  }

  /** Takes jobs again after `pause()`. */
  resume(): void {
    this.paused = false;
    this.capacity.notify();
  }

  /** Number of handlers running now. */
  get running(): number {
    return this.jobs.size;
  }

  /**
   * Readiness, covering the blocking connections and Cluster slots too,
   * and for a worker holding jobs whether Redis answers its calls: a
   * renewal or a completion unanswered past commandTimeoutMs, or a renewal
   * that failed, reads every queue unreachable (a frozen Redis leaves the
   * sockets `ready`).
   */
  health(): WorkerHealth {
    const health = workerHealth(this.consumers, this.command.client, {
      stopping: this.stopping,
      paused: this.paused,
      running: this.jobs.size,
      starting: this.checking,
      refused: this.refusal,
    });
    if (!this.calls.unanswered(this.holdsLeases())) return health;
    return {
      ...health,
      ready: false,
      connections: health.connections.map((c) => ({ ...c, reachable: false })),
    };
  }

  /**
   * Stops taking jobs and waits for running ones. At `deadlineMs` their
   * signals abort with ShutdownError and the jobs are handed back to
   * waiting at once (no attempt counted), for another worker to run.
   * Returns within about CLOSE_GRACE_MS of the deadline (or of the last
   * job's end, if sooner) even when Redis does not answer: what is not
   * written by then is left to stall recovery, and the connections are cut.
   */
  close(options: { deadlineMs?: number | undefined } = {}): Promise<void> {
    this.closed ??= this.doClose(
      options.deadlineMs ?? defaults.shutdownDeadlineMs,
    );
    return this.closed;
  }

  private async doClose(deadlineMs: number): Promise<void> {
    this.stopping = true;
    // Ends the start-up check's waits: their timers would keep Node alive.
    this.closing.abort();
    trackRunning(this.strayRejections, false);
    for (const t of this.timers) clearInterval(t);
    for (const c of this.consumers) c.interrupt();
    this.capacity.notify();
    // Not awaited before the jobs' wait: with Redis frozen it would push
    // the deadline back by a command timeout.
    const handedBack = this.upkeep.handBack(this.slots.unpark());
    const all = () => Promise.all([...this.jobs.values()].map((j) => j.done));
    const finished = await settlesWithin(all(), deadlineMs);
    // Only Redis writes are left (hand-backs, the loops' last calls, QUIT):
    // each waits for Redis, which may never answer (frozen, or a silent
    // link, where the sockets stay `ready`), so they get a bounded time.
    const rest = this.finishClose(finished, handedBack);
    if (await settlesWithin(rest, CLOSE_GRACE_MS)) return;
    clearInterval(this.renewTimer);
    this.reportError(
      new JobwireError(
        ErrorCode.REDIS_UNAVAILABLE,
        `Redis did not answer within ${CLOSE_GRACE_MS} ms at close: connections cut; jobs not handed back or completed are left to stall recovery (their leases run out)`,
      ),
      'closing',
    );
    // Its pending calls reject, and the waits on it end with CLOSED.
    await Promise.all([
      ...this.consumers.map((c) => dropConnection(c.blocking)),
      dropConnection(this.command),
    ]);
    // The writes given up on end now; waited for so that their timers
    // (a retry's pause) do not outlive close().
    await settlesWithin(rest, CLOSE_GRACE_MS);
  }

  /** close() past the jobs' wait: the writes that end the worker. */
  private async finishClose(
    finished: boolean,
    handedBack: Promise<void>,
  ): Promise<void> {
    if (!finished) {
      await Promise.all(
        [...this.jobs.values()].map((j) => j.release(new ShutdownError())),
      );
    }
    await handedBack;
    await Promise.all(this.consumers.map((c) => c.stopped()));
    // Jobs a last completion batch prefetched while closing.
    await this.upkeep.handBack(this.slots.unpark());
    // Only now: a job still running, or a completion still being written,
    // would otherwise outlive its lease and run again on another worker.
    clearInterval(this.renewTimer);
    await this.producer.close();
    await Promise.all(this.consumers.map((c) => closeConnection(c.blocking)));
    await closeConnection(this.command);
  }
}

/**
 * How long close() waits, past the deadline (or the last job's end), for
 * Redis to take its last writes before it cuts its connections. A Redis
 * that answers at all answers these within milliseconds.
 */
const CLOSE_GRACE_MS = 1000;

/**
 * Creates and starts a worker serving the job types that have a handler.
 * @public
 */
export function createWorker<TJobs extends JobMap>(
  registry: JobRegistry<TJobs>,
  handlers: HandlerMap<TJobs>,
  options?: WorkerOptions,
): Worker<TJobs> {
  return new Worker(registry, handlers, options);
}
