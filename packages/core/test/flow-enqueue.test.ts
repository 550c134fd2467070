/**
 * Flow control at enqueue (issue 16): debounce (trailing edge: only the
 * last job of a burst runs, the others end as cancelled), throttle (jobs
 * over the limit are dropped and the handle says so), key functions run on
 * the parsed payload and refused before anything is written, and keyed
 * jobs stored in their key's group and the lane's ring. Real Redis; every
 * scenario that stores jobs ends with the structural invariant check.
 */
import { Redis } from 'ioredis';
import {
  afterAll,
  afterEach,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
} from 'vitest';
import { z } from 'zod';
import {
  CancelledError,
  createQueue,
  createTestQueue,
  createWorker,
  defineJobs,
  job,
  JobwireError,
  ValidationError,
  type JobHandle,
} from '../src/index.ts';
import { checkInvariants } from './faults/harness/invariants.ts';
import { rejectionOf } from './helpers/assert.ts';
import { persistentKeys } from './helpers/redis-keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;

beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

const open: { close(): Promise<unknown> }[] = [];
function track<T extends { close(): Promise<unknown> }>(x: T): T {
  open.push(x);
  return x;
}
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});
// The invariant check and the key dumps read every key: one queue at a time.
beforeEach(async () => {
  await raw.flushall();
});

const base = (q: string) => `jobwire:{${q}}:`;

async function invariants(queue: string): Promise<void> {
  expect(await checkInvariants(redis.url, 'jobwire', queue)).toEqual([]);
}

/** The flow counters of a queue, as numbers. */
async function flowStats(q: string): Promise<Record<string, number>> {
  const h = await raw.hgetall(`${base(q)}flow-stats`);
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
}

const payload = z.object({ user: z.string(), n: z.number() });

describe('debounce', () => {
  function registry(q: string, periodMs: number) {
    return defineJobs({
      deb: job({
        queue: q,
        payload,
        debounce: { periodMs, key: (p) => p.user },
      }),
    });
  }

  it('runs only the last job of a burst of 20; the 19 others end as cancelled, replaced one by one', async () => {
    const q = uniqueQueue();
    const reg = registry(q, 400);
    const queue = track(createQueue(reg, { connection: redis.url }));
    const handles: JobHandle<unknown>[] = [];
    // One call at a time: each replaces the job the previous call stored.
    for (let n = 0; n < 20; n++)
      handles.push(await queue.enqueue('deb', { user: 'u1', n }));

    expect(handles.map((h) => h.outcome)).toEqual(Array(20).fill('created'));
    expect(handles[0]!.replaced).toBeUndefined();
    for (let i = 1; i < 20; i++)
      expect(handles[i]!.replaced).toBe(handles[i - 1]!.id);
    const last = handles[19]!;
    // Trailing edge: the survivor waits out the period.
    expect((await queue.getJob(last.id))?.state).toBe('delayed');
    expect(await queue.getCounts()).toMatchObject({
      delayed: 1,
      cancelled: 19,
    });
    expect(await raw.hget(`${base(q)}db:deb`, 'u1')).toBe(last.id);
    expect(await flowStats(q)).toEqual({ 'deb|debounced': 19 });

    const ran: number[] = [];
    track(
      createWorker(
        reg,
        { deb: (j) => void ran.push(j.data.n) },
        { connection: redis.url, ...fastWorkerSettings },
      ),
    );
    await last.finished({ timeoutMs: 10_000 });
    for (let i = 0; i < 19; i++) {
      const err = await rejectionOf(handles[i]!.finished({ timeoutMs: 5000 }));
      expect(err).toBeInstanceOf(CancelledError);
      expect(err).toMatchObject({
        code: 'CANCELLED',
        jobId: handles[i]!.id,
        reason: `debounced: replaced by ${handles[i + 1]!.id}`,
      });
    }
    await sleep(300);
    expect(ran).toEqual([19]);
    expect(await queue.getCounts()).toMatchObject({
      completed: 1,
      cancelled: 19,
      delayed: 0,
      waiting: 0,
    });
    await invariants(q);
  });

  it('collapses a burst stored in one script call (concurrent enqueues) the same way', async () => {
    const q = uniqueQueue();
    const queue = track(
      createQueue(registry(q, 60_000), { connection: redis.url }),
    );
    const handles = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        queue.enqueue('deb', { user: 'u1', n }),
      ),
    );
    const survivors = handles.filter(
      (h) => !handles.some((o) => o.replaced === h.id),
    );
    expect(survivors.map((h) => h.id)).toEqual([
      await raw.hget(`${base(q)}db:deb`, 'u1'),
    ]);
    expect(handles.filter((h) => h.replaced !== undefined)).toHaveLength(19);
    expect(await queue.getCounts()).toMatchObject({
      delayed: 1,
      cancelled: 19,
    });
    expect((await flowStats(q))['deb|debounced']).toBe(19);
    await invariants(q);
  });

  it('debounces two keys independently', async () => {
    const q = uniqueQueue();
    const reg = registry(q, 300);
    const queue = track(createQueue(reg, { connection: redis.url }));
    const handles: JobHandle<unknown>[] = [];
    for (let n = 0; n < 10; n++)
      handles.push(
        await queue.enqueue('deb', { user: n % 2 === 0 ? 'a' : 'b', n }),
      );
    // Each job replaces the previous one of its own key, never the other's.
    expect(handles[0]!.replaced).toBeUndefined();
    expect(handles[1]!.replaced).toBeUndefined();
    for (let i = 2; i < 10; i++)
      expect(handles[i]!.replaced).toBe(handles[i - 2]!.id);

    const ran: string[] = [];
    track(
      createWorker(
        reg,
        { deb: (j) => void ran.push(`${j.data.user}${j.data.n}`) },
        { connection: redis.url, ...fastWorkerSettings },
      ),
    );
    await handles[8]!.finished({ timeoutMs: 10_000 });
    await handles[9]!.finished({ timeoutMs: 10_000 });
    expect(ran.sort()).toEqual(['a8', 'b9']);
    expect(await flowStats(q)).toEqual({ 'deb|debounced': 8 });
    await invariants(q);
  });

  it('never replaces a job that already started: the new one runs too', async () => {
    const q = uniqueQueue();
    const reg = registry(q, 100);
    const queue = track(createQueue(reg, { connection: redis.url }));
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const started: number[] = [];
    track(
      createWorker(
        reg,
        {
          deb: async (j) => {
            started.push(j.data.n);
            if (j.data.n === 1) await gate;
          },
        },
        { connection: redis.url, concurrency: 2, ...fastWorkerSettings },
      ),
    );
    const first = await queue.enqueue('deb', { user: 'u', n: 1 });
    await waitFor(() => started.includes(1), 10_000, 'the first job to start');
    expect((await queue.getJob(first.id))?.state).toBe('active');
    const second = await queue.enqueue('deb', { user: 'u', n: 2 });
    expect(second.outcome).toBe('created');
    expect(second.replaced).toBeUndefined();
    expect((await queue.getJob(first.id))?.state).toBe('active');
    await second.finished({ timeoutMs: 10_000 });
    release();
    await first.finished({ timeoutMs: 10_000 });
    expect(started.sort()).toEqual([1, 2]);
    expect(await flowStats(q)).toEqual({});
    await invariants(q);
  });

  it('never replaces a job waiting out a retry backoff (delayed, but it already ran)', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      deb: job({
        queue: q,
        payload,
        attempts: 2,
        backoff: { type: 'fixed', delayMs: 60_000 },
        debounce: { periodMs: 50, key: (p) => p.user },
      }),
    });
    const queue = track(createQueue(reg, { connection: redis.url }));
    const worker = track(
      createWorker(
        reg,
        {
          deb: () => {
            throw new Error('first attempt fails');
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      ),
    );
    const first = await queue.enqueue('deb', { user: 'u', n: 1 });
    await waitFor(
      async () => (await queue.getJob(first.id))?.attemptsMade === 1,
      10_000,
      'the first attempt to fail',
    );
    await worker.close();
    expect((await queue.getJob(first.id))?.state).toBe('delayed');
    const second = await queue.enqueue('deb', { user: 'u', n: 2 });
    expect(second.replaced).toBeUndefined();
    expect((await queue.getJob(first.id))?.state).toBe('delayed');
    expect(await raw.hget(`${base(q)}db:deb`, 'u')).toBe(second.id);
    await invariants(q);
  });

  it('delays by the longer of the period and the job own delay', async () => {
    const q = uniqueQueue();
    const queue = track(
      createQueue(registry(q, 1000), { connection: redis.url }),
    );
    const t0 = Number((await raw.time())[0]) * 1000;
    const short = await queue.enqueue('deb', { user: 'x', n: 1 });
    const long = await queue.enqueue(
      'deb',
      { user: 'y', n: 1 },
      { delayMs: 60_000 },
    );
    const dueShort = Number(await raw.zscore(`${base(q)}delayed`, short.id));
    const dueLong = Number(await raw.zscore(`${base(q)}delayed`, long.id));
    expect(dueShort - t0).toBeGreaterThanOrEqual(900);
    expect(dueShort - t0).toBeLessThan(10_000);
    expect(dueLong - t0).toBeGreaterThanOrEqual(59_000);
    await invariants(q);
  });

  it('a per-type debounce (no key) collapses every job of the type', async () => {
    const q = uniqueQueue();
    const queue = track(
      createQueue(
        defineJobs({
          deb: job({ queue: q, payload, debounce: { periodMs: 60_000 } }),
        }),
        { connection: redis.url },
      ),
    );
    const a = await queue.enqueue('deb', { user: 'a', n: 1 });
    const b = await queue.enqueue('deb', { user: 'b', n: 2 });
    expect(b.replaced).toBe(a.id);
    expect(await raw.hgetall(`${base(q)}db:deb`)).toEqual({ '': b.id });
    await invariants(q);
  });
});

describe('throttle', () => {
  function registry(q: string, limit: number, periodMs: number) {
    return defineJobs({
      thr: job({
        queue: q,
        payload,
        throttle: { limit, periodMs, key: (p) => p.user },
      }),
    });
  }

  it('stores 5 of a burst of 20 (limit 5 per 1000 ms) and drops 15; more are accepted after the window', async () => {
    const q = uniqueQueue();
    const queue = track(
      createQueue(registry(q, 5, 1000), { connection: redis.url }),
    );
    const handles: JobHandle<unknown>[] = [];
    for (let n = 0; n < 20; n++)
      handles.push(await queue.enqueue('thr', { user: 'u1', n }));
    expect(handles.map((h) => h.outcome)).toEqual([
      ...Array(5).fill('created'),
      ...Array(15).fill('throttled'),
    ]);
    // Another key has its own window.
    const other = await queue.enqueue('thr', { user: 'u2', n: 0 });
    expect(other.outcome).toBe('created');

    expect((await queue.getCounts()).waiting).toBe(6);
    expect(await flowStats(q)).toEqual({ 'thr|throttled': 15 });
    expect(
      await raw.zrange(`${base(q)}tk:thr`, '0', '-1', 'WITHSCORES'),
    ).toEqual(['u1', '15']);
    const dropped = handles[7]!;
    expect(dropped.duplicate).toBe(false);
    expect(dropped.replaced).toBeUndefined();
    expect(await raw.exists(`${base(q)}j:${dropped.id}`)).toBe(0);
    const err = await rejectionOf(dropped.finished({ timeoutMs: 5000 }));
    expect(err).toBeInstanceOf(JobwireError);
    expect(err).toMatchObject({ code: 'THROTTLED' });
    expect(await rejectionOf(dropped.cancel())).toMatchObject({
      code: 'JOB_NOT_FOUND',
    });
    // The log holds the accepted jobs only (`<id>|<sequence>`), and
    // expires with its window.
    const logged = await raw.zrange(`${base(q)}th:thr:u1`, '0', '-1');
    expect(logged.map((e) => e.slice(0, e.lastIndexOf('|'))).sort()).toEqual(
      handles
        .slice(0, 5)
        .map((h) => h.id)
        .sort(),
    );
    expect(await raw.pttl(`${base(q)}th:thr:u1`)).toBeGreaterThan(0);

    await sleep(1100);
    const later: JobHandle<unknown>[] = [];
    for (let n = 0; n < 6; n++)
      later.push(await queue.enqueue('thr', { user: 'u1', n: 100 + n }));
    expect(later.map((h) => h.outcome)).toEqual([
      ...Array(5).fill('created'),
      'throttled',
    ]);
    expect(await flowStats(q)).toEqual({ 'thr|throttled': 16 });
    await invariants(q);
  });

  it('counts a job id used again after its job was removed as a new job in the window', async () => {
    const q = uniqueQueue();
    const queue = track(
      createQueue(registry(q, 2, 60_000), { connection: redis.url }),
    );
    const first = await queue.enqueue(
      'thr',
      { user: 'u', n: 0 },
      { jobId: 'again' },
    );
    expect(first.outcome).toBe('created');
    await queue.remove('again');
    const second = await queue.enqueue(
      'thr',
      { user: 'u', n: 1 },
      { jobId: 'again' },
    );
    expect(second.outcome).toBe('created');
    // Two accepted in this window: the limit is reached.
    const third = await queue.enqueue('thr', { user: 'u', n: 2 });
    expect(third.outcome).toBe('throttled');
  });

  it('slides: jobs accepted late in a window still count after a fixed window would have reset', async () => {
    const q = uniqueQueue();
    const queue = track(
      createQueue(registry(q, 5, 2000), { connection: redis.url }),
    );
    const enq = async (k: number) => {
      const out: string[] = [];
      for (let i = 0; i < k; i++)
        out.push((await queue.enqueue('thr', { user: 'u', n: i })).outcome);
      return out;
    };
    const t0 = Date.now();
    expect(await enq(3)).toEqual(Array(3).fill('created'));
    await sleep(1000 - (Date.now() - t0));
    expect(await enq(2)).toEqual(Array(2).fill('created'));
    await sleep(2150 - (Date.now() - t0));
    // The first 3 left the window; the 2 from t0 + 1 s have not.
    expect(await enq(4)).toEqual([
      'created',
      'created',
      'created',
      'throttled',
    ]);
  });

  it('a per-type throttle (no key) counts every job of the type in one window', async () => {
    const q = uniqueQueue();
    const queue = track(
      createQueue(
        defineJobs({
          thr: job({
            queue: q,
            payload,
            throttle: { limit: 2, periodMs: 60_000 },
          }),
        }),
        { connection: redis.url },
      ),
    );
    const out: string[] = [];
    for (const user of ['a', 'b', 'c'])
      out.push((await queue.enqueue('thr', { user, n: 1 })).outcome);
    expect(out).toEqual(['created', 'created', 'throttled']);
    expect(await raw.zcard(`${base(q)}th:thr:`)).toBe(2);
    expect(await flowStats(q)).toEqual({ 'thr|throttled': 1 });
    // Per-key drop counts are for keyed throttles only.
    expect(await raw.exists(`${base(q)}tk:thr`)).toBe(0);
  });
});

describe('key functions', () => {
  const bad = {
    throws: (): string => {
      throw new Error('no tenant');
    },
    empty: () => '',
    object: (p: { user: string }) => ({ user: p.user }) as unknown as string,
  };

  for (const [how, fn] of Object.entries(bad)) {
    it(`refuses a job whose key function ${how === 'throws' ? 'throws' : `returns ${how === 'empty' ? "''" : 'an object'}`}: ValidationError naming the rule, Redis untouched`, async () => {
      const q = uniqueQueue();
      const reg = defineJobs({
        deb: job({ queue: q, payload, debounce: { periodMs: 100, key: fn } }),
        thr: job({
          queue: q,
          payload,
          throttle: { limit: 1, periodMs: 100, key: fn },
        }),
        conc: job({ queue: q, payload, concurrency: { limit: 1, key: fn } }),
        rate: job({
          queue: q,
          payload,
          rateLimit: { limit: 1, perMs: 100, key: fn },
        }),
        ok: job({ queue: q, payload }),
      });
      const queue = track(createQueue(reg, { connection: redis.url }));
      // A stored job first, so "untouched" is checked against a live queue.
      await queue.enqueue('ok', { user: 'a', n: 0 });
      const before = await persistentKeys(raw);
      const dump = async () =>
        Promise.all(before.map(async (k) => [k, await raw.dump(k)]));
      const dumped = await dump();
      const rules = {
        deb: 'debounce.key',
        thr: 'throttle.key',
        conc: 'concurrency.key',
        rate: 'rateLimit.key',
      } as const;
      for (const [name, rule] of Object.entries(rules)) {
        const err = await rejectionOf(
          queue.enqueue(name as keyof typeof rules, { user: 'a', n: 1 }),
        );
        expect(err).toBeInstanceOf(ValidationError);
        const v = err as ValidationError;
        expect(v.code).toBe('VALIDATION_FAILED');
        expect(v.subject).toBe(`payload of ${name}`);
        expect(v.issues.map((i) => i.path)).toEqual([rule]);
        expect(v.message).toContain(rule);
        if (how === 'throws') expect(v.message).toContain('no tenant');
      }
      // Bulk: one bad item among good ones stores nothing of the batch.
      const bulkErr = await rejectionOf(
        queue.enqueueBulk([
          { name: 'ok', payload: { user: 'a', n: 2 } },
          { name: 'ok', payload: { user: 'a', n: 3 } },
          { name: 'thr', payload: { user: 'a', n: 4 } },
        ]),
      );
      expect(bulkErr).toBeInstanceOf(ValidationError);
      expect((bulkErr as ValidationError).subject).toBe(
        'item 2 (thr): payload of thr',
      );
      expect(await persistentKeys(raw)).toEqual(before);
      expect(await dump()).toEqual(dumped);
    });
  }

  it('runs on the parsed payload (defaults and transforms applied); numbers become strings', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      g: job({
        queue: q,
        payload: z.object({
          tenant: z.string().default('anon'),
          org: z.string().transform((s) => s.length),
        }),
        concurrency: { limit: 1, key: (p) => p.tenant },
        throttle: { limit: 10, periodMs: 60_000, key: (p) => p.org },
      }),
    });
    const queue = track(createQueue(reg, { connection: redis.url }));
    const h = await queue.enqueue('g', { org: 'acme' });
    expect(await raw.hget(`${base(q)}j:${h.id}`, 'gk')).toBe('anon');
    const logged = await raw.zrange(`${base(q)}th:g:4`, '0', '-1');
    expect(logged.map((e) => e.slice(0, e.lastIndexOf('|')))).toEqual([h.id]);
  });
});

describe('duplicates and bulk', () => {
  function registry(q: string) {
    return defineJobs({
      thr: job({
        queue: q,
        payload,
        throttle: { limit: 1, periodMs: 60_000, key: (p) => p.user },
      }),
      deb: job({
        queue: q,
        payload,
        debounce: { periodMs: 60_000, key: (p) => p.user },
      }),
    });
  }

  it('a duplicate jobId touches no debounce or throttle state', async () => {
    const q = uniqueQueue();
    const queue = track(createQueue(registry(q), { connection: redis.url }));
    const t1 = await queue.enqueue('thr', { user: 'u', n: 1 }, { jobId: 't' });
    // Same id again: a duplicate, not a throttled job (the limit is 1).
    const t2 = await queue.enqueue('thr', { user: 'u', n: 2 }, { jobId: 't' });
    expect([t1.outcome, t2.outcome]).toEqual(['created', 'duplicate']);
    expect(t2.duplicate).toBe(true);
    expect(await raw.zcard(`${base(q)}th:thr:u`)).toBe(1);

    const d1 = await queue.enqueue('deb', { user: 'u', n: 1 }, { jobId: 'd' });
    const d2 = await queue.enqueue('deb', { user: 'u', n: 2 });
    // A duplicate of the replaced job: it must not become the pending one.
    const d3 = await queue.enqueue('deb', { user: 'u', n: 3 }, { jobId: 'd' });
    expect(d2.replaced).toBe('d');
    expect(d3).toMatchObject({ outcome: 'duplicate', duplicate: true });
    expect(d3.replaced).toBeUndefined();
    expect(await raw.hget(`${base(q)}db:deb`, 'u')).toBe(d2.id);
    expect((await queue.getJob(d2.id))?.state).toBe('delayed');
    expect((await queue.getJob(d1.id))?.state).toBe('cancelled');
    expect(await flowStats(q)).toEqual({ 'deb|debounced': 1 });
    await invariants(q);
  });

  it('reports mixed outcomes per item of one bulk call', async () => {
    const q = uniqueQueue();
    const queue = track(createQueue(registry(q), { connection: redis.url }));
    await queue.enqueue('deb', { user: 'x', n: 0 }, { jobId: 'taken' });
    const handles = await queue.enqueueBulk([
      {
        name: 'deb',
        payload: { user: 'x', n: 1 },
        options: { jobId: 'taken' },
      },
      { name: 'thr', payload: { user: 'a', n: 1 } },
      { name: 'thr', payload: { user: 'a', n: 2 } },
      { name: 'thr', payload: { user: 'b', n: 1 } },
      { name: 'deb', payload: { user: 'y', n: 1 } },
      { name: 'deb', payload: { user: 'y', n: 2 } },
    ]);
    expect(handles.map((h) => h.outcome)).toEqual([
      'duplicate',
      'created',
      'throttled',
      'created',
      'created',
      'created',
    ]);
    expect(handles.map((h) => h.replaced)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      handles[4]!.id,
    ]);
    expect(await rejectionOf(handles[2]!.finished())).toMatchObject({
      code: 'THROTTLED',
    });
    expect(await rejectionOf(handles[4]!.finished())).toMatchObject({
      code: 'CANCELLED',
      reason: `debounced: replaced by ${handles[5]!.id}`,
    });
    expect(await flowStats(q)).toEqual({
      'thr|throttled': 1,
      'deb|debounced': 1,
    });
    await invariants(q);
  });
});

describe('keyed jobs', () => {
  it('land in g:<lane>:<key> and the ring gr:<lane> with F.flowKey, and in w:<lane> too', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      k: job({
        queue: q,
        payload: z.object({ tenant: z.string() }),
        concurrency: { limit: 2, key: (p) => p.tenant },
      }),
      k2: job({
        queue: q,
        version: 2,
        payload: z.object({ tenant: z.string() }),
        upcast: { 1: { from: z.object({}), to: () => ({ tenant: 'old' }) } },
        rateLimit: { limit: 5, perMs: 1000, key: (p) => p.tenant },
      }),
    });
    const queue = track(createQueue(reg, { connection: redis.url }));
    const b = base(q);
    const a1 = await queue.enqueue('k', { tenant: 'a' });
    const b1 = await queue.enqueue('k', { tenant: 'b' });
    const a2 = await queue.enqueue('k', { tenant: 'a' }, { priority: 'high' });
    const late = await queue.enqueue('k', { tenant: 'c' }, { delayMs: 60_000 });
    const v2 = await queue.enqueue('k2', { tenant: 'a' });

    for (const [h, key] of [
      [a1, 'a'],
      [b1, 'b'],
      [a2, 'a'],
      [late, 'c'],
      [v2, 'a'],
    ] as const)
      expect(await raw.hget(`${b}j:${h.id}`, 'gk')).toBe(key);
    // Same score as in the wait zset: priority orders jobs within a key.
    const ga = await raw.zrange(`${b}g:k:a`, '0', '-1', 'WITHSCORES');
    expect(ga).toEqual([
      a2.id,
      await raw.zscore(`${b}w:k`, a2.id),
      a1.id,
      await raw.zscore(`${b}w:k`, a1.id),
    ]);
    expect(await raw.zrange(`${b}g:k:b`, '0', '-1')).toEqual([b1.id]);
    // Keys take turns in the order they first had waiting jobs.
    const ring = await raw.zrange(`${b}gr:k`, '0', '-1', 'WITHSCORES');
    expect(ring.filter((_, i) => i % 2 === 0)).toEqual(['a', 'b']);
    expect(Number(ring[1])).toBeLessThan(Number(ring[3]));
    // Delayed: carries its key, joins its group when it becomes waiting.
    expect(await raw.exists(`${b}g:k:c`)).toBe(0);
    expect((await raw.zrange(`${b}w:k`, '0', '-1')).sort()).toEqual(
      [a1.id, b1.id, a2.id].sort(),
    );
    // A version lane has its own groups and ring.
    expect(await raw.zrange(`${b}g:k2@2:a`, '0', '-1')).toEqual([v2.id]);
    expect(await raw.zrange(`${b}gr:k2@2`, '0', '-1')).toEqual(['a']);
    await invariants(q);
  });
});

describe('one script call for a batch', () => {
  function registry(q: string) {
    return defineJobs({
      plain: job({ queue: q, payload }),
      other: job({ queue: q, payload }),
      // Cancelled jobs are not kept: a replaced job is deleted at once.
      deb: job({
        queue: q,
        payload,
        debounce: { periodMs: 60_000, key: (p) => p.user },
        retention: { failed: false },
      }),
    });
  }

  it('a jobId repeated within one bulk call is a duplicate of its first item', async () => {
    const q = uniqueQueue();
    const queue = track(createQueue(registry(q), { connection: redis.url }));
    const handles = await queue.enqueueBulk([
      { name: 'plain', payload: { user: 'u', n: 1 }, options: { jobId: 'x' } },
      { name: 'plain', payload: { user: 'u', n: 2 }, options: { jobId: 'y' } },
      { name: 'plain', payload: { user: 'u', n: 3 }, options: { jobId: 'x' } },
    ]);
    expect(handles.map((h) => h.outcome)).toEqual([
      'created',
      'created',
      'duplicate',
    ]);
    expect(await raw.get(`${base(q)}p:x`)).toBe(
      JSON.stringify({ user: 'u', n: 1 }),
    );
    expect(await raw.xlen(`${base(q)}events`)).toBe(2);
    expect((await queue.getCounts()).waiting).toBe(2);
    await invariants(q);
  });

  it('an id freed by a debounce earlier in the same bulk call is stored again', async () => {
    const q = uniqueQueue();
    const queue = track(createQueue(registry(q), { connection: redis.url }));
    const handles = await queue.enqueueBulk([
      { name: 'deb', payload: { user: 'u', n: 1 }, options: { jobId: 'a' } },
      // Replaces 'a', which its retention deletes at once.
      { name: 'deb', payload: { user: 'u', n: 2 }, options: { jobId: 'b' } },
      { name: 'deb', payload: { user: 'v', n: 3 }, options: { jobId: 'a' } },
    ]);
    expect(handles.map((h) => [h.outcome, h.replaced])).toEqual([
      ['created', undefined],
      ['created', 'a'],
      ['created', undefined],
    ]);
    expect(await raw.get(`${base(q)}p:a`)).toBe(
      JSON.stringify({ user: 'v', n: 3 }),
    );
    expect((await queue.getJob('a'))?.state).toBe('delayed');
    expect(await queue.getCounts()).toMatchObject({ delayed: 2, cancelled: 0 });
    await invariants(q);
  });

  it('records each type in the types set, also next to jobs of another type', async () => {
    const q = uniqueQueue();
    const queue = track(createQueue(registry(q), { connection: redis.url }));
    await queue.enqueue('plain', { user: 'u', n: 1 });
    expect(await raw.smembers(`${base(q)}types`)).toEqual(['plain']);
    await queue.enqueueBulk([
      { name: 'plain', payload: { user: 'u', n: 2 } },
      { name: 'other', payload: { user: 'u', n: 3 } },
    ]);
    expect((await raw.smembers(`${base(q)}types`)).sort()).toEqual([
      'other',
      'plain',
    ]);
    // Emptied and refilled: recorded still (the set is never emptied).
    await queue.drain();
    await queue.enqueue('other', { user: 'u', n: 4 });
    expect((await raw.smembers(`${base(q)}types`)).sort()).toEqual([
      'other',
      'plain',
    ]);
    await invariants(q);
  });

  it('trims the event log once per call, also when its last job is a duplicate', async () => {
    const q = uniqueQueue();
    const queue = track(
      createQueue(registry(q), { connection: redis.url, maxEvents: 10 }),
    );
    const items = (from: number) =>
      Array.from({ length: 500 }, (_, i) => ({
        name: 'plain' as const,
        payload: { user: 'u', n: from + i },
      }));
    await queue.enqueueBulk(items(0));
    // MAXLEN ~ trims whole stream nodes (100 entries): near 10, not 500.
    expect(await raw.xlen(`${base(q)}events`)).toBeLessThanOrEqual(110);
    await queue.enqueue('plain', { user: 'u', n: -1 }, { jobId: 'last' });
    await queue.enqueueBulk([
      ...items(500),
      {
        name: 'plain',
        payload: { user: 'u', n: -2 },
        options: { jobId: 'last' },
      },
    ]);
    expect(await raw.xlen(`${base(q)}events`)).toBeLessThanOrEqual(110);
  });
});

describe('calls per job', () => {
  /** Commands Redis ran (scripts' redis.call included) while `fn` ran. */
  async function callsDuring(fn: () => Promise<unknown>): Promise<number> {
    await raw.config('RESETSTAT');
    await fn();
    const info = await raw.info('commandstats');
    let total = 0;
    for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g))
      if (!['evalsha', 'eval', 'config', 'info', 'fcall'].includes(m[1]!))
        total += Number(m[2]);
    return total;
  }

  it('without rules a job costs 3 calls (HSET, SET, XADD) plus a few per batch', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({ plain: job({ queue: q, payload }) });
    const queue = track(createQueue(reg, { connection: redis.url }));
    await queue.enqueue('plain', { user: 'warm', n: 0 });
    const items = Array.from({ length: 200 }, (_, n) => ({
      name: 'plain' as const,
      payload: { user: 'u', n },
    }));
    const calls = await callsDuring(() => queue.enqueueBulk(items));
    // Per batch: TIME, INCRBY, one EXISTS for all ids, ZADD w, ZADD marker,
    // HINCRBY, and the HGET that finds the type's settings ref stored
    // (layout 3). The type is in the types set already (no SADD) and the
    // last XADD trims the log (no XTRIM).
    expect(calls).toBe(3 * 200 + 7);
    // A lone enqueue: the same, with its EXISTS for itself.
    expect(
      await callsDuring(() => queue.enqueue('plain', { user: 'u', n: 1 })),
    ).toBe(3 + 7);
  });
});

describe('the test queue', () => {
  it('debounces and throttles with the same semantics', async () => {
    const reg = defineJobs({
      deb: job({ payload, debounce: { periodMs: 1000, key: (p) => p.user } }),
      thr: job({
        payload,
        throttle: { limit: 2, periodMs: 60_000, key: (p) => p.user },
      }),
    });
    const ran: string[] = [];
    const tq = createTestQueue(reg, {
      handlers: {
        deb: (j) => void ran.push(`deb ${j.data.user}${j.data.n}`),
        thr: (j) => void ran.push(`thr ${j.data.user}${j.data.n}`),
      },
    });
    const d = [
      await tq.enqueue('deb', { user: 'a', n: 1 }),
      await tq.enqueue('deb', { user: 'a', n: 2 }),
      await tq.enqueue('deb', { user: 'b', n: 1 }),
      await tq.enqueue('deb', { user: 'a', n: 3 }),
    ];
    expect(d.map((h) => h.replaced)).toEqual([
      undefined,
      d[0]!.id,
      undefined,
      d[1]!.id,
    ]);
    const t = await tq.enqueueBulk([
      { name: 'thr', payload: { user: 'a', n: 1 } },
      { name: 'thr', payload: { user: 'a', n: 2 } },
      { name: 'thr', payload: { user: 'a', n: 3 } },
      { name: 'thr', payload: { user: 'b', n: 1 } },
    ]);
    expect(t.map((h) => h.outcome)).toEqual([
      'created',
      'created',
      'throttled',
      'created',
    ]);
    expect(await rejectionOf(t[2]!.finished())).toMatchObject({
      code: 'THROTTLED',
    });
    expect(tq.jobs.map((j) => j.state)).toEqual([
      'cancelled',
      'cancelled',
      'delayed',
      'delayed',
      'waiting',
      'waiting',
      'waiting',
    ]);
    await tq.runAll();
    expect(ran.sort()).toEqual([
      'deb a3',
      'deb b1',
      'thr a1',
      'thr a2',
      'thr b1',
    ]);
    expect(await rejectionOf(d[0]!.finished())).toMatchObject({
      code: 'CANCELLED',
      reason: `debounced: replaced by ${d[1]!.id}`,
    });
  });
});
