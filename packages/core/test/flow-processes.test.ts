/**
 * Issue 16: flow control across several worker PROCESSES on one real
 * redis-server (processes/flow-worker.ts). Limits must hold in Redis, not
 * in one process's memory, so every test runs its workers as separate
 * processes and measures from their ledgers (Date.now() at handler start
 * and end, one machine clock) or from Redis itself (lease times `ps`, the
 * per-key slot zsets `ga:`). Each test prints its figures with console.log.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CancelledError,
  createQueue,
  type JobHandle,
  type Queue,
} from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import {
  maxInWindow,
  maxOverlap,
  maxOverlapPerKey,
  type Run,
} from './helpers/flow-analysis.ts';
import {
  startRedis,
  uniqueQueue,
  useRedis,
  type RedisServer,
} from './helpers/redis-server.ts';
import { PROCESS_START_MS, sleep, waitFor } from './helpers/wait.ts';
import {
  flowRegistry,
  readFlowLedger,
  spawnFlowWorker,
  type FlowLedgerEntry,
  type FlowRuleSpec,
  type FlowWorkerConfig,
  type FlowWorkerProcess,
} from './processes/flow-worker.ts';

const redis = useRedis();

type FlowJobs = ReturnType<typeof flowRegistry>['jobs'];
type FlowQueue = Queue<FlowJobs>;

const children: FlowWorkerProcess[] = [];
const closers: (() => Promise<unknown>)[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
  for (const close of closers.splice(0).reverse()) await close();
  for (const d of dirs.splice(0))
    fs.rmSync(d, { recursive: true, force: true });
});

/** A producer for `rules` in `queue` on `url`, closed after the test. */
function producer(url: string, queue: string, rules: FlowRuleSpec): FlowQueue {
  const q = createQueue(flowRegistry(queue, rules), { connection: url });
  closers.push(() => q.close());
  return q;
}

function raw(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null });
  closers.push(async () => r.disconnect());
  return r;
}

interface Pool {
  readonly procs: FlowWorkerProcess[];
  /** Every process's ledger, merged. */
  ledger(): FlowLedgerEntry[];
  /** Starts one more process (its own ledger file). */
  add(extra?: Partial<FlowWorkerConfig>): FlowWorkerProcess;
  ready(): Promise<void>;
}

/**
 * `n` worker processes serving `rules`; each writes its own ledger (one
 * file per process: no interleaved appends).
 */
function workers(
  n: number,
  config: Omit<FlowWorkerConfig, 'ledger' | 'url'> & { url?: string },
): Pool {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-flow-'));
  dirs.push(dir);
  const files: string[] = [];
  const procs: FlowWorkerProcess[] = [];
  const add = (extra: Partial<FlowWorkerConfig> = {}): FlowWorkerProcess => {
    const ledger = path.join(dir, `w${files.length}.jsonl`);
    files.push(ledger);
    const p = spawnFlowWorker({
      url: redis.url,
      leaseMs: 1000,
      stallCheckIntervalMs: 500,
      blockTimeoutMs: 1000,
      ...config,
      ...extra,
      ledger,
    });
    children.push(p);
    procs.push(p);
    return p;
  };
  for (let i = 0; i < n; i++) add();
  return {
    procs,
    add,
    ledger: () => files.flatMap((f) => readFlowLedger(f)),
    ready: async () => {
      await Promise.all(procs.map((p) => p.ready));
    },
  };
}

/** Handler runs (start paired with end in the same process). */
function runsOf(ledger: readonly FlowLedgerEntry[]): Run[] {
  const open = new Map<string, FlowLedgerEntry>();
  const runs: Run[] = [];
  for (const e of ledger) {
    const k = `${e.pid}|${e.id}`;
    if (e.ev === 'start') open.set(k, e);
    if (e.ev === 'end' || e.ev === 'abort') {
      const s = open.get(k);
      if (s === undefined) continue;
      open.delete(k);
      runs.push({ key: s.key!, start: s.t, end: e.t });
    }
  }
  return runs;
}

const starts = (ledger: readonly FlowLedgerEntry[]) =>
  ledger.filter((e) => e.ev === 'start');

/** The lease times (`ps`, Redis clock) of `ids`, by id, where stored. */
async function leaseTimes(
  r: Redis,
  queue: string,
  ids: readonly string[],
): Promise<Map<string, number>> {
  const keys = queueKeys('jobwire', queue);
  const out = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    const p = r.pipeline();
    for (const id of chunk) p.hget(keys.job(id), 'ps');
    const got = (await p.exec()) ?? [];
    got.forEach(([, v], k) => {
      if (typeof v === 'string') out.set(chunk[k]!, Number(v));
    });
  }
  return out;
}

/** The p-th percentile (nearest rank) of `xs`. */
function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

/** `ga:flow:<key>`: the jobs holding a slot of `key`. */
function slotKey(queue: string, key: string): string {
  return `${queueKeys('jobwire', queue).base}ga:flow:${key}`;
}

/**
 * Polls the slot zsets of `keys` every `everyMs` until stopped: the most
 * members any one of them had, and how many polls ran.
 */
function sampleSlots(
  r: Redis,
  queue: string,
  keys: readonly string[],
  everyMs = 10,
): { stop(): Promise<{ max: number; samples: number }> } {
  let running = true;
  let max = 0;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const p = r.pipeline();
      for (const k of keys) p.zcard(slotKey(queue, k));
      for (const [, v] of (await p.exec()) ?? []) {
        max = Math.max(max, Number(v));
      }
      samples++;
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { max, samples };
    },
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

// Process start-ups on a loaded two-core machine take many seconds each:
// the deadlines are for hangs; the assertions are about what happened.
describe('flow control across worker processes', { timeout: 180_000 }, () => {
  it('rate limit 100/s over 3 processes: 30 s of starts within ±5% of 100/s, no 1000 ms window above 100', async () => {
    const queue = uniqueQueue('rate');
    const rules: FlowRuleSpec = { rateLimit: { limit: 100, perMs: 1000 } };
    const pool = workers(3, { queue, rules, concurrency: 10 });
    await pool.ready();
    const q = producer(redis.url, queue, rules);
    // Enough for 36 s at the limit: the backlog never runs dry.
    const handles = await q.enqueueBulk(
      Array.from({ length: 3600 }, (_, n) => ({
        name: 'flow' as const,
        payload: { n, key: 'all', ms: 5 },
      })),
    );

    let t0 = 0;
    await waitFor(
      () => {
        const s = starts(pool.ledger());
        if (s.length === 0) return false;
        t0 = Math.min(...s.map((e) => e.t));
        return s.some((e) => e.t >= t0 + 30_000);
      },
      PROCESS_START_MS,
      '30 s of starts',
    );
    const ledger = pool.ledger();
    const startTimes = starts(ledger).map((e) => e.t);
    const inWindow = startTimes.filter((t) => t >= t0 && t < t0 + 30_000);
    const perSec = inWindow.length / 30;
    const leases = await leaseTimes(
      raw(redis.url),
      queue,
      handles.map((h) => h.id),
    );
    const byPid = new Map<number, number>();
    const lags: number[] = [];
    for (const e of starts(ledger)) {
      byPid.set(e.pid, (byPid.get(e.pid) ?? 0) + 1);
      const leased = leases.get(e.id!);
      if (leased !== undefined) lags.push(e.t - leased);
    }
    const figures = {
      startsPerSec: perSec,
      errorPct: ((perSec - 100) / 100) * 100,
      maxLeasesIn1000ms: maxInWindow([...leases.values()], 1000),
      maxHandlerStartsIn1000ms: maxInWindow(startTimes, 1000),
      leaseToStartMs: {
        p50: pct(lags, 50),
        p99: pct(lags, 99),
        max: pct(lags, 100),
      },
      startsPerProcess: [...byPid.values()],
    };
    console.log('flow rate accuracy', JSON.stringify(figures));

    expect(perSec).toBeGreaterThanOrEqual(95);
    expect(perSec).toBeLessThanOrEqual(105);
    // The limit itself: a start is a lease (docs/rate-limits.md), timed
    // on the clock that enforces it (Redis).
    expect(figures.maxLeasesIn1000ms).toBeLessThanOrEqual(100);
    // What the partner sees: handler starts follow their leases by the
    // process's scheduling delay (leaseToStartMs). Leases are paced once a
    // window has filled, and rate-limited types are not prefetched, so
    // that delay adds only a few starts to a window, not a second burst
    // (130 per 1000 ms before both; 101 to 104 measured, more margin here
    // for a loaded machine's scheduling delay).
    expect(figures.maxHandlerStartsIn1000ms).toBeLessThanOrEqual(110);
    // Every started job's lease time was read: the check is not vacuous.
    expect(leases.size).toBeGreaterThanOrEqual(startTimes.length);
    // All three processes took part: the limit is shared, not per process.
    expect(byPid.size).toBe(3);
    for (const n of byPid.values()) expect(n).toBeGreaterThan(300);
  });

  it('keyed concurrency 3 over 3 processes × 10 slots: never more than 3 of one tenant active', async () => {
    const queue = uniqueQueue('conc');
    const rules: FlowRuleSpec = { concurrency: { limit: 3 } };
    const tenants = Array.from({ length: 8 }, (_, i) => `tenant${i}`);
    const pool = workers(3, { queue, rules, concurrency: 10 });
    await pool.ready();
    const q = producer(redis.url, queue, rules);
    const r = raw(redis.url);
    const sampler = sampleSlots(r, queue, tenants);
    const perTenant = 40;
    await q.enqueueBulk(
      Array.from({ length: tenants.length * perTenant }, (_, n) => ({
        name: 'flow' as const,
        payload: {
          n,
          key: tenants[n % tenants.length]!,
          ms: 20 + ((n * 37) % 60),
        },
      })),
    );
    await waitFor(
      () =>
        pool.ledger().filter((e) => e.ev === 'completed').length ===
        tenants.length * perTenant,
      60_000,
      'every job to complete',
    );
    const polled = await sampler.stop();
    const runs = runsOf(pool.ledger());
    const perKey = maxOverlapPerKey(runs);
    const figures = {
      maxActivePerTenantFromLedger: Math.max(...perKey.values()),
      maxActivePerTenantPolled: polled.max,
      polls: polled.samples,
      maxActiveOverall: maxOverlap(runs),
    };
    console.log('flow keyed concurrency', JSON.stringify(figures));

    expect(runs).toHaveLength(tenants.length * perTenant);
    for (const [, n] of perKey) expect(n).toBeLessThanOrEqual(3);
    expect(polled.max).toBeLessThanOrEqual(3);
    expect(polled.samples).toBeGreaterThan(20);
    // The limit was reached (the test is not vacuous) and tenants ran side
    // by side (it is a per-key limit, not a global one).
    expect(figures.maxActivePerTenantFromLedger).toBe(3);
    expect(figures.maxActiveOverall).toBeGreaterThan(6);
    // No slot is left held.
    for (const t of tenants) expect(await r.zcard(slotKey(queue, t))).toBe(0);
  });

  it('per-key rate limit 10/s over 3 processes: each key within its window, keys side by side', async () => {
    const queue = uniqueQueue('keyrate');
    const rules: FlowRuleSpec = {
      rateLimit: { limit: 10, perMs: 1000, keyed: true },
    };
    const keys = ['k0', 'k1', 'k2'];
    const pool = workers(3, { queue, rules, concurrency: 5 });
    await pool.ready();
    const q = producer(redis.url, queue, rules);
    const PER_KEY = 35;
    const hs = await q.enqueueBulk(
      Array.from({ length: keys.length * PER_KEY }, (_, n) => ({
        name: 'flow' as const,
        payload: { n, key: keys[n % keys.length]!, ms: 5 },
      })),
    );
    for (const h of hs) await h.finished({ timeoutMs: 30_000 });
    const leases = await leaseTimes(
      raw(redis.url),
      queue,
      hs.map((h) => h.id),
    );
    const byKey = new Map<string, number[]>();
    hs.forEach((h, n) => {
      const k = keys[n % keys.length]!;
      byKey.set(k, [...(byKey.get(k) ?? []), leases.get(h.id)!]);
    });
    const perKey = [...byKey.values()].map((ts) => ({
      maxIn1000ms: maxInWindow(ts, 1000),
      // 35 starts at 10 per second: the first 10 at once, then 10 a second.
      spanMs: Math.max(...ts) - Math.min(...ts),
    }));
    const all = maxInWindow([...leases.values()], 1000);
    console.log(
      'flow per-key rate',
      JSON.stringify({ perKey, maxAllKeysIn1000ms: all }),
    );
    for (const k of perKey) {
      expect(k.maxIn1000ms).toBeLessThanOrEqual(10);
      expect(k.maxIn1000ms).toBeGreaterThanOrEqual(9);
      // 35 starts need at least three full windows after the first.
      expect(k.spanMs).toBeGreaterThanOrEqual(3000);
    }
    // The keys did not share one limit.
    expect(all).toBeGreaterThan(20);
  });

  it('fairness: nine keys of 10 jobs finish while a key with 10,000 waiting starts few', async () => {
    // Per-key limit 2 and 6 worker slots: the big key could fill a third
    // of the slots if keys did not take turns. Round robin gives each key
    // one lease per turn of the ring, so while the nine small keys start
    // their 90 jobs the big key gets about one turn in ten: ~10 starts,
    // plus its first two. Bound: fewer than 30 big-key starts before the
    // last small job ends (FIFO with only the per-key limit gives ~45, a
    // plain FIFO all 10,000 first), and within 15 s (a FIFO queue would
    // take 10,000 / 40 per s = 250 s).
    const queue = uniqueQueue('fair');
    const rules: FlowRuleSpec = { concurrency: { limit: 2 } };
    const q = producer(redis.url, queue, rules);
    const JOB_MS = 50;
    const big = await q.enqueueBulk(
      Array.from({ length: 10_000 }, (_, n) => ({
        name: 'flow' as const,
        payload: { n, key: 'big', ms: JOB_MS },
      })),
    );
    const small = await q.enqueueBulk(
      Array.from({ length: 90 }, (_, i) => ({
        name: 'flow' as const,
        payload: { n: 10_000 + i, key: `small${i % 9}`, ms: JOB_MS },
      })),
    );
    expect(big).toHaveLength(10_000);
    const smallIds = new Set(small.map((h) => h.id));
    // Started after the backlog is in place: the order is the worst case.
    const pool = workers(3, { queue, rules, concurrency: 2 });
    await pool.ready();
    await waitFor(
      () =>
        pool.ledger().filter((e) => e.ev === 'end' && smallIds.has(e.id!))
          .length === 90,
      60_000,
      'the nine small keys to finish',
    );
    const ledger = pool.ledger();
    const smallDone = Math.max(
      ...ledger
        .filter((e) => e.ev === 'end' && smallIds.has(e.id!))
        .map((e) => e.t),
    );
    const first = Math.min(...starts(ledger).map((e) => e.t));
    const bigStarts = starts(ledger).filter(
      (e) => e.key === 'big' && e.t < smallDone,
    ).length;
    const figures = {
      smallKeysDoneMs: smallDone - first,
      bigStartsBeforeSmallDone: bigStarts,
      fairShare: Math.round(90 / 9) + 2,
    };
    console.log('flow fairness', JSON.stringify(figures));

    expect(bigStarts).toBeLessThan(30);
    expect(figures.smallKeysDoneMs).toBeLessThan(15_000);
    // Each small key ran all of its ten, two at a time at most.
    const perKey = maxOverlapPerKey(runsOf(ledger));
    for (const [, n] of perKey) expect(n).toBeLessThanOrEqual(2);
  });

  it('debounce: bursts of 50 per key from 2 producers run once per key per burst, with the last payload (also when raced)', async () => {
    const queue = uniqueQueue('debounce');
    const rules: FlowRuleSpec = { debounce: { periodMs: 1000, keyed: true } };
    const pool = workers(2, { queue, rules, concurrency: 5 });
    await pool.ready();
    const producers = [
      producer(redis.url, queue, rules),
      producer(redis.url, queue, rules),
    ];
    const keys = ['a', 'b', 'c', 'd'];
    const burst = async (b: number) =>
      Promise.all(
        keys.map(async (key) => {
          const hs: JobHandle<{ n: number }>[] = [];
          // Alternating producers, each enqueue after the last: "last" is
          // well defined.
          for (let i = 0; i < 50; i++) {
            hs.push(
              await producers[i % 2]!.enqueue('flow', {
                n: b * 100 + i,
                key,
                ms: 0,
              }),
            );
          }
          return hs;
        }),
      );
    const bursts: JobHandle<{ n: number }>[][][] = [];
    for (const b of [0, 1]) {
      const hs = await burst(b);
      bursts.push(hs);
      for (const k of hs) {
        expect(await k.at(-1)!.finished({ timeoutMs: 20_000 })).toEqual({
          n: b * 100 + 49,
        });
      }
    }
    // A third burst raced: both producers at once, 50 calls in flight per
    // key. "Last" is then the job Redis stored last: the one no other
    // replaced. Each replacement names the job it cancelled, so the
    // handles form one chain: 49 distinct replaced ids, one survivor.
    const raced = await Promise.all(
      keys.map((key) =>
        Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            producers[i % 2]!.enqueue('flow', { n: 200 + i, key, ms: 0 }),
          ),
        ),
      ),
    );
    const survivors: string[] = [];
    for (const [k, hs] of raced.entries()) {
      const replaced = hs.flatMap((h) => (h.replaced ? [h.replaced] : []));
      expect(new Set(replaced).size).toBe(49);
      expect(hs.filter((h) => h.replaced === undefined)).toHaveLength(1);
      const last = hs.findIndex((h) => !replaced.includes(h.id));
      expect(last).toBeGreaterThanOrEqual(0);
      expect(replaced).not.toContain(hs[last]!.id);
      expect(await hs[last]!.finished({ timeoutMs: 20_000 })).toEqual({
        n: 200 + last,
      });
      survivors.push(`${keys[k]!}:${200 + last}`);
    }
    // A replaced job would have had its chance by now.
    await sleep(1500);

    const ledger = pool.ledger();
    const ran = starts(ledger).map((e) => `${e.key}:${e.n}`);
    expect(ran.sort()).toEqual(
      [...keys.flatMap((k) => [`${k}:49`, `${k}:149`]), ...survivors].sort(),
    );
    for (const hs of bursts.flat()) {
      hs.forEach((h, i) => {
        expect(h.outcome).toBe('created');
        // Each job replaced the one before it in its burst; the first of
        // the second burst found nothing pending (the first already ran).
        expect(h.replaced).toBe(i === 0 ? undefined : hs[i - 1]!.id);
      });
      for (const h of hs.slice(0, -1)) {
        const err = await rejection(h.finished({ timeoutMs: 5000 }));
        expect(err).toBeInstanceOf(CancelledError);
        expect((err as CancelledError).reason).toMatch(/^debounced/);
      }
      const info = await producers[0]!.getJob(hs[0]!.id);
      expect(info?.state).toBe('cancelled');
    }
    const stats = await raw(redis.url).hgetall(
      `${queueKeys('jobwire', queue).base}flow-stats`,
    );
    expect(Number(stats['flow|debounced'])).toBe(3 * keys.length * 49);
    console.log(
      'flow debounce',
      JSON.stringify({
        enqueued: 3 * keys.length * 50,
        ran: ran.length,
        debounced: Number(stats['flow|debounced']),
      }),
    );
  });

  it('throttle 10 per 1 s: of 100 enqueues from 2 producers, 10 are stored and 90 throttled, and the handles say so', async () => {
    const queue = uniqueQueue('throttle');
    const rules: FlowRuleSpec = { throttle: { limit: 10, periodMs: 1000 } };
    const pool = workers(1, { queue, rules, concurrency: 5 });
    await pool.ready();
    const producers = [
      producer(redis.url, queue, rules),
      producer(redis.url, queue, rules),
    ];
    const t0 = Date.now();
    const hs = await Promise.all(
      Array.from({ length: 100 }, (_, n) =>
        producers[n % 2]!.enqueue('flow', { n, key: 'x', ms: 0 }),
      ),
    );
    const enqueueMs = Date.now() - t0;
    // Within one window, or the count below is not the test's to assert.
    expect(enqueueMs).toBeLessThan(1000);
    const created = hs.filter((h) => h.outcome === 'created');
    const throttled = hs.filter((h) => h.outcome === 'throttled');
    expect(created).toHaveLength(10);
    expect(throttled).toHaveLength(90);
    for (const h of throttled) {
      await expect(h.finished({ timeoutMs: 1000 })).rejects.toMatchObject({
        code: 'THROTTLED',
      });
      // Nothing was stored.
      expect(await producers[0]!.getJob(h.id)).toBeUndefined();
    }
    for (const h of created) await h.finished({ timeoutMs: 20_000 });
    const stats = await raw(redis.url).hgetall(
      `${queueKeys('jobwire', queue).base}flow-stats`,
    );
    expect(Number(stats['flow|throttled'])).toBe(90);
    // The window slides: a second later, jobs are accepted again.
    await sleep(Math.max(0, t0 + 1100 - Date.now()));
    const later = await producers[1]!.enqueue('flow', {
      n: 100,
      key: 'x',
      ms: 0,
    });
    expect(later.outcome).toBe('created');
    await later.finished({ timeoutMs: 20_000 });
    expect(starts(pool.ledger())).toHaveLength(11);
    console.log(
      'flow throttle',
      JSON.stringify({
        enqueueMs,
        created: created.length,
        throttled: throttled.length,
      }),
    );
  });

  it('cancels an active job in a worker process: its signal fires within one renewal interval, it ends cancelled, no retry, its slot frees', async () => {
    const queue = uniqueQueue('cancel');
    const rules: FlowRuleSpec = { concurrency: { limit: 1 } };
    const LEASE_MS = 3000;
    const RENEW_MS = LEASE_MS / 3;
    const pool = workers(1, {
      queue,
      rules,
      concurrency: 2,
      leaseMs: LEASE_MS,
    });
    await pool.ready();
    const q = producer(redis.url, queue, rules);
    const a = await q.enqueue('flow', { n: 1, key: 'k', untilAbort: true });
    const b = await q.enqueue('flow', { n: 2, key: 'k', ms: 0 });
    await waitFor(
      () => starts(pool.ledger()).some((e) => e.id === a.id),
      PROCESS_START_MS,
      'the job to start',
    );
    // Its key's one slot is held: the second job waits.
    await sleep(300);
    expect(starts(pool.ledger()).some((e) => e.id === b.id)).toBe(false);

    const cancelAt = Date.now();
    expect(await q.cancel(a.id, { reason: 'user asked' })).toBe('requested');
    const err = await rejection(a.finished({ timeoutMs: 20_000 }));
    expect(err).toBeInstanceOf(CancelledError);
    const abort = pool.ledger().find((e) => e.ev === 'abort');
    expect(abort).toBeDefined();
    const abortMs = abort!.t - cancelAt;
    // One renewal interval, plus a loaded machine's scheduling slack.
    expect(abortMs).toBeLessThan(RENEW_MS + 1500);
    expect(await b.finished({ timeoutMs: 20_000 })).toEqual({ n: 2 });
    // Attempts were left (3), yet nothing retries: give a retry its time.
    await sleep(500);
    expect(starts(pool.ledger()).filter((e) => e.id === a.id)).toHaveLength(1);
    expect(await q.getJob(a.id)).toMatchObject({
      state: 'cancelled',
      attemptsMade: 0,
      cancelReason: 'user asked',
    });
    expect(await raw(redis.url).zcard(slotKey(queue, 'k'))).toBe(0);
    const bStart = starts(pool.ledger()).find((e) => e.id === b.id)!;
    console.log(
      'flow cancel',
      JSON.stringify({
        renewMs: RENEW_MS,
        abortAfterCancelMs: abortMs,
        nextOfKeyStartedAfterCancelMs: bStart.t - cancelAt,
      }),
    );
  });

  it('a worker killed -9 holding a per-key slot: the slot comes back within lease + stall-check interval', async () => {
    const queue = uniqueQueue('kill');
    const rules: FlowRuleSpec = { concurrency: { limit: 1 } };
    const LEASE_MS = 2000;
    const CHECK_MS = 500;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-flow-kill-'));
    dirs.push(dir);
    // Whichever process takes the flagged job dies; the marker file makes
    // it one kill only, so its re-run completes.
    const pool = workers(2, {
      queue,
      rules,
      concurrency: 2,
      leaseMs: LEASE_MS,
      stallCheckIntervalMs: CHECK_MS,
      maxStalls: 3,
      killOnFlag: true,
      killMarker: path.join(dir, 'killed'),
    });
    await pool.ready();
    const q = producer(redis.url, queue, rules);
    const r = raw(redis.url);
    const sampler = sampleSlots(r, queue, ['k']);
    const victim = await q.enqueue('flow', { n: 0, key: 'k', kill: true });
    const rest = await Promise.all(
      [1, 2, 3].map((n) => q.enqueue('flow', { n, key: 'k', ms: 20 })),
    );
    for (const h of [victim, ...rest]) {
      expect(await h.finished({ timeoutMs: 30_000 })).toMatchObject({});
    }
    const polled = await sampler.stop();
    const ledger = pool.ledger();
    const keyStarts = starts(ledger).sort((x, y) => x.t - y.t);
    const killedAt = keyStarts[0]!;
    expect(killedAt.id).toBe(victim.id);
    const next = keyStarts[1]!;
    const backAfterMs = next.t - killedAt.t;
    const exits = await Promise.all(
      pool.procs.map((p) =>
        Promise.race([p.exited, sleep(100).then(() => undefined)]),
      ),
    );
    console.log(
      'flow slot after kill -9',
      JSON.stringify({
        leaseMs: LEASE_MS,
        stallCheckIntervalMs: CHECK_MS,
        slotBackAfterMs: backAfterMs,
        maxSlotHolders: polled.max,
      }),
    );
    // Exactly one process died, by SIGKILL.
    expect(exits.filter((x) => x?.signal === 'SIGKILL')).toHaveLength(1);
    // The dead job kept its key's slot until its lease ran out...
    expect(backAfterMs).toBeGreaterThan(LEASE_MS - 200);
    // ...and the stall check gave it back within one interval after that
    // (plus a loaded machine's slack).
    expect(backAfterMs).toBeLessThan(LEASE_MS + CHECK_MS + 1000);
    expect(polled.max).toBeLessThanOrEqual(1);
    // The killed job ran again and completed; nothing else ran twice.
    expect(keyStarts.map((e) => e.n).sort()).toEqual([0, 0, 1, 2, 3]);
    const perKey = maxOverlapPerKey(runsOf(ledger));
    expect(perKey.get('k')).toBe(1);
  });

  it('a Redis restart keeps the rate window and per-key slots: limits hold across it, no job is lost', async () => {
    // Its own server with an fsync per write, so a kill -9 loses nothing
    // acknowledged (the persistence jobwire documents for durability).
    const server: RedisServer = await startRedis({
      appendonly: true,
      extraArgs: ['--appendfsync', 'always'],
    });
    closers.push(() => server.stop());
    const queue = uniqueQueue('restart');
    const rules: FlowRuleSpec = {
      rateLimit: { limit: 40, perMs: 1000 },
      concurrency: { limit: 2 },
    };
    const tenants = ['t0', 't1', 't2', 't3', 't4'];
    const pool = workers(2, {
      url: server.url,
      queue,
      rules,
      concurrency: 6,
      leaseMs: 3000,
    });
    await pool.ready();
    const q = producer(server.url, queue, rules);
    const r = raw(server.url);
    const N = 250;
    const hs = await q.enqueueBulk(
      Array.from({ length: N }, (_, n) => ({
        name: 'flow' as const,
        payload: { n, key: tenants[n % tenants.length]!, ms: 100 },
      })),
    );
    await waitFor(
      () => starts(pool.ledger()).length >= 80,
      PROCESS_START_MS,
      'two seconds of starts',
    );
    const keys = queueKeys('jobwire', queue);
    const rl = `${keys.base}rl:flow`;
    // One consistent snapshot of the limit state: the rate window and the
    // slots each tenant holds.
    const snap = (await r
      .multi()
      .zrange(rl, '0', '-1', 'WITHSCORES')
      .exec()) as [Error | null, string[]][];
    const slotSnap = (await tenants
      .reduce((m, t) => m.zrange(slotKey(queue, t), '0', '-1'), r.multi())
      .exec()) as [Error | null, string[]][];
    const before = snap[0]![1];
    const heldBefore = slotSnap.flatMap(([, ids], i) =>
      ids.map((id) => ({ tenant: tenants[i]!, id })),
    );
    await server.restart();
    const after = new Map<string, number>();
    const got = await r.zrange(rl, '0', '-1', 'WITHSCORES');
    for (let i = 0; i < got.length; i += 2)
      after.set(got[i]!, Number(got[i + 1]));
    const restartedAt = Date.now();
    // Every lease still inside its window came through the restart.
    const lost: string[] = [];
    for (let i = 0; i < before.length; i += 2) {
      if (Number(before[i + 1]) > restartedAt - 1000 && !after.has(before[i]!))
        lost.push(before[i]!);
    }
    // Every slot held before is still held, unless its job ended since
    // (workers reconnect at once and go on completing).
    const slotsLost: string[] = [];
    for (const { tenant, id } of heldBefore) {
      const still = await r.zscore(slotKey(queue, tenant), id);
      const state = await r.hget(keys.job(id), 's');
      if (still === null && state === 'a') slotsLost.push(id);
    }
    await waitFor(
      async () => (await q.getCounts()).completed === N,
      60_000,
      'every job to complete',
    );
    const ledger = pool.ledger();
    const leases = await leaseTimes(
      r,
      queue,
      hs.map((h) => h.id),
    );
    const perKey = maxOverlapPerKey(runsOf(ledger));
    const counts = await q.getCounts();
    const figures = {
      windowEntriesBefore: before.length / 2,
      windowEntriesLost: lost.length,
      slotsHeldBefore: heldBefore.length,
      slotsLost: slotsLost.length,
      maxLeasesIn1000ms: maxInWindow([...leases.values()], 1000),
      maxActivePerTenant: Math.max(...perKey.values()),
      completed: counts.completed,
      handlerRuns: starts(ledger).length,
    };
    console.log('flow redis restart', JSON.stringify(figures));

    expect(before.length).toBeGreaterThan(0);
    expect(lost).toEqual([]);
    expect(heldBefore.length).toBeGreaterThan(0);
    expect(slotsLost).toEqual([]);
    expect(counts).toMatchObject({
      completed: N,
      failed: 0,
      waiting: 0,
      active: 0,
      delayed: 0,
    });
    expect(figures.maxLeasesIn1000ms).toBeLessThanOrEqual(40);
    for (const [, n] of perKey) expect(n).toBeLessThanOrEqual(2);
    for (const t of tenants) expect(await r.zcard(slotKey(queue, t))).toBe(0);
  });
});
