import { backoffDelay } from './backoff.ts';
import { ensureReady, mapRedisError } from '../redis/connection.ts';
import type { LeasedJob, QueueConsumer } from './queue-consumer.ts';
import {
  ErrorCode,
  JobwireError,
  LeaseLostError,
  serializeError,
  toJobwireError,
  ValidationError,
} from '../errors.ts';
import { assertJsonSafe } from '../contract/json.ts';
import { makeJob, type JobIO } from './job.ts';
import { FINAL_CODES, JobAbort, withTimeout } from './run-handler.ts';
import { storedInput } from '../contract/strip.ts';
import { jobFingerprint } from '../contract/fingerprint.ts';
import type { StoredOptions } from '../contract/options.ts';
import {
  nextSlot,
  occurrenceId,
  redisNow,
  slotOf,
} from '../producer/repeat.ts';
import { runScript } from '../redis/scripts/index.ts';
import { sleep } from './wakeup.ts';
import { safeParseFast } from '../contract/parse.ts';
import type { Worker } from './worker.ts';
import type { AnyJobDefinition, JobMap } from '../contract/define.ts';
import type { QueueKeys } from '../redis/keys.ts';

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
  /** Aborts the handler and hands the job back to waiting (shutdown). */
  release(reason: Error): Promise<void>;
}

/** Stored options by their JSON: jobs of a type mostly share one string. */
const optionsCache = new Map<string, StoredOptions>();

/** Parses stored options once per distinct string (read-only: shared). */
function parseOptions(json: string): StoredOptions {
  let options = optionsCache.get(json);
  if (options === undefined) {
    options = JSON.parse(json) as StoredOptions;
    // Bounded: per-call options or repeat specs make new strings.
    if (optionsCache.size >= 256) optionsCache.clear();
    optionsCache.set(json, options);
  }
  return options;
}

/** How long an acknowledgement is retried while Redis is unreachable. */
const ACK_RETRY_MS = 60_000;

type WorkerInternals = Worker<JobMap>['internals'];

/**
 * Runs one leased job: validates its payload, calls the handler under its
 * timeout and signal, validates the result, and writes the outcome. Nothing
 * here throws: every failure becomes a recorded job failure or an event.
 */
export function executeJob<TJobs extends JobMap>(
  worker: Worker<TJobs>,
  leased: LeasedJob,
): RunningJob {
  return new JobRun(worker as unknown as Worker<JobMap>, leased);
}

/**
 * One job's run. A class rather than a closure per step: a worker makes one
 * per job, and the closures were a visible share of its garbage.
 */
class JobRun implements RunningJob, JobIO {
  settled = false;
  renewing = true;
  readonly done: Promise<void>;
  private released = false;
  private readonly io: WorkerInternals;
  private readonly consumer: QueueConsumer;
  private readonly keys: QueueKeys;
  private readonly abort = new JobAbort();

  constructor(
    private readonly worker: Worker<JobMap>,
    readonly leased: LeasedJob,
  ) {
    this.io = worker.internals;
    this.consumer = this.io.consumer(leased.queue);
    this.keys = this.consumer.keys;
    this.done = this.run().catch((err: unknown) =>
      worker.reportError(err, `running job ${leased.id}`),
    );
  }

  leaseLost(during: string): void {
    if (!this.renewing) return;
    // With the outcome on its way, a renewal that finds no lease most likely
    // raced the completion that removed it; the outcome's own write tells a
    // real loss (-2), and reports it then.
    if (this.settled && during === 'renew') return;
    this.renewing = false;
    this.settled = true;
    const leased = this.leased;
    this.abort.abort(new LeaseLostError(leased.id));
    this.worker.safeEmit('leaseLost', {
      id: leased.id,
      name: leased.name,
      queue: leased.queue,
      during,
    });
  }

  async release(reason: Error): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.renewing = false;
    this.released = true;
    this.abort.abort(reason);
    const keys = this.keys;
    await this.ack('release', () =>
      runScript(
        this.io.client,
        'release',
        [keys.active, keys.counts, keys.events],
        [keys.base, this.worker.maxEvents, this.leased.id, this.leased.token],
      ),
    );
  }

  /**
   * Writes an outcome, retrying while Redis is unreachable so that a short
   * outage does not turn a finished job into a duplicate run.
   */
  private async ack(
    what: string,
    write: () => Promise<unknown>,
  ): Promise<number | undefined> {
    const started = Date.now();
    for (let i = 0; ; i++) {
      try {
        // Awaited only when there is something to wait for: this runs per job.
        if (this.io.client.status !== 'ready')
          await ensureReady(this.io.client, 2000);
        const code = Number(await write());
        if (code === -2) this.leaseLost(what);
        this.renewing = false;
        return code;
      } catch (err) {
        const mapped = mapRedisError(err);
        if (
          Date.now() - started > ACK_RETRY_MS ||
          (mapped instanceof JobwireError && mapped.code === ErrorCode.CLOSED)
        ) {
          this.worker.reportError(
            mapped,
            `writing ${what} of job ${this.leased.id} (left to stall recovery)`,
          );
          return undefined;
        }
        await sleep(Math.min(50 * 2 ** i, 1000));
      }
    }
  }

  /** JobIO: the handler's `job.progress`, after validation. */
  async progress(json: string): Promise<void> {
    const { keys, leased } = this;
    const code = Number(
      await runScript(
        this.io.client,
        'updateProgress',
        [keys.job(leased.id), keys.events],
        [this.worker.maxEvents, leased.id, leased.token, json],
      ),
    );
    if (code === -2) {
      this.leaseLost('progress');
      throw new LeaseLostError(leased.id);
    }
  }

  /** JobIO: the handler's `job.log`. */
  async log(line: string): Promise<void> {
    const { keys, leased } = this;
    const code = Number(
      await runScript(
        this.io.client,
        'addLog',
        [keys.job(leased.id), keys.log(leased.id)],
        [leased.token, line, this.io.maxLogLines],
      ),
    );
    if (code === -2) {
      this.leaseLost('log');
      throw new LeaseLostError(leased.id);
    }
  }

  private async fail(
    error: JobwireError,
    options: StoredOptions | undefined,
    attempt: number,
  ): Promise<void> {
    const { keys, leased } = this;
    const def = this.io.registry.jobs[leased.name];
    const attempts = options?.at ?? 1;
    const final = FINAL_CODES.has(error.code) || attempt >= attempts;
    const backoff =
      def?.options.backoff !== undefined &&
      typeof def.options.backoff === 'function'
        ? def.options.backoff
        : (options?.bo ?? def?.options.backoff);
    const delay =
      final || backoff === undefined
        ? -1
        : Math.max(1, backoffDelay(backoff, attempt, error));
    const serialized = { ...serializeError(error), attempt, at: Date.now() };
    const kf = options?.kf ?? [10_000, 0];
    const code = await this.ack('failure', () =>
      runScript(
        this.io.client,
        'fail',
        [
          keys.active,
          keys.failed,
          keys.delayed,
          keys.counts,
          keys.events,
          keys.id,
        ],
        [
          keys.base,
          this.worker.maxEvents,
          leased.id,
          leased.token,
          JSON.stringify(serialized),
          delay,
          kf[0],
          kf[1],
        ],
      ),
    );
    if (code === 1 || code === 2) {
      this.worker.safeEmit('failed', {
        id: leased.id,
        name: leased.name,
        queue: leased.queue,
        error: serialized,
        willRetry: code === 1,
      });
    }
  }

  private async run(): Promise<void> {
    const { io, leased } = this;
    let options: StoredOptions | undefined;
    const attempt = leased.attemptsMade + 1;
    try {
      const def = io.registry.jobs[leased.name];
      const handler = io.handlers[leased.name];
      if (def === undefined || handler === undefined) {
        throw new JobwireError(
          ErrorCode.UNKNOWN_JOB_TYPE,
          `no handler for job type ${leased.name} in this worker`,
        );
      }
      let raw: unknown;
      try {
        options = parseOptions(leased.options);
        raw = JSON.parse(leased.data) as unknown;
      } catch (err) {
        throw new JobwireError(
          ErrorCode.CORRUPT_JOB,
          `job ${leased.id} holds data that is not JSON; it was not written by a jobwire producer`,
          { cause: err },
        );
      }
      // Awaited only when there is something to wait for: this runs per job.
      if (options.rp !== undefined) await this.scheduleNextOccurrence(options);
      const parsing = safeParseFast(def.payload, raw);
      const parsed = parsing instanceof Promise ? await parsing : parsing;
      if (!parsed.success) {
        throw ValidationError.fromZod(
          `payload of ${leased.name} job ${leased.id}, written by ${this.origin(def)}`,
          parsed.error.issues,
        );
      }
      const job = makeJob(
        {
          id: leased.id,
          name: leased.name,
          queue: leased.queue,
          data: parsed.data,
          attempt,
          attempts: options.at,
          createdAt: leased.createdAt,
          version: leased.version,
          fingerprint: leased.fingerprint,
        },
        def,
        this,
        this.abort,
      );
      const result = await withTimeout(
        () => handler(job),
        options.to,
        this.abort,
      );
      if (this.settled) return;
      let stored = '';
      if (def.result !== undefined) {
        const checking = safeParseFast(def.result, result);
        const checked = checking instanceof Promise ? await checking : checking;
        if (!checked.success)
          throw ValidationError.fromZod(
            `result of ${leased.name} job ${leased.id}`,
            checked.error.issues,
          );
        assertJsonSafe(result, `result of ${leased.name}`);
        stored = JSON.stringify(storedInput(def.result, result, checked.data));
      }
      this.settled = true;
      const keep = options.kc;
      const code = await this.ack('completion', () =>
        this.consumer.complete(leased, stored, keep),
      );
      if (code === 1)
        this.worker.safeEmit('completed', {
          id: leased.id,
          name: leased.name,
          queue: leased.queue,
          result,
        });
    } catch (thrown) {
      if (this.settled || this.released) return;
      this.settled = true;
      await this.fail(toJobwireError(thrown), options, attempt);
    }
  }

  /** Which contract wrote the job: a mismatch is usually an old deploy. */
  private origin(def: AnyJobDefinition): string {
    const mine = jobFingerprint(def);
    const written = this.leased.fingerprint;
    if (written === '') return 'a producer without a recorded contract';
    if (written === mine) return `this contract (${mine})`;
    return `contract ${written} (this worker runs ${mine})`;
  }

  /** Repeat occurrences schedule the next slot before running, idempotently. */
  private async scheduleNextOccurrence(options: StoredOptions): Promise<void> {
    const spec = options.rp;
    if (spec === undefined) return;
    const io = this.io;
    try {
      // Slots come from the Redis clock, so skewed hosts agree on them.
      const now = await redisNow(io.client);
      const slot = slotOf(this.leased.id) ?? now;
      const next = nextSlot(spec, Math.max(slot, now));
      const job = io.producer.prepare(
        spec.name,
        JSON.parse(spec.data) as unknown,
        {
          ...spec.options,
          jobId: occurrenceId(spec.key, next),
          delayMs: Math.max(0, next - now),
        },
        { spec, storeSpec: false },
      );
      await io.producer.store(this.leased.queue, [job]);
    } catch (err) {
      // A removed repeat ends here; anything else is reported, not fatal.
      if (!(
        err instanceof JobwireError && err.code === ErrorCode.JOB_NOT_FOUND
      )) {
        this.worker.reportError(
          err,
          `scheduling the next occurrence of repeat ${spec.key}`,
        );
      }
    }
  }
}
