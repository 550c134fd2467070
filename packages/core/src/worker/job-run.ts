import { retryDelay } from './backoff.ts';
import { ensureReady, mapRedisError, withRedis } from '../redis/connection.ts';
import {
  CancelledError,
  ErrorCode,
  JobwireError,
  LeaseLostError,
  ScriptCode,
  serializeError,
  toJobwireError,
  ValidationError,
} from '../errors.ts';
import { assertJsonSafe } from '../contract/json.ts';
import { makeJob, type JobIO } from './job.ts';
import {
  assertResultSize,
  FINAL_CODES,
  JobAbort,
  withTimeout,
} from './run-handler.ts';
import { storedInput } from '../contract/strip.ts';
import { jobFingerprint } from '../contract/fingerprint.ts';
import type { StoredOptions } from '../contract/options.ts';
import type { QueueKeys } from '../redis/keys.ts';
import {
  addLog,
  deferNewer,
  fail,
  FailCode,
  updateProgress,
} from '../redis/transitions/job-run.ts';
import { release, type LeasedJob } from '../redis/transitions/lease.ts';
import { redisRetryDelayMs } from './retry-delay.ts';
import { sleep } from './wakeup.ts';
import { safeParseFast } from '../contract/parse.ts';
import { readPayload } from '../contract/upcast.ts';
import type { AnyJobDefinition } from '../contract/define.ts';
import type { JobRunHost, RunningJob, RunQueue } from './job-run-host.ts';

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

/**
 * The code every outcome script (complete, fail, release, deferNewer)
 * returns when it ended the job as cancelled instead: its cancel was
 * requested (scripts/includes/cancel.lua).
 */
const CANCELLED_CODE = FailCode.CANCELLED;

/**
 * How long a handler's progress or log write waits for a dropped
 * connection to come back before it rejects with REDIS_UNAVAILABLE.
 */
const IO_WAIT_MS = 2000;

/** How long an acknowledgement is retried while Redis is unreachable. */
const ACK_RETRY_MS = 60_000;

/**
 * Runs one leased job: validates its payload, calls the handler under its
 * timeout and signal, validates the result, and writes the outcome. Nothing
 * here throws: every failure becomes a recorded job failure or an event.
 */
export function startJobRun(host: JobRunHost, leased: LeasedJob): RunningJob {
  return new JobRun(host, leased);
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
  private readonly queue: RunQueue;
  private readonly keys: QueueKeys;
  private readonly abort = new JobAbort();

  constructor(
    private readonly host: JobRunHost,
    readonly leased: LeasedJob,
  ) {
    this.queue = host.queueOf(leased.queue);
    this.keys = this.queue.keys;
    this.done = this.run().catch((err: unknown) =>
      host.reportError(err, `running job ${leased.id}`),
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
    this.host.emit('leaseLost', {
      id: leased.id,
      name: leased.name,
      queue: leased.queue,
      during,
    });
  }

  cancel(reason: string): void {
    if (this.settled) return;
    // Like a timeout: the run settles at once (withTimeout's race), and
    // its failure write finds the cancel and ends the job as cancelled.
    this.abort.abort(
      new CancelledError(this.leased.id, reason === '' ? undefined : reason),
    );
  }

  /** Reports a job the outcome script ended as cancelled. */
  private cancelled(): void {
    const { id, name, queue } = this.leased;
    this.host.emit('cancelled', { id, name, queue });
  }

  async release(reason: Error): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.renewing = false;
    this.released = true;
    this.abort.abort(reason);
    const { host, leased } = this;
    const code = await this.ack('release', () =>
      release(host.client, this.keys, host.maxEvents, leased),
    );
    if (code === CANCELLED_CODE) this.cancelled();
  }

  /**
   * Writes an outcome, retrying while Redis is unreachable so that a short
   * outage does not turn a finished job into a duplicate run.
   */
  private async ack(
    what: string,
    write: () => Promise<number>,
  ): Promise<number | undefined> {
    const started = Date.now();
    for (let i = 0; ; i++) {
      try {
        // Awaited only when there is something to wait for: this runs per job.
        if (this.host.client.status !== 'ready')
          await ensureReady(this.host.client, 2000);
        const code = await write();
        if (code === ScriptCode.LEASE_LOST) this.leaseLost(what);
        this.renewing = false;
        return code;
      } catch (err) {
        const mapped = mapRedisError(err);
        if (
          Date.now() - started > ACK_RETRY_MS ||
          (mapped instanceof JobwireError && mapped.code === ErrorCode.CLOSED)
        ) {
          this.host.reportError(
            mapped,
            `writing ${what} of job ${this.leased.id} (left to stall recovery)`,
          );
          return undefined;
        }
        await sleep(redisRetryDelayMs(err, i, 50, 1000));
      }
    }
  }

  /** JobIO: the handler's `job.progress`, after validation. */
  async progress(json: string): Promise<void> {
    const { host, leased } = this;
    assertResultSize(
      json,
      host.maxResultBytes,
      `progress of ${leased.name} job ${leased.id}`,
    );
    const code = await withRedis(host.client, IO_WAIT_MS, () =>
      updateProgress(host.client, this.keys, host.maxEvents, leased, json),
    );
    if (code === ScriptCode.LEASE_LOST) {
      this.leaseLost('progress');
      throw new LeaseLostError(leased.id);
    }
  }

  /** JobIO: the handler's `job.log`. */
  async log(line: string): Promise<void> {
    const { host, leased } = this;
    assertResultSize(
      line,
      host.maxResultBytes,
      `log line of ${leased.name} job ${leased.id}`,
    );
    const code = await withRedis(host.client, IO_WAIT_MS, () =>
      addLog(host.client, this.keys, leased, line, host.maxLogLines),
    );
    if (code === ScriptCode.LEASE_LOST) {
      this.leaseLost('log');
      throw new LeaseLostError(leased.id);
    }
  }

  private async fail(
    error: JobwireError,
    options: StoredOptions | undefined,
    attempt: number,
  ): Promise<void> {
    const { host, leased } = this;
    const def = host.registry.jobs[leased.name];
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
        : Math.max(
            1,
            retryDelay(backoff, attempt, error, leased, (err) =>
              host.reportError(
                err,
                `backoff function of job type ${leased.name}`,
              ),
            ),
          );
    const serialized = { ...serializeError(error), attempt, at: Date.now() };
    const kf = options?.kf ?? [10_000, 0];
    const code = await this.ack('failure', () =>
      fail(host.client, this.keys, host.maxEvents, leased, {
        error: JSON.stringify(serialized),
        retryDelayMs: delay,
        keep: [kf[0], kf[1]],
      }),
    );
    if (code === FailCode.RETRY || code === FailCode.FAILED) {
      this.host.emit('failed', {
        id: leased.id,
        name: leased.name,
        queue: leased.queue,
        error: serialized,
        willRetry: code === FailCode.RETRY,
      });
    } else if (code === CANCELLED_CODE) this.cancelled();
  }

  private async run(): Promise<void> {
    const { host, leased } = this;
    let options: StoredOptions | undefined;
    const attempt = leased.attemptsMade + 1;
    try {
      const def = host.registry.jobs[leased.name];
      const handler = host.handlers[leased.name];
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
      if (leased.version > def.version) {
        // Neither run nor fail a job this worker cannot read: a newer
        // worker can. A rolling deploy starts newer producers while old
        // workers still run.
        await this.deferNewer(def.version);
        return;
      }
      const subject = `payload of ${leased.name} job ${leased.id}, written by ${this.origin(def)}`;
      let data: unknown;
      if (def.upcast.has(leased.version)) {
        data = await readPayload(def, leased.version, raw, subject);
      } else {
        const parsing = safeParseFast(def.payload, raw);
        const parsed = parsing instanceof Promise ? await parsing : parsing;
        if (!parsed.success)
          throw ValidationError.fromZod(subject, parsed.error.issues);
        data = parsed.data;
      }
      const job = makeJob(
        {
          id: leased.id,
          name: leased.name,
          queue: leased.queue,
          data,
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
        // An undefined result the schema accepts (`.optional()`) is stored
        // as no result: JSON has no form for it, and readers give back
        // undefined for an empty result.
        if (result !== undefined) {
          assertJsonSafe(result, `result of ${leased.name}`);
          stored = JSON.stringify(
            storedInput(def.result, result, checked.data),
          );
          assertResultSize(
            stored,
            this.host.maxResultBytes,
            `result of ${leased.name} job ${leased.id}`,
          );
        }
      }
      this.settled = true;
      const keep = options.kc;
      const code = await this.ack('completion', () =>
        this.queue.complete(leased, stored, keep),
      );
      if (code === 1)
        this.host.emit('completed', {
          id: leased.id,
          name: leased.name,
          queue: leased.queue,
          result,
        });
      else if (code === CANCELLED_CODE) this.cancelled();
    } catch (thrown) {
      if (this.settled || this.released) return;
      this.settled = true;
      await this.fail(toJobwireError(thrown), options, attempt);
    }
  }

  /** Hands the job back for a worker that knows its newer version. */
  private async deferNewer(knownVersion: number): Promise<void> {
    this.settled = true;
    const { host, leased } = this;
    const code = await this.ack('deferral', () =>
      deferNewer(
        host.client,
        this.keys,
        host.maxEvents,
        leased,
        host.newerVersionDelayMs,
        knownVersion,
      ),
    );
    if (code === CANCELLED_CODE) this.cancelled();
    else if (code === 1)
      host.emit('deferred', {
        id: leased.id,
        name: leased.name,
        queue: leased.queue,
        version: leased.version,
        knownVersion,
        reason: 'newer-version',
      });
  }

  /** Which contract wrote the job: a mismatch is usually an old deploy. */
  private origin(def: AnyJobDefinition): string {
    const mine = jobFingerprint(def);
    const written = this.leased.fingerprint;
    if (written === '') return 'a producer without a recorded contract';
    if (written === mine) return `this contract (${mine})`;
    return `contract ${written} (this worker runs ${mine})`;
  }
}
