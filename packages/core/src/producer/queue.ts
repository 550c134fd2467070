import { defaults } from '../defaults.ts';
import {
  getDefinition,
  type AnyJobDefinition,
  type JobMap,
  type JobRegistry,
  type inferJobInput,
  type inferJobResult,
} from '../contract/define.ts';
import { createHash } from 'node:crypto';
import {
  DurabilityError,
  ErrorCode,
  errorFromScriptCode,
  JobwireError,
  ValidationError,
} from '../errors.ts';
import {
  checkEvictionPolicy,
  closeConnection,
  openConnection,
  mapRedisError,
  withRedis,
  type Connection,
  type ConnectionOptions,
} from '../redis/connection.ts';
import {
  makeKeyCache,
  resolveCommon,
  type QueueContext,
} from '../redis/queue-context.ts';
import { Maintenance } from '../ops/maintenance.ts';
import { checkBulkItem, checkJob } from './prepare.ts';
import {
  durabilitySchema,
  toStoredOptions,
  type ResolvedEnqueueOptions,
} from '../contract/options.ts';
import { ResultWaiter } from '../ops/results.ts';
import { jobFingerprint } from '../contract/fingerprint.ts';
import { runScript, scripts } from '../redis/scripts/index.ts';
import type { Durability, EnqueueOptions } from '../types.ts';
import type { RepeatSpec } from '../contract/options.ts';
import {
  checkRepeat,
  nextSlot,
  occurrenceId,
  redisNow,
  type RepeatOptions,
} from './repeat.ts';

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

/**
 * Most jobs one automatic batch of `enqueue` calls stores per script call:
 * large enough to share the round trip, small enough that one script never
 * holds Redis for long.
 */
const AUTO_BATCH_MAX = 100;

/** An `enqueue` call waiting for its batch to be stored. */
interface PendingStore {
  job: PreparedJob;
  resolve: (handle: JobHandle<unknown>) => void;
  reject: (err: unknown) => void;
}

const sharedSettings = new WeakMap<
  ResolvedEnqueueOptions,
  readonly (string | number)[]
>();

/**
 * A job's settings, in the enqueue script's order: stored options JSON,
 * expire-after ms, contract version, repeat key, repeat spec JSON (only
 * when the spec is stored), fingerprint.
 */
function settingsFor(
  o: ResolvedEnqueueOptions,
  def: AnyJobDefinition,
  repeat?: RepeatArgs,
): (string | number)[] {
  const stored = toStoredOptions(o);
  return [
    JSON.stringify(repeat ? { ...stored, rp: repeat.spec } : stored),
    Math.round(o.expireAfterMs),
    def.version,
    repeat?.spec.key ?? '',
    repeat?.storeSpec === true ? JSON.stringify(repeat.spec) : '',
    jobFingerprint(def),
  ];
}

/**
 * Settings without a repeat. Options resolved once per type (no per-call
 * options) map to one shared array, which `enqueueArgs` then sends once
 * per batch.
 */
function settingsOf(
  o: ResolvedEnqueueOptions,
  def: AnyJobDefinition,
): readonly (string | number)[] {
  let settings = sharedSettings.get(o);
  if (settings === undefined) {
    settings = settingsFor(o, def);
    sharedSettings.set(o, settings);
  }
  return settings;
}

/** The enqueue script's arguments: settings sets first, then the jobs. */
function enqueueArgs(
  base: string,
  maxEvents: number,
  jobs: readonly PreparedJob[],
): (string | number)[] {
  const sets = new Map<readonly (string | number)[], number>();
  const args: (string | number)[] = [base, maxEvents, 0];
  for (const j of jobs) {
    if (!sets.has(j.settings)) {
      sets.set(j.settings, sets.size + 1);
      args.push(...j.settings);
    }
  }
  args[2] = sets.size;
  args.push(jobs.length);
  for (const j of jobs) args.push(...j.fields, sets.get(j.settings)!);
  return args;
}

/** A durability wait with every field filled in. */
interface ResolvedDurability {
  aof: boolean;
  replicas: number;
  timeoutMs: number;
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
}

/** One item of `enqueueBulk`. @public */
export type BulkItem<TJobs extends JobMap> = {
  [TName in keyof TJobs & string]: {
    name: TName;
    payload: inferJobInput<TJobs, TName>;
    options?: EnqueueOptions;
  };
}[keyof TJobs & string];

/**
 * The enqueue surface shared by `Queue` and the in-memory `TestQueue`, so
 * code that only produces jobs can be unit-tested without Redis.
 * @public
 */
export type Producer<TJobs extends JobMap> = Pick<
  Queue<TJobs>,
  'enqueue' | 'enqueueBulk'
>;

/** A checked job, ready for the enqueue script. */
export interface PreparedJob {
  queue: string;
  name: string;
  /** custom id ('' = generate), type name, data JSON, priority, delay ms */
  fields: (string | number)[];
  /**
   * Stored options JSON, expire-after ms, contract version, repeat key,
   * repeat spec JSON, fingerprint: shared by identity between the jobs of a
   * type enqueued without options, and sent once per batch.
   */
  settings: readonly (string | number)[];
  /** The persistence wait this job asks for, if any. */
  durability?: ResolvedDurability;
}

/** The repeat fields of a prepared job. */
export interface RepeatArgs {
  spec: RepeatSpec;
  /** Store the spec (a new repeat), or require that it still exists. */
  storeSpec: boolean;
}

/**
 * The producer: validates and enqueues jobs, and offers the maintenance API.
 * @public
 */
export class Queue<TJobs extends JobMap> extends Maintenance {
  private readonly conn: Connection;
  private readonly maxPayloadBytes: number;
  private readonly bulkChunkSize: number;
  private readonly waiters = new Map<string, ResultWaiter>();
  /** Jobs of `enqueue` calls made this turn, per queue, stored together. */
  private readonly batches = new Map<string, PendingStore[]>();
  private readonly storing = new Set<Promise<void>>();
  private configChecked: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly registry: JobRegistry<TJobs>,
    private readonly options: QueueOptions = {},
  ) {
    // Checked before a connection is opened, so a bad setting leaks nothing.
    resolveDurability(options, undefined);
    const common = resolveCommon(options);
    const conn = openConnection(options, 'command', common.logger);
    const ctx: QueueContext = {
      registry,
      client: conn.client,
      prefix: common.prefix,
      connectTimeoutMs: common.connectTimeoutMs,
      maxEvents: options.maxEvents ?? defaults.maxEvents,
      logger: common.logger,
      keys: makeKeyCache(common.prefix),
    };
    super(ctx);
    this.conn = conn;
    this.maxPayloadBytes = options.maxPayloadBytes ?? defaults.maxPayloadBytes;
    this.bulkChunkSize = options.bulkChunkSize ?? defaults.bulkChunkSize;
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
        ? await this.storeBatched(job)
        : (await this.store(job.queue, [job]))[0];
    return handle as JobHandle<inferJobResult<TJobs, TName>>;
  }

  /**
   * Validates every item first, then stores them atomically per chunk of
   * `bulkChunkSize` (one round trip each). One invalid item rejects the
   * whole call before anything is written.
   */
  async enqueueBulk(
    items: readonly BulkItem<TJobs>[],
  ): Promise<JobHandle<unknown>[]> {
    const prepared = items.map((item, i) =>
      checkBulkItem(i, item.name, () =>
        this.prepare(item.name, item.payload, item.options),
      ),
    );
    const out: JobHandle<unknown>[] = new Array<JobHandle<unknown>>(
      prepared.length,
    );
    const byQueue = new Map<string, number[]>();
    prepared.forEach((p, i) => {
      const list = byQueue.get(p.queue) ?? [];
      list.push(i);
      byQueue.set(p.queue, list);
    });
    for (const [queue, indexes] of byQueue) {
      for (let start = 0; start < indexes.length; start += this.bulkChunkSize) {
        const chunk = indexes.slice(start, start + this.bulkChunkSize);
        const handles = await this.store(
          queue,
          chunk.map((i) => prepared[i]!),
        );
        chunk.forEach((i, k) => (out[i] = handles[k]!));
      }
    }
    return out;
  }

  /** Checks a job and builds its script arguments; touches no I/O. */
  prepare(
    name: string,
    payload: unknown,
    options: EnqueueOptions | undefined,
    repeat?: RepeatArgs,
  ): PreparedJob {
    this.assertOpen();
    const {
      def,
      data,
      options: o,
    } = checkJob(
      this.registry,
      name,
      payload,
      options,
      this.maxPayloadBytes,
      Date.now(),
    );
    const durability = resolveDurability(this.options, options?.durability);
    return {
      queue: def.queue,
      name,
      ...(durability !== undefined ? { durability } : {}),
      fields: [o.jobId ?? '', name, data, o.priority, Math.round(o.delayMs)],
      settings: repeat ? settingsFor(o, def, repeat) : settingsOf(o, def),
    };
  }

  /**
   * Stores one job with the others enqueued in the same turn of the event
   * loop: one script call per batch, so many concurrent enqueues cost one
   * round trip. Each job still gets its own outcome.
   */
  private storeBatched(job: PreparedJob): Promise<JobHandle<unknown>> {
    return new Promise((resolve, reject) => {
      let batch = this.batches.get(job.queue);
      if (batch === undefined) {
        batch = [];
        this.batches.set(job.queue, batch);
        setImmediate(() => this.flushBatch(job.queue));
      }
      batch.push({ job, resolve, reject });
      // Nothing in flight: send at once, as a lone await would want; the
      // calls that follow meanwhile gather into the next batch.
      if (this.storing.size === 0 || batch.length >= AUTO_BATCH_MAX)
        this.flushBatch(job.queue);
    });
  }

  private flushBatch(queue: string): void {
    const batch = this.batches.get(queue);
    if (batch === undefined) return;
    this.batches.delete(queue);
    const stored = this.storeOutcomes(
      queue,
      batch.map((b) => b.job),
    ).then(
      (outcomes) =>
        outcomes.forEach((o, i) =>
          o instanceof Error ? batch[i]!.reject(o) : batch[i]!.resolve(o),
        ),
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    );
    this.storing.add(stored);
    void stored.finally(() => this.storing.delete(stored));
  }

  /** Runs the enqueue script for jobs of one queue. */
  async store(
    queue: string,
    jobs: readonly PreparedJob[],
  ): Promise<JobHandle<unknown>[]> {
    const outcomes = await this.storeOutcomes(queue, jobs);
    return outcomes.map((o) => {
      if (o instanceof Error) throw o;
      return o;
    });
  }

  /** The enqueue script's outcome per job: a handle, or why it was refused. */
  private async storeOutcomes(
    queue: string,
    jobs: readonly PreparedJob[],
  ): Promise<(JobHandle<unknown> | JobwireError)[]> {
    await this.checkConfigOnce();
    const k = this.ctx.keys(queue);
    const keys = [k.id, k.delayed, k.counts, k.events, k.types, k.repeats];
    const args = enqueueArgs(k.base, this.ctx.maxEvents, jobs);
    const durability = strongest(jobs);
    const sentAt = performance.now();
    const reply = (await withRedis(
      this.ctx.client,
      this.ctx.connectTimeoutMs,
      () =>
        durability === undefined
          ? runScript(this.ctx.client, 'enqueue', keys, args)
          : this.storeDurably(keys, args, durability),
    )) as (string | number)[];
    const ids = jobs.map((_, i) => String(reply[i * 2]));
    if (durability !== undefined) checkDurability(reply, ids, durability);
    return jobs.map((j, i) => {
      const id = ids[i]!;
      const status = Number(reply[i * 2 + 1]);
      return status < 0
        ? errorFromScriptCode(status, { script: 'enqueue', jobId: id })
        : this.handle(queue, j.name, id, status === 0 ? undefined : sentAt);
    });
  }

  /**
   * The enqueue script and the durability wait in one pipeline on one
   * connection: WAIT/WAITAOF then covers the script's writes, without an
   * extra round trip. The script goes as a plain EVALSHA: ioredis would
   * re-send a NOSCRIPT failure on its own *after* the wait, which would
   * then cover nothing; here a NOSCRIPT (first use after a Redis restart)
   * runs the script normally (loading it) and waits afterwards.
   * Returns the script's reply followed by the wait's reply (or error).
   */
  private async storeDurably(
    keys: readonly string[],
    args: readonly (string | number)[],
    d: ResolvedDurability,
  ): Promise<unknown[]> {
    const client = this.ctx.client;
    const wait = (): [string, ...(string | number)[]] =>
      d.aof
        ? ['WAITAOF', 1, d.replicas, d.timeoutMs]
        : ['WAIT', d.replicas, d.timeoutMs];
    const pipe = client.pipeline();
    pipe.call('EVALSHA', enqueueSha, keys.length, ...keys, ...args);
    pipe.call(...wait());
    const res = (await pipe.exec()) ?? [];
    const [scriptErr, scriptReply] = res[0] ?? [new Error('no reply')];
    if (scriptErr !== null && scriptErr !== undefined) {
      if (!scriptErr.message.startsWith('NOSCRIPT')) throw scriptErr;
      const reply = await runScript(client, 'enqueue', keys, args);
      const waited = await client.call(...wait()).then(
        (v: unknown) => v,
        (err: unknown) => err,
      );
      return [...(reply as unknown[]), waited];
    }
    const [waitErr, waitReply] = res[1] ?? [new Error('no reply')];
    return [...(scriptReply as unknown[]), waitErr ?? waitReply];
  }

  /** `sentAt` is set for a job this call created (not a duplicate). */
  private handle(
    queue: string,
    name: string,
    id: string,
    sentAt: number | undefined,
  ): JobHandle<unknown> {
    return {
      id,
      name,
      queue,
      duplicate: sentAt === undefined,
      finished: (opts) => this.awaitResult(name, id, opts, sentAt),
    };
  }

  /**
   * Waits for a job to finish and returns its result, parsed with the job
   * type's result schema. Works for jobs enqueued by any process.
   */
  async waitForResult<TName extends keyof TJobs & string>(
    name: TName,
    id: string,
    options?: { timeoutMs?: number },
  ): Promise<inferJobResult<TJobs, TName>> {
    return this.awaitResult(name, id, options, undefined);
  }

  private async awaitResult<TName extends keyof TJobs & string>(
    name: TName,
    id: string,
    options: { timeoutMs?: number } | undefined,
    enqueuedAt: number | undefined,
  ): Promise<inferJobResult<TJobs, TName>> {
    this.assertOpen();
    const def = getDefinition(this.registry, name);
    let waiter = this.waiters.get(def.queue);
    if (!waiter) {
      waiter = new ResultWaiter(this.ctx, def.queue, this.options);
      this.waiters.set(def.queue, waiter);
    }
    const raw = await waiter.wait(id, options?.timeoutMs, enqueuedAt);
    if (def.result === undefined)
      return undefined as inferJobResult<TJobs, TName>;
    const parsed = def.result.safeParse(raw);
    if (!parsed.success) {
      throw ValidationError.fromZod(
        `result of ${name} job ${id}`,
        parsed.error.issues,
      );
    }
    return parsed.data as inferJobResult<TJobs, TName>;
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
    checkRepeat(repeat);
    // Validate payload and options before computing anything.
    this.prepare(name, payload, options);
    const spec: RepeatSpec = {
      key: repeat.key,
      name,
      data: JSON.stringify(payload),
      ...(repeat.cron !== undefined
        ? { cron: repeat.cron, tz: repeat.tz ?? 'UTC' }
        : { everyMs: repeat.everyMs }),
      ...(options !== undefined ? { options } : {}),
    };
    // Slots come from the Redis clock, so skewed hosts agree on them.
    const now = await withRedis(
      this.ctx.client,
      this.ctx.connectTimeoutMs,
      () => redisNow(this.ctx.client),
    );
    const slot = nextSlot(spec, now);
    const job = this.prepare(
      name,
      payload,
      {
        ...options,
        jobId: occurrenceId(repeat.key, slot),
        delayMs: Math.max(0, slot - now),
      },
      { spec, storeSpec: true },
    );
    const [handle] = await this.store(job.queue, [job]);
    return handle as JobHandle<inferJobResult<TJobs, TName>>;
  }

  /** Stops a repeat and removes its pending occurrence. */
  async removeRepeat(
    name: keyof TJobs & string,
    key: string,
  ): Promise<boolean> {
    const k = this.ctx.keys(getDefinition(this.registry, name).queue);
    const n = await withRedis(this.ctx.client, this.ctx.connectTimeoutMs, () =>
      runScript(
        this.ctx.client,
        'removeRepeat',
        [k.repeats, k.delayed, k.counts],
        [k.base, key],
      ),
    );
    return Number(n) === 1;
  }

  /** Lists the repeats declared in the queues of this registry. */
  async getRepeats(): Promise<RepeatSpec[]> {
    const out: RepeatSpec[] = [];
    for (const q of this.registry.queues) {
      const all = await withRedis(
        this.ctx.client,
        this.ctx.connectTimeoutMs,
        () => this.ctx.client.hgetall(this.ctx.keys(q).repeats),
      );
      for (const [field, value] of Object.entries(all)) {
        if (!field.endsWith(':next')) out.push(JSON.parse(value) as RepeatSpec);
      }
    }
    return out.sort((a, b) => a.key.localeCompare(b.key));
  }

  private checkConfigOnce(): Promise<void> {
    this.configChecked ??= withRedis(
      this.ctx.client,
      this.ctx.connectTimeoutMs,
      () =>
        checkEvictionPolicy(
          this.ctx.client,
          this.options.strictRedisConfig ?? false,
          this.ctx.logger,
        ),
    ).catch((err: unknown) => {
      this.configChecked = undefined;
      throw err;
    });
    return this.configChecked;
  }

  private assertOpen(): void {
    if (this.closed)
      throw new JobwireError(ErrorCode.CLOSED, 'queue is closed');
  }

  /** Closes the queue's connections. Pending `finished()` calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Enqueues accepted before close() are still written.
    for (const queue of [...this.batches.keys()]) this.flushBatch(queue);
    await Promise.all(this.storing);
    await Promise.all([...this.waiters.values()].map((w) => w.close()));
    await closeConnection(this.conn);
  }
}

/**
 * The queue's durability merged with one enqueue's; checks the fields
 * (INVALID_OPTION), including that the wait ends before the command
 * timeout would cut it.
 */
function resolveDurability(
  options: QueueOptions,
  override: Durability | false | undefined,
): ResolvedDurability | undefined {
  if (override === false) return undefined;
  const base = options.durability;
  if (base === undefined && override === undefined) return undefined;
  const parsed = durabilitySchema.safeParse({ ...base, ...override });
  if (!parsed.success) {
    throw new ValidationError(
      'durability options',
      ValidationError.fromZod('durability', parsed.error.issues).issues,
      ErrorCode.INVALID_OPTION,
    );
  }
  const d = parsed.data;
  const resolved = {
    aof: d.aof ?? false,
    replicas: d.replicas ?? 0,
    timeoutMs: d.timeoutMs ?? defaults.durabilityTimeoutMs,
  };
  const commandTimeoutMs =
    options.commandTimeoutMs ?? defaults.commandTimeoutMs;
  if (resolved.timeoutMs >= commandTimeoutMs) {
    throw new ValidationError(
      'durability options',
      [
        {
          path: 'timeoutMs',
          message: `must be below commandTimeoutMs (${commandTimeoutMs}), or the command timeout fires first`,
          code: 'too_big',
        },
      ],
      ErrorCode.INVALID_OPTION,
    );
  }
  return resolved;
}

const enqueueSha = createHash('sha1')
  .update(scripts.get('enqueue')!.lua)
  .digest('hex');

/** The strongest wait any job of a chunk asks for (undefined: none). */
function strongest(
  jobs: readonly PreparedJob[],
): ResolvedDurability | undefined {
  let out: ResolvedDurability | undefined;
  for (const j of jobs) {
    const d = j.durability;
    if (d === undefined) continue;
    out = {
      aof: (out?.aof ?? false) || d.aof,
      replicas: Math.max(out?.replicas ?? 0, d.replicas),
      timeoutMs: Math.max(out?.timeoutMs ?? 0, d.timeoutMs),
    };
  }
  return out;
}

/**
 * Checks the durability wait's reply, the last entry of `reply`. The jobs
 * are stored whatever it says; a shortfall becomes a DurabilityError that
 * says so and lists their ids.
 */
function checkDurability(
  reply: readonly unknown[],
  ids: readonly string[],
  d: ResolvedDurability,
): void {
  const waited = reply[reply.length - 1];
  const stored = `the job${ids.length === 1 ? '' : 's'} ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''} WERE stored and will run`;
  if (waited instanceof Error) {
    const mapped = mapRedisError(waited);
    if (mapped instanceof JobwireError) {
      // The connection failed after the script: its outcome is known (the
      // script's reply arrived), the wait's is not.
      throw new DurabilityError(
        ErrorCode.DURABILITY_TIMEOUT,
        `durability wait interrupted (${waited.message}); ${stored}, but persistence is not confirmed`,
        ids,
        undefined,
        { cause: waited },
      );
    }
    const msg = waited.message;
    const missing = /unknown command/i.test(msg)
      ? `this Redis has no ${d.aof ? 'WAITAOF' : 'WAIT'} command (WAITAOF needs Redis 7.2 or later)`
      : /appendonly is disabled/i.test(msg)
        ? 'AOF is off on this Redis (appendonly no), so it cannot confirm an fsync'
        : `Redis refused the durability wait: ${msg}`;
    throw new DurabilityError(
      ErrorCode.DURABILITY_UNAVAILABLE,
      `durability unavailable: ${missing}; ${stored}, but their persistence was not confirmed`,
      ids,
      undefined,
      { cause: waited },
    );
  }
  const [local, replicas] = Array.isArray(waited)
    ? [Number(waited[0]), Number(waited[1])]
    : [0, Number(waited)];
  if ((d.aof && local < 1) || replicas < d.replicas) {
    const wanted = [
      d.aof ? `local AOF fsync ${local}/1` : '',
      d.replicas > 0 || !d.aof ? `replicas ${replicas}/${d.replicas}` : '',
    ]
      .filter((x) => x !== '')
      .join(', ');
    throw new DurabilityError(
      ErrorCode.DURABILITY_TIMEOUT,
      `durability not confirmed within ${d.timeoutMs} ms (${wanted}); ${stored}, but are not confirmed durable`,
      ids,
      { local, replicas },
    );
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
