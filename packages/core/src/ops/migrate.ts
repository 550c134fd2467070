/**
 * `migrate`: rewrites the queued (waiting and delayed) jobs of a type that
 * an older contract version stored into the current version, in place.
 *
 * Node reads each batch, runs the same upcast a worker runs
 * (`upcastPayload`: the old version's `from` schema, the chain, the current
 * schema), and hands the results to migrate-3.lua, which writes each job
 * only if it is still as it was read (compare-and-set). So a job leased,
 * removed or changed meanwhile is skipped, never overwritten; an active job
 * is never written; and a job whose upcast fails is reported and left as
 * it was, to fail visibly when a worker takes it (or to be fixed first).
 *
 * The type's repeat schedules are upgraded too: a schedule's occurrence
 * template (and its spec's data) declared at an older version is upcast the
 * same way and written compare-and-set (migrateRepeat-1.lua), so the
 * occurrences it creates later carry the current version and payload.
 */
import { getDefinition, type AnyJobDefinition } from '../contract/define.ts';
import { assertJsonDepth, assertJsonSafe } from '../contract/json.ts';
import { storedInput } from '../contract/strip.ts';
import { upcastPayload } from '../contract/upcast.ts';
import { jobFingerprint } from '../contract/fingerprint.ts';
import {
  ErrorCode,
  JobwireError,
  PayloadTooLargeError,
  serializeError,
  toJobwireError,
} from '../errors.ts';
import { withRedis } from '../redis/connection.ts';
import { JobField } from '../redis/job-fields.ts';
import { laneName, parseLane, type QueueKeys } from '../redis/keys.ts';
import type { QueueContext } from '../redis/queue-context.ts';
import type { RepeatSpec } from '../contract/options.ts';
import {
  migrateBatch,
  migrateRepeat,
  payloadSha1,
  type MigrateEntry,
} from '../redis/transitions/migrate.ts';
import { defaults } from '../defaults.ts';
import { zsetPages } from './zset-pages.ts';
import {
  storedVersion,
  Tally,
  type MigrateOptions,
  type MigrateReport,
  type VersionCounts,
} from './migrate-report.ts';

/** Failures listed in a report, at most: the count says how many there were. */
const MAX_FAILURES = 100;

/**
 * Payload bytes one script call carries, at most (a single larger payload
 * goes alone): a page of big payloads is written in several atomic batches
 * rather than as one request of hundreds of megabytes.
 */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** `entries` cut into runs of at most MAX_BATCH_BYTES of payload (3 bytes per UTF-16 unit at most). */
function byBytes(entries: MigrateEntry[]): MigrateEntry[][] {
  const out: MigrateEntry[][] = [];
  let cur: MigrateEntry[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (cur.length > 0 && bytes + e.payload.length * 3 > MAX_BATCH_BYTES) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += e.payload.length * 3;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Where queued jobs of the type are read: a wait lane, or `delayed`. */
type Source =
  | { kind: 'waiting'; lane: string; key: string }
  | { kind: 'delayed'; key: string };

function checkOptions(options: MigrateOptions): {
  batchSize: number;
  sample: number;
} {
  const batchSize = options.batchSize ?? defaults.migrateBatchSize;
  const sample = options.sample ?? defaults.migrateSample;
  if (!(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= 10_000))
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `migrate(): batchSize must be an integer from 1 to 10000, got ${String(batchSize)}`,
    );
  if (!(Number.isInteger(sample) && sample >= 0))
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `migrate(): sample must be an integer >= 0, got ${String(sample)}`,
    );
  return { batchSize, sample };
}

/** One run of `migrate` over one type in one queue. */
class Migration {
  private readonly k: QueueKeys;
  private readonly fingerprint: string;
  readonly report: MigrateReport;
  private readonly before = new Tally();
  /** A dry run: the jobs it would migrate, by their stored version. */
  private readonly movable = new Tally();

  constructor(
    private readonly ctx: QueueContext,
    private readonly def: AnyJobDefinition,
    name: string,
    queue: string,
    private readonly limits: {
      batchSize: number;
      sample: number;
      maxPayloadBytes: number;
    },
    dryRun: boolean,
  ) {
    this.k = ctx.keys(queue);
    this.fingerprint = jobFingerprint(def);
    this.report = {
      queue,
      name,
      version: def.version,
      dryRun,
      before: [],
      after: [],
      migrated: 0,
      skipped: 0,
      failed: 0,
      failures: [],
      sample: [],
      repeats: { migrated: 0, skipped: 0, failed: 0, failures: [] },
    };
  }

  private redis<TResult>(fn: () => Promise<TResult>): Promise<TResult> {
    return withRedis(this.ctx.client, this.ctx.connectTimeoutMs, fn);
  }

  /**
   * The lanes jobs of the type wait in: its own name (version 1, and jobs
   * from producers that predate lanes, of any version), then each
   * `<type>@<version>` lane, by version.
   */
  private async lanes(): Promise<{ lane: string; version: number }[]> {
    const members = await this.redis(() =>
      this.ctx.client.smembers(this.k.lanes),
    );
    return members
      .map(parseLane)
      .filter(
        (l) => l !== undefined && l.type === this.report.name && l.version >= 2,
      )
      .map((l) => ({
        lane: laneName(l!.type, l!.version),
        version: l!.version,
      }))
      .sort((a, b) => a.version - b.version);
  }

  async run(): Promise<MigrateReport> {
    const { name, version } = this.report;
    const lanes = await this.lanes();
    const sources: Source[] = [
      { kind: 'waiting', lane: name, key: this.k.wait(name) },
    ];
    for (const l of lanes) {
      const key = this.k.wait(name, l.version);
      // A lane holds one version only: a current or newer one is counted.
      if (l.version < version)
        sources.push({ kind: 'waiting', lane: l.lane, key });
      else
        this.before.add(
          l.version,
          'waiting',
          await this.redis(() => this.ctx.client.zcard(key)),
        );
    }
    sources.push({ kind: 'delayed', key: this.k.delayed });
    for (const source of sources) await this.migrateSource(source);
    await this.migrateRepeats();
    this.report.before = this.before.rows();
    this.report.after = this.report.dryRun
      ? this.projected()
      : await this.recount(lanes);
    return this.report;
  }

  private async migrateSource(source: Source): Promise<void> {
    for await (const ids of zsetPages(
      this.ctx,
      source.key,
      this.limits.batchSize,
    )) {
      const entries = await this.readPage(source, ids);
      if (entries.length === 0) continue;
      if (this.report.dryRun) {
        this.report.migrated += entries.length;
        continue;
      }
      for (const batch of byBytes(entries)) {
        const done = await this.redis(() =>
          migrateBatch(
            this.ctx.client,
            this.k,
            this.ctx.maxEvents,
            this.report.name,
            this.report.version,
            this.fingerprint,
            source.kind === 'delayed'
              ? { delayed: true }
              : { lane: source.lane },
            batch,
          ),
        );
        this.report.migrated += done.migrated;
        this.report.skipped += done.skipped;
      }
    }
  }

  /**
   * Reads one page of ids: counts the type's jobs by version, and returns
   * the older ones, upcast, as the batch to write.
   */
  private async readPage(
    source: Source,
    ids: string[],
  ): Promise<MigrateEntry[]> {
    const { client } = this.ctx;
    const F = JobField;
    const heads = await this.redis(() =>
      Promise.all(
        ids.map((id) =>
          client.hmget(this.k.job(id), F.name, F.state, F.version),
        ),
      ),
    );
    const state = source.kind;
    const letter = state === 'waiting' ? 'w' : 'd';
    const old: { id: string; version: number }[] = [];
    heads.forEach(([n, s, v], i) => {
      // Another type's delayed job, or one that moved on since the page was read.
      if (n !== this.report.name || s !== letter) return;
      const version = storedVersion(v ?? null);
      this.before.add(version, state);
      if (version < this.report.version) old.push({ id: ids[i]!, version });
    });
    if (old.length === 0) return [];
    const payloads = await this.redis(() =>
      Promise.all(
        old.map(
          async ({ id }) =>
            (await client.getBuffer(this.k.payload(id))) ??
            (await client.hgetBuffer(this.k.job(id), F.legacyData)),
        ),
      ),
    );
    const entries: MigrateEntry[] = [];
    for (const [i, { id, version }] of old.entries()) {
      try {
        const bytes = payloads[i];
        const entry = await this.upcast(
          `payload of ${this.report.name} job ${id}`,
          id,
          version,
          bytes ?? null,
        );
        entries.push(entry.entry);
        this.movable.add(version, state);
        if (
          this.report.dryRun &&
          this.report.sample.length < this.limits.sample
        )
          this.report.sample.push({
            id,
            state,
            fromVersion: version,
            before: entry.before,
            after: JSON.parse(entry.entry.payload) as unknown,
          });
      } catch (err) {
        this.report.failed++;
        if (this.report.failures.length < MAX_FAILURES)
          this.report.failures.push({
            id,
            state,
            version,
            error: serializeError(toJobwireError(err)),
          });
      }
    }
    return entries;
  }

  /**
   * Upgrades the type's repeat schedules whose template an older version
   * declared: each template's payload is upcast like a queued job's, and
   * the template (payload, version, fingerprint) and the spec's data are
   * written compare-and-set. A template that fails is reported, untouched.
   */
  private async migrateRepeats(): Promise<void> {
    const { name, version: current } = this.report;
    const counts = this.report.repeats;
    const all = await this.redis(() => this.ctx.client.hgetall(this.k.repeats));
    for (const [field, specJson] of Object.entries(all)) {
      // `<key>:job`, `:next`, `:slots` are the schedule's internals. An
      // ended schedule (`<key>:ended`) is migrated too: the same spec
      // declared again must find it, to leave it ended.
      const ended = field.endsWith(':ended');
      const key = ended ? field.slice(0, -':ended'.length) : field;
      if (key.includes(':') || (ended && all[key] !== undefined)) continue;
      const templateJson = all[`${key}:job`];
      // No template yet (an older producer's schedule): a worker's repair pass builds it at the current version.
      if (templateJson === undefined) continue;
      let version = 1;
      try {
        const spec = JSON.parse(specJson) as RepeatSpec;
        const template = JSON.parse(templateJson) as Record<string, unknown>;
        if (spec.name !== name || template.n !== name) continue;
        version = storedVersion(template.v == null ? null : String(template.v));
        if (version >= current) continue;
        const { entry } = await this.upcast(
          `payload of ${name} repeat ${key}`,
          key,
          version,
          typeof template.d === 'string'
            ? Buffer.from(template.d, 'utf8')
            : null,
        );
        if (this.report.dryRun) {
          counts.migrated++;
          continue;
        }
        const written = await this.redis(() =>
          migrateRepeat(this.ctx.client, this.k, {
            key: field,
            specJson,
            templateJson,
            newSpecJson: JSON.stringify({ ...spec, data: entry.payload }),
            newTemplateJson: JSON.stringify({
              ...template,
              d: entry.payload,
              v: current,
              fp: this.fingerprint,
            }),
          }),
        );
        if (written) counts.migrated++;
        else counts.skipped++;
      } catch (err) {
        counts.failed++;
        if (counts.failures.length < MAX_FAILURES)
          counts.failures.push({
            key,
            version,
            error: serializeError(toJobwireError(err)),
          });
      }
    }
  }

  /** One payload in the current version's stored form, as a producer writes it. */
  private async upcast(
    subject: string,
    id: string,
    version: number,
    bytes: Buffer | null,
  ): Promise<{ entry: MigrateEntry; before: unknown }> {
    const { version: current } = this.report;
    let before: unknown;
    try {
      if (bytes === null) throw new Error('no payload stored');
      before = JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (err) {
      throw new JobwireError(
        ErrorCode.CORRUPT_JOB,
        `${subject} (version ${version}) is missing or not JSON; it was not written by a jobwire producer`,
        { cause: err },
      );
    }
    const { input, data } = await upcastPayload(
      this.def,
      version,
      before,
      subject,
    );
    const what = `${subject} (upcast from version ${version} to ${current})`;
    assertJsonDepth(input, what);
    assertJsonSafe(input, what);
    const payload = JSON.stringify(storedInput(this.def.payload, input, data));
    const size = Buffer.byteLength(payload, 'utf8');
    if (size > this.limits.maxPayloadBytes)
      throw new PayloadTooLargeError(this.limits.maxPayloadBytes, size, what);
    return {
      entry: { id, version, payloadSha1: payloadSha1(bytes!), payload },
      before,
    };
  }

  /** A dry run's `after`: `before` with the jobs it would migrate moved to the current version. */
  private projected(): VersionCounts[] {
    const after = new Tally();
    for (const c of this.report.before) {
      after.add(c.version, 'waiting', c.waiting);
      after.add(c.version, 'delayed', c.delayed);
    }
    for (const c of this.movable.rows()) {
      after.add(c.version, 'waiting', -c.waiting);
      after.add(c.version, 'delayed', -c.delayed);
      after.add(this.report.version, 'waiting', c.waiting);
      after.add(this.report.version, 'delayed', c.delayed);
    }
    return after.rows();
  }

  /** Counts the queued jobs of the type again, by version. */
  private async recount(
    lanesBefore: { lane: string; version: number }[],
  ): Promise<VersionCounts[]> {
    const after = new Tally();
    const lanes = new Map(lanesBefore.map((l) => [l.lane, l]));
    for (const l of await this.lanes()) lanes.set(l.lane, l);
    for (const l of lanes.values())
      after.add(
        l.version,
        'waiting',
        await this.redis(() =>
          this.ctx.client.zcard(this.k.wait(this.report.name, l.version)),
        ),
      );
    const F = JobField;
    for (const [state, letter, key] of [
      ['waiting', 'w', this.k.wait(this.report.name)],
      ['delayed', 'd', this.k.delayed],
    ] as const) {
      for await (const ids of zsetPages(this.ctx, key, this.limits.batchSize)) {
        const heads = await this.redis(() =>
          Promise.all(
            ids.map((id) =>
              this.ctx.client.hmget(this.k.job(id), F.name, F.state, F.version),
            ),
          ),
        );
        for (const [n, s, v] of heads)
          if (n === this.report.name && s === letter)
            after.add(storedVersion(v ?? null), state);
      }
    }
    return after.rows();
  }
}

/**
 * Rewrites the queued jobs of type `name` stored by older contract
 * versions into its current version: see {@link MigrateReport}. Failures
 * are reported, never thrown; bad options throw INVALID_OPTION, an unknown
 * type UNKNOWN_JOB_TYPE.
 */
export function migrateJobs(
  ctx: QueueContext,
  name: string,
  options: MigrateOptions,
  maxPayloadBytes: number,
): Promise<MigrateReport> {
  const def = getDefinition(ctx.registry, name);
  const limits = { ...checkOptions(options), maxPayloadBytes };
  const queue = options.queue ?? def.queue;
  return new Migration(
    ctx,
    def,
    name,
    queue,
    limits,
    options.dryRun === true,
  ).run();
}
