import {
  errorFromScriptCode,
  ErrorCode,
  JobwireError,
  type SerializedError,
} from '../errors.ts';
import { withRedis } from '../redis/connection.ts';
import type { QueueContext } from '../redis/queue-context.ts';
import type { StoredOptions } from '../contract/options.ts';
import { runScript, type ScriptName } from '../redis/scripts/index.ts';
import { stateFromLetter, stateLetter, type JobState } from '../types.ts';

/** Counts per state. @public */
export type StateCounts = Record<JobState, number>;

/** Counts per state, overall and per job type. @public */
export interface QueueCounts extends StateCounts {
  byType: Record<string, StateCounts>;
}

/** Everything stored about one job. @public */
export interface JobInfo {
  id: string;
  name: string;
  queue: string;
  state: JobState;
  /** The payload as the producer stored it (before transforms). */
  data: unknown;
  priority: number;
  attemptsMade: number;
  attempts: number;
  stalls: number;
  deliveries: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** When a delayed job becomes due, ms since the epoch. */
  dueAt?: number;
  progress?: unknown;
  result?: unknown;
  errors: SerializedError[];
  logs: string[];
  /** The contract version of the producer that stored it. */
  version: number;
  /** The contract fingerprint of the producer that stored it ('' if unknown). */
  fingerprint: string;
}

function emptyCounts(): StateCounts {
  return {
    waiting: 0,
    delayed: 0,
    active: 0,
    completed: 0,
    failed: 0,
    expired: 0,
  };
}

function parseMaybe(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * The maintenance API: counts, listings, one job's details, and the
 * operator's actions (retry, promote, remove, clean, drain, pause).
 */
export class Maintenance {
  constructor(protected readonly ctx: QueueContext) {}

  private queuesOf(queue: string | undefined): readonly string[] {
    return queue === undefined ? this.ctx.registry.queues : [queue];
  }

  private redis<TResult>(fn: () => Promise<TResult>): Promise<TResult> {
    return withRedis(this.ctx.client, this.ctx.connectTimeoutMs, fn);
  }

  /** Counts jobs per state, overall and per job type. */
  async getCounts(options: { queue?: string } = {}): Promise<QueueCounts> {
    const total: QueueCounts = { ...emptyCounts(), byType: {} };
    for (const queue of this.queuesOf(options.queue)) {
      const raw = await this.redis(() =>
        this.ctx.client.hgetall(this.ctx.keys(queue).counts),
      );
      for (const [field, value] of Object.entries(raw)) {
        const sep = field.lastIndexOf('|');
        const state = stateFromLetter[field.slice(sep + 1)];
        if (state === undefined) continue;
        const type = field.slice(0, sep);
        const n = Number(value);
        total[state] += n;
        (total.byType[type] ??= emptyCounts())[state] += n;
      }
    }
    return total;
  }

  /**
   * The queue holding job `id`: the one given, or the only queue of the
   * registry where it exists. Ids are unique per queue, so the same id in
   * two queues is refused rather than guessed.
   */
  private async locate(
    id: string,
    queue: string | undefined,
  ): Promise<string | undefined> {
    if (queue !== undefined) return queue;
    const queues = this.ctx.registry.queues;
    if (queues.length === 1) return queues[0];
    const found: string[] = [];
    for (const q of queues) {
      const exists = await this.redis(() =>
        this.ctx.client.exists(this.ctx.keys(q).job(id)),
      );
      if (exists === 1) found.push(q);
    }
    if (found.length > 1) {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `job id ${id} exists in queues ${found.join(', ')}; pass { queue } to say which`,
      );
    }
    return found[0];
  }

  /** Reads one job; without `queue`, finds it among the registry's queues. */
  async getJob(
    id: string,
    options: { queue?: string } = {},
  ): Promise<JobInfo | undefined> {
    const queue = await this.locate(id, options.queue);
    if (queue === undefined) return undefined;
    const k = this.ctx.keys(queue);
    const [hash, logs] = await this.redis(async () => {
      const r = await this.ctx.client
        .multi()
        .hgetall(k.job(id))
        .lrange(k.log(id), 0, -1)
        .zscore(k.delayed, id)
        .get(k.payload(id))
        .exec();
      const h = (r?.[0]?.[1] ?? {}) as Record<string, string>;
      const payload = r?.[3]?.[1] as string | null | undefined;
      if (typeof payload === 'string') h.d = payload;
      const due = r?.[2]?.[1] as string | null;
      if (due !== null && due !== undefined) h.__due = due;
      return [h, (r?.[1]?.[1] ?? []) as string[]] as const;
    });
    return hash.n === undefined ? undefined : toJobInfo(queue, id, hash, logs);
  }

  /**
   * Lists jobs in one state, oldest first, with paging. Waiting jobs come in
   * the order workers will take them. `name` filters by job type.
   */
  async getJobs(
    state: JobState,
    options: {
      queue?: string;
      name?: string;
      offset?: number;
      limit?: number;
    } = {},
  ): Promise<JobInfo[]> {
    const offset = Math.max(0, options.offset ?? 0);
    const limit = Math.min(Math.max(1, options.limit ?? 50), 1000);
    const out: JobInfo[] = [];
    const queues = this.queuesOf(options.queue);
    // One offset across queues: whole queues are skipped by their counts.
    let skip = offset;
    for (const queue of queues) {
      if (queues.length > 1) {
        const counts = await this.getCounts({ queue });
        const here = options.name
          ? (counts.byType[options.name]?.[state] ?? 0)
          : counts[state];
        if (skip >= here) {
          skip -= here;
          continue;
        }
      }
      const k = this.ctx.keys(queue);
      let ids: string[];
      if (state === 'waiting') {
        const types = options.name
          ? [options.name]
          : await this.redis(() => this.ctx.client.smembers(k.types));
        const merged: [number, string][] = [];
        for (const t of types) {
          const r = await this.redis(() =>
            this.ctx.client.zrange(
              k.wait(t),
              0,
              String(skip + limit - 1),
              'WITHSCORES',
            ),
          );
          for (let i = 0; i < r.length; i += 2)
            merged.push([Number(r[i + 1]), r[i]!]);
        }
        merged.sort((a, b) => a[0] - b[0]);
        ids = merged.slice(skip, skip + limit).map(([, id]) => id);
      } else {
        const key = k[state];
        ids = [];
        let pos = 0;
        let skipped = 0;
        // A type filter scans in pages; without one, ranges are exact.
        while (ids.length < limit) {
          const page = await this.redis(() =>
            this.ctx.client.zrange(
              key,
              options.name ? pos : skip,
              String(options.name ? pos + 499 : skip + limit - 1),
            ),
          );
          if (page.length === 0) break;
          if (!options.name) {
            ids = page;
            break;
          }
          const names = await this.redis(() =>
            Promise.all(page.map((id) => this.ctx.client.hget(k.job(id), 'n'))),
          );
          page.forEach((id, i) => {
            if (names[i] !== options.name || ids.length >= limit) return;
            if (skipped < skip) skipped++;
            else ids.push(id);
          });
          pos += page.length;
        }
      }
      skip = 0;
      for (const id of ids) {
        if (out.length >= limit) break;
        const info = await this.getJob(id, { queue });
        if (info) out.push(info);
      }
      if (out.length >= limit) break;
    }
    return out.slice(0, limit);
  }

  private async jobAction(
    script: ScriptName,
    id: string,
    queue: string | undefined,
    keys: (q: string) => string[],
    expected: string,
  ): Promise<void> {
    const q = await this.locate(id, queue);
    if (q === undefined) throw errorFromScriptCode(-1, { script, jobId: id });
    const k = this.ctx.keys(q);
    const code = Number(
      await this.redis(() =>
        runScript(this.ctx.client, script, keys(q), [
          k.base,
          this.ctx.maxEvents,
          id,
        ]),
      ),
    );
    if (code !== 1)
      throw errorFromScriptCode(code, { script, jobId: id, expected });
  }

  /** Sends a failed or expired job back to waiting with fresh attempts. */
  retry(id: string, options: { queue?: string } = {}): Promise<void> {
    return this.jobAction(
      'retryJob',
      id,
      options.queue,
      (q) => {
        const k = this.ctx.keys(q);
        return [k.failed, k.expired, k.counts, k.events, k.id];
      },
      'failed or expired',
    );
  }

  /** Makes a delayed job runnable now. */
  promote(id: string, options: { queue?: string } = {}): Promise<void> {
    return this.jobAction(
      'promote',
      id,
      options.queue,
      (q) => {
        const k = this.ctx.keys(q);
        return [k.delayed, k.counts, k.events, k.id];
      },
      'delayed',
    );
  }

  /** Removes a job that is not active, with its logs. */
  remove(id: string, options: { queue?: string } = {}): Promise<void> {
    return this.jobAction(
      'removeJob',
      id,
      options.queue,
      (q) => {
        const k = this.ctx.keys(q);
        return [
          k.delayed,
          k.completed,
          k.failed,
          k.expired,
          k.counts,
          k.events,
        ];
      },
      'waiting, delayed or finished (active jobs cannot be removed)',
    );
  }

  /**
   * Removes up to `limit` completed, failed or expired jobs that finished
   * more than `olderThanMs` ago. Returns their ids.
   */
  async clean(
    state: 'completed' | 'failed' | 'expired',
    olderThanMs: number,
    limit = 1000,
    options: { queue?: string } = {},
  ): Promise<string[]> {
    if (!['completed', 'failed', 'expired'].includes(state)) {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `clean(): state must be completed, failed or expired, got ${String(state)}`,
      );
    }
    if (
      !(Number.isFinite(olderThanMs) && olderThanMs >= 0) ||
      !(Number.isInteger(limit) && limit > 0)
    ) {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        'clean(): olderThanMs must be >= 0 and limit a positive integer',
      );
    }
    const removed: string[] = [];
    for (const q of this.queuesOf(options.queue)) {
      const k = this.ctx.keys(q);
      const ids = (await this.redis(() =>
        runScript(
          this.ctx.client,
          'cleanJobs',
          [k[state], k.counts],
          [
            k.base,
            stateLetter[state],
            Math.round(olderThanMs),
            limit - removed.length,
          ],
        ),
      )) as string[];
      removed.push(...ids);
      if (removed.length >= limit) break;
    }
    return removed;
  }

  /** Removes every waiting job (and delayed ones with `delayed: true`). */
  async drain(
    options: { queue?: string; delayed?: boolean } = {},
  ): Promise<number> {
    let total = 0;
    for (const q of this.queuesOf(options.queue)) {
      const k = this.ctx.keys(q);
      for (;;) {
        const n = Number(
          await this.redis(() =>
            runScript(
              this.ctx.client,
              'drain',
              [k.delayed, k.counts, k.types],
              [k.base, 1000, options.delayed ? '1' : '0'],
            ),
          ),
        );
        total += n;
        if (n === 0) break;
      }
    }
    return total;
  }

  /** Stops every worker from taking jobs of the queue (all queues if omitted). */
  pause(options: { queue?: string } = {}): Promise<void> {
    return this.setPaused(options.queue, true);
  }

  /** Lets workers take jobs again. */
  resume(options: { queue?: string } = {}): Promise<void> {
    return this.setPaused(options.queue, false);
  }

  /** Whether a queue is paused. */
  async isPaused(queue: string): Promise<boolean> {
    const v = await this.redis(() =>
      this.ctx.client.hget(this.ctx.keys(queue).meta, 'paused'),
    );
    return v === '1';
  }

  private async setPaused(
    queue: string | undefined,
    paused: boolean,
  ): Promise<void> {
    for (const q of this.queuesOf(queue)) {
      const k = this.ctx.keys(q);
      await this.redis(() =>
        runScript(
          this.ctx.client,
          'setPaused',
          [k.meta, k.events, k.types],
          [k.base, this.ctx.maxEvents, paused ? '1' : '0'],
        ),
      );
    }
  }
}

function toJobInfo(
  queue: string,
  id: string,
  h: Record<string, string>,
  logs: string[],
): JobInfo {
  const opts = parseMaybe(h.o) as Partial<StoredOptions> | undefined;
  const info: JobInfo = {
    id,
    name: h.n ?? '',
    queue,
    state: stateFromLetter[h.s ?? ''] ?? 'waiting',
    data: parseMaybe(h.d),
    priority: Number(h.p ?? 0),
    attemptsMade: Number(h.a ?? 0),
    attempts: opts?.at ?? 1,
    stalls: Number(h.sc ?? 0),
    deliveries: Number(h.dl ?? 0),
    createdAt: Number(h.t ?? 0),
    errors: (parseMaybe(h.e) as SerializedError[] | undefined) ?? [],
    logs,
    version: Number(h.v ?? 1),
    fingerprint: h.fp ?? '',
  };
  if (h.ps !== undefined) info.startedAt = Number(h.ps);
  if (h.f !== undefined) info.finishedAt = Number(h.f);
  if (h.__due !== undefined) info.dueAt = Number(h.__due);
  if (h.pg !== undefined) info.progress = parseMaybe(h.pg);
  if (h.r !== undefined) info.result = parseMaybe(h.r);
  return info;
}
