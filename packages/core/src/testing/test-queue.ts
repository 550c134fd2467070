import {
  getDefinition,
  type JobMap,
  type JobRegistry,
  type inferJobInput,
  type inferJobResult,
} from '../contract/define.ts';
import {
  CancelledError,
  deserializeError,
  ErrorCode,
  JobwireError,
  refusedBy,
  serializeError,
  toJobwireError,
} from '../errors.ts';
import { checkBulkItem, checkJob } from '../producer/prepare.ts';
import { newJobId } from '../producer/job-id.ts';
import { throttledHandle } from '../producer/throttled-handle.ts';
import { FINAL_CODES } from '../worker/run-handler.ts';
import { retryDelay } from '../worker/backoff.ts';
import { checkCancelReason } from '../ops/admin.ts';
import { countOption } from '../option-checks.ts';
import type { Producer } from '../producer/queue.ts';
import type { BulkItem, JobHandle } from '../producer/queue-types.ts';
import type { EnqueueOptions } from '../types.ts';
import type { CancelOutcome } from '../redis/transitions/operator.ts';
import {
  parsed,
  runAttempt,
  type AnyHandler,
  type Entry,
} from './test-attempt.ts';
import type { AnyTestJob, TestJob, TestQueueOptions } from './test-types.ts';

/**
 * An in-memory stand-in for `Queue` in unit tests: no Redis. Enqueue runs the
 * real producer checks; jobs are captured in `jobs` and run with `runAll()`
 * or, with `runInline`, at once.
 * @public
 */
export class TestQueue<TJobs extends JobMap> implements Producer<TJobs> {
  private entries: Entry[] = [];
  private readonly seqs = new Map<string, number>();
  /** Throttle logs: `<queue>|<type>|<key>` → when jobs were accepted (ms). */
  private readonly throttleLogs = new Map<string, number[]>();
  /** Debounce: `<queue>|<type>|<key>` → the pending job. */
  private readonly debounced = new Map<string, Entry>();
  private readonly handlers: Record<string, AnyHandler | undefined>;
  private readonly maxPayloadBytes: number;
  private readonly maxResultBytes: number;
  private readonly runInline: boolean;

  constructor(
    readonly registry: JobRegistry<TJobs>,
    options: TestQueueOptions<TJobs> = {},
  ) {
    // Null prototype: a job type named `toString` without a handler must not
    // find Object.prototype.toString.
    this.handlers = Object.assign(
      Object.create(null) as Record<string, AnyHandler>,
      options.handlers,
    );
    for (const name of Object.keys(this.handlers))
      getDefinition(registry, name);
    this.maxPayloadBytes = countOption(options, 'maxPayloadBytes', 1);
    this.maxResultBytes = countOption(options, 'maxResultBytes', 1);
    this.runInline = options.runInline ?? false;
  }

  /** The captured jobs, oldest first. */
  get jobs(): readonly AnyTestJob<TJobs>[] {
    return this.entries.map((e) => e.job as AnyTestJob<TJobs>);
  }

  /** The captured jobs of one type. */
  jobsOf<TName extends keyof TJobs & string>(
    name: TName,
  ): readonly TestJob<TJobs, TName>[] {
    getDefinition(this.registry, name);
    return this.entries
      .filter((e) => e.job.name === name)
      .map((e) => e.job as unknown as TestJob<TJobs, TName>);
  }

  /** Forgets every job; pending `finished()` calls reject as for a removed job. */
  clear(): void {
    const gone = this.entries;
    this.entries = [];
    this.seqs.clear();
    this.throttleLogs.clear();
    this.debounced.clear();
    for (const e of gone) e.settle();
  }

  /** As `Queue.enqueue`: same checks, same errors, same handle. */
  async enqueue<TName extends keyof TJobs & string>(
    name: TName,
    payload: inferJobInput<TJobs, TName>,
    options?: EnqueueOptions,
  ): Promise<JobHandle<inferJobResult<TJobs, TName>>> {
    const [handle] = await this.capture(
      [{ name, payload, options } as BulkItem<TJobs>],
      false,
    );
    return handle as JobHandle<inferJobResult<TJobs, TName>>;
  }

  /** As `Queue.enqueueBulk`: every item is checked before any is captured. */
  enqueueBulk(
    items: readonly BulkItem<TJobs>[],
  ): Promise<JobHandle<unknown>[]> {
    return this.capture(items, true);
  }

  /** Checks every item, then captures them (and runs them with runInline). */
  private async capture(
    items: readonly BulkItem<TJobs>[],
    bulk: boolean,
  ): Promise<JobHandle<unknown>[]> {
    const now = Date.now();
    const checked = items.map((item, i) => {
      const check = () =>
        checkJob(
          this.registry,
          item.name,
          item.payload,
          item.options,
          this.maxPayloadBytes,
          now,
        );
      // Names the item exactly as Queue.enqueueBulk does.
      return bulk ? checkBulkItem(i, item.name, check) : check();
    });
    const fresh: Entry[] = [];
    const handles = checked.map(({ def, data, options: o, flowKeys }, i) => {
      const name = items[i]!.name;
      const existing =
        o.jobId === undefined
          ? undefined
          : this.entries.find(
              (e) => e.job.queue === def.queue && e.job.id === o.jobId,
            );
      if (existing) return this.handle(existing, name, 'duplicate');
      const id = o.jobId ?? newJobId();
      const { throttle, debounce } = def.flow;
      if (
        throttle !== undefined &&
        !this.throttleAdmit(
          `${def.queue}|${name}|${flowKeys.throttle ?? ''}`,
          throttle.limit,
          throttle.periodMs,
          now,
        )
      )
        return throttledHandle(def.queue, name, id);
      // Ids are generated as Queue generates them; seq only orders.
      const seq = (this.seqs.get(def.queue) ?? 0) + 1;
      this.seqs.set(def.queue, seq);
      let settle = () => {};
      const settled = new Promise<void>((r) => (settle = r));
      // A debounced job waits out its period (runAll runs it anyway).
      const delayMs = Math.max(o.delayMs, debounce?.periodMs ?? 0);
      const entry: Entry = {
        job: {
          id,
          name,
          queue: def.queue,
          data: JSON.parse(data) as unknown,
          options: delayMs === o.delayMs ? o : { ...o, delayMs },
          state: delayMs > 0 ? 'delayed' : 'waiting',
          errors: [],
          attemptsMade: 0,
          progress: [],
          logs: [],
        },
        def,
        seq,
        createdAt: now,
        stored: data,
        settled,
        settle,
      };
      let replaced: string | undefined;
      if (debounce !== undefined) {
        const key = `${def.queue}|${name}|${flowKeys.debounce ?? ''}`;
        const prev = this.debounced.get(key);
        this.debounced.set(key, entry);
        // As in Redis: only a job still delayed and never run is replaced.
        if (prev?.job.state === 'delayed' && prev.job.attemptsMade === 0) {
          void this.cancelEntry(prev, `debounced: replaced by ${id}`);
          replaced = prev.job.id;
        }
      }
      this.entries.push(entry);
      fresh.push(entry);
      return this.handle(entry, name, 'created', replaced);
    });
    if (this.runInline) for (const e of fresh) await this.run(e);
    return handles;
  }

  /**
   * Runs every waiting or delayed job that has a handler, best priority
   * first then FIFO, including jobs the handlers enqueue meanwhile.
   * Resolves when none is left; job failures are recorded, not thrown.
   */
  async runAll(): Promise<void> {
    for (;;) {
      const next = this.entries
        .filter(
          (e) =>
            (e.job.state === 'waiting' || e.job.state === 'delayed') &&
            this.handlers[e.job.name] !== undefined,
        )
        .sort(
          (a, b) =>
            a.job.options.priority - b.job.options.priority || a.seq - b.seq,
        )[0];
      if (next === undefined) return;
      await this.run(next);
    }
  }

  /**
   * The throttle's sliding window log of one key, as in Redis: true when a
   * job is accepted now (and logged), false when `limit` jobs were
   * accepted in the last `periodMs`.
   */
  private throttleAdmit(
    key: string,
    limit: number,
    periodMs: number,
    now: number,
  ): boolean {
    const log = (this.throttleLogs.get(key) ?? []).filter(
      (t) => t > now - periodMs,
    );
    this.throttleLogs.set(key, log);
    if (log.length >= limit) return false;
    log.push(now);
    return true;
  }

  private handle(
    entry: Entry,
    name: string,
    outcome: 'created' | 'duplicate',
    replaced?: string,
  ): JobHandle<unknown> {
    return {
      id: entry.job.id,
      name,
      queue: entry.job.queue,
      outcome,
      duplicate: outcome === 'duplicate',
      ...(replaced !== undefined ? { replaced } : {}),
      finished: (opts) => this.finished(entry, opts?.timeoutMs),
      cancel: (opts) => this.cancelEntry(entry, opts?.reason),
    };
  }

  /**
   * As `Queue.cancel`: a waiting or delayed job ends as cancelled at once;
   * an active one's signal aborts with a CancelledError now (there is no
   * lease renewal to wait for) and it ends as cancelled when its attempt
   * settles. A finished job is refused with JOB_NOT_IN_STATE.
   */
  cancel(
    id: string,
    options: { queue?: string | undefined; reason?: string | undefined } = {},
  ): Promise<CancelOutcome> {
    try {
      checkCancelReason(options.reason ?? '');
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const entry = this.entries.find(
      (e) =>
        e.job.id === id &&
        (options.queue === undefined || e.job.queue === options.queue),
    );
    if (entry === undefined) {
      return Promise.reject(
        refusedBy(
          ErrorCode.JOB_NOT_FOUND,
          'cancel',
          `job ${id} does not exist`,
        ),
      );
    }
    return this.cancelEntry(entry, options.reason);
  }

  private async cancelEntry(
    entry: Entry,
    reason: string | undefined,
  ): Promise<CancelOutcome> {
    // As the real queue refuses it, before it looks at the job.
    checkCancelReason(reason ?? '');
    const { job } = entry;
    if (job.state === 'active') {
      if (reason !== undefined && reason !== '') job.cancelReason = reason;
      if (entry.cancelRequested !== true) {
        entry.cancelRequested = true;
        entry.abort?.abort(new CancelledError(job.id, reason));
      }
      return 'requested';
    }
    if (job.state !== 'waiting' && job.state !== 'delayed') {
      throw refusedBy(
        ErrorCode.JOB_NOT_IN_STATE,
        'cancel',
        `job ${job.id} is ${job.state}; only waiting, delayed or active jobs can be cancelled`,
      );
    }
    if (reason !== undefined && reason !== '') job.cancelReason = reason;
    job.state = 'cancelled';
    entry.settle();
    return 'cancelled';
  }

  /** Settles like `Queue.waitForResult`, from the in-memory record. */
  private async finished(entry: Entry, timeoutMs?: number): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (timeoutMs === undefined) return;
      timer = setTimeout(() => {
        const msg = `job ${entry.job.id} did not finish within ${timeoutMs} ms`;
        reject(new JobwireError(ErrorCode.TIMEOUT, msg));
      }, timeoutMs);
    });
    try {
      await Promise.race([entry.settled, timeout]);
    } finally {
      clearTimeout(timer);
    }
    const { job } = entry;
    if (!this.entries.includes(entry)) {
      throw new JobwireError(
        ErrorCode.JOB_NOT_FOUND,
        `job ${job.id} was removed`,
      );
    }
    // Round trip through the recorded form: the same class as from Redis.
    if (job.state === 'failed') throw deserializeError(job.error!);
    if (job.state === 'cancelled')
      throw new CancelledError(job.id, job.cancelReason);
    return this.parseResult(entry);
  }

  /** The result as `finished()` gives it: stored JSON, parsed by the schema. */
  private async parseResult(entry: Entry): Promise<unknown> {
    const { def, job } = entry;
    if (def.result === undefined || !entry.storedResult) return undefined;
    const subject = `result of ${job.name} job ${job.id}`;
    return parsed(def.result, JSON.parse(entry.storedResult), subject);
  }

  /**
   * Runs a job's attempts back to back: the backoff is computed as a
   * worker computes it, but not waited for.
   */
  private async run(entry: Entry): Promise<void> {
    const { job } = entry;
    const handler = this.handlers[job.name];
    if (handler === undefined || job.state === 'active') return;
    job.state = 'active';
    for (;;) {
      const attempt = job.attemptsMade + 1;
      try {
        const stored = await runAttempt(
          entry,
          handler,
          attempt,
          this.maxResultBytes,
        );
        // As in Redis: a cancel requested before the outcome wins over it.
        if (entry.cancelRequested === true) {
          job.state = 'cancelled';
          break;
        }
        entry.storedResult = stored;
        job.attemptsMade = attempt;
        job.state = 'completed';
        // A failure here is finished()'s to report, as in Queue.waitForResult.
        job.result = await this.parseResult(entry).catch(() => undefined);
        if (job.result === undefined) delete job.result;
        break;
      } catch (thrown) {
        if (entry.cancelRequested === true) {
          job.state = 'cancelled';
          break;
        }
        job.attemptsMade = attempt;
        const error = toJobwireError(thrown);
        const serialized = {
          ...serializeError(error),
          attempt,
          at: Date.now(),
        };
        job.errors.push(serialized);
        if (FINAL_CODES.has(error.code) || attempt >= job.options.attempts) {
          job.state = 'failed';
          job.error = serialized;
          break;
        }
        // Called as a worker calls it, so a test runs the function (and its
        // instanceof checks) on what the handler threw; the delay is not
        // waited for, and a throw, which a worker reports on 'error' and
        // retries at once after, has nowhere to go here.
        const backoff =
          typeof entry.def.options.backoff === 'function'
            ? entry.def.options.backoff
            : job.options.backoff;
        retryDelay(backoff, attempt, error, job, () => {});
      }
    }
    entry.settle();
  }
}

/**
 * Creates an in-memory queue for unit tests: typed like `createQueue`,
 * validating exactly like it, and running `handlers` on demand.
 * @public
 */
export function createTestQueue<TJobs extends JobMap>(
  registry: JobRegistry<TJobs>,
  options?: TestQueueOptions<TJobs>,
): TestQueue<TJobs> {
  return new TestQueue(registry, options);
}
