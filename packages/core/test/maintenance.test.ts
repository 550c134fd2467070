import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
  PermanentError,
} from '../src/index.ts';
import type { QueueEventName } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { scanKeys } from './helpers/redis-keys.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function registryFor(queue: string) {
  return defineJobs({
    a: job({
      queue,
      payload: z.object({ n: z.number() }),
      result: z.object({ n: z.number() }),
    }),
    b: job({ queue, payload: z.object({ s: z.string() }) }),
  });
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(JobwireError);
    return (err as JobwireError).code;
  }
  return undefined;
}

const zero = {
  waiting: 0,
  delayed: 0,
  active: 0,
  completed: 0,
  failed: 0,
  expired: 0,
  cancelled: 0,
};

describe('getCounts', () => {
  it('counts every state, overall and by type, after a mixed workload', async () => {
    const q = uniqueQueue('cnt');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let activeStarted = false;
    // Serves only type a; b jobs stay waiting.
    const worker = createWorker(
      reg,
      {
        a: async (j) => {
          if (j.data.n === 1) throw new PermanentError('no');
          if (j.data.n === 2) {
            activeStarted = true;
            await gate;
          }
          return { n: j.data.n };
        },
      },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 4 },
    );
    try {
      const c1 = await queue.enqueue('a', { n: 0 });
      const c2 = await queue.enqueue('a', { n: 0 });
      const f1 = await queue.enqueue('a', { n: 1 });
      await queue.enqueue('a', { n: 2 });
      await queue.enqueue('a', { n: 0 }, { delayMs: 60_000 });
      await queue.enqueue('a', { n: 0 }, { delayMs: 60_000 });
      await queue.enqueue('b', { s: 'x' });
      await queue.enqueue('b', { s: 'y' });
      await queue.enqueue('b', { s: 'z' });
      const cancelled = await queue.enqueue('b', { s: 'no' });
      expect(await cancelled.cancel()).toBe('cancelled');
      await queue.enqueue('b', { s: 'later' }, { delayMs: 60_000 });
      await c1.finished({ timeoutMs: 5000 });
      await c2.finished({ timeoutMs: 5000 });
      await expect(f1.finished({ timeoutMs: 5000 })).rejects.toThrow('no');
      await waitFor(() => activeStarted, 5000, 'active job');

      const expected = {
        waiting: 3,
        delayed: 3,
        active: 1,
        completed: 2,
        failed: 1,
        expired: 0,
        cancelled: 1,
        byType: {
          a: { ...zero, delayed: 2, active: 1, completed: 2, failed: 1 },
          b: { ...zero, waiting: 3, delayed: 1, cancelled: 1 },
        },
      };
      expect(await queue.getCounts()).toEqual(expected);
      expect(await queue.getCounts({ queue: q })).toEqual(expected);
      release();
      await waitFor(
        async () => (await queue.getCounts()).completed === 3,
        5000,
        'active job to complete',
      );
      expect((await queue.getCounts()).byType.a).toEqual({
        ...zero,
        delayed: 2,
        completed: 3,
        failed: 1,
      });
    } finally {
      release();
      await worker.close();
      await queue.close();
    }
  });
});

describe('getJobs', () => {
  it('pages across queues with one offset when no queue is named', async () => {
    const q1 = uniqueQueue('first');
    const q2 = uniqueQueue('second');
    const reg = defineJobs({
      one: job({ queue: q1, payload: z.object({ n: z.number() }) }),
      two: job({ queue: q2, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const ids: string[] = [];
      for (let n = 0; n < 3; n++)
        ids.push((await queue.enqueue('one', { n })).id);
      for (let n = 0; n < 3; n++)
        ids.push((await queue.enqueue('two', { n })).id);
      const page = async (offset: number, limit: number) =>
        (await queue.getJobs('waiting', { offset, limit })).map(
          (j) => `${j.queue}/${j.id}`,
        );
      const all = await page(0, 10);
      expect(all).toHaveLength(6);
      // Pages of 2 walk the same list, the second queue included.
      const walked = [
        ...(await page(0, 2)),
        ...(await page(2, 2)),
        ...(await page(4, 2)),
      ];
      expect(walked).toEqual(all);
      expect(await page(4, 10)).toEqual(all.slice(4));
      expect(
        (await queue.getJobs('waiting', { name: 'two', offset: 1 })).map(
          (j) => j.data,
        ),
      ).toEqual([{ n: 1 }, { n: 2 }]);
    } finally {
      await queue.close();
    }
  });

  it('pages waiting jobs in run order without duplicates, and filters by name', async () => {
    const q = uniqueQueue('list');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const h =
          i % 2 === 0
            ? await queue.enqueue('a', { n: i })
            : await queue.enqueue('b', { s: String(i) });
        ids.push(h.id);
      }
      // Priority beats FIFO: this one runs first.
      const urgent = await queue.enqueue(
        'b',
        { s: 'urgent' },
        { priority: 'high' },
      );
      const order = [urgent.id, ...ids];

      const pages: string[][] = [];
      for (let offset = 0; offset < 30; offset += 10) {
        pages.push(
          (await queue.getJobs('waiting', { offset, limit: 10 })).map(
            (j) => j.id,
          ),
        );
      }
      expect(pages.map((p) => p.length)).toEqual([10, 10, 6]);
      const flat = pages.flat();
      expect(new Set(flat).size).toBe(flat.length);
      expect(flat).toEqual(order);
      expect(await queue.getJobs('waiting', { offset: 26, limit: 10 })).toEqual(
        [],
      );

      const onlyA = await queue.getJobs('waiting', { name: 'a', limit: 100 });
      expect(onlyA.map((j) => j.id)).toEqual(ids.filter((_, i) => i % 2 === 0));
      expect(onlyA.every((j) => j.name === 'a' && j.state === 'waiting')).toBe(
        true,
      );
      const aPage = await queue.getJobs('waiting', {
        name: 'a',
        offset: 3,
        limit: 4,
      });
      expect(aPage.map((j) => j.id)).toEqual(
        onlyA.slice(3, 7).map((j) => j.id),
      );
      expect(aPage[0]!.data).toEqual({ n: 6 });
    } finally {
      await queue.close();
    }
  });

  it('pages completed jobs oldest first and filters by name', async () => {
    const q = uniqueQueue('list');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      {
        a: async (j) => {
          await sleep(3);
          return { n: j.data.n };
        },
        b: async () => {
          await sleep(3);
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const ids: string[] = [];
      const names: string[] = [];
      for (let i = 0; i < 12; i++) {
        const h =
          i % 3 === 0
            ? await queue.enqueue('b', { s: String(i) })
            : await queue.enqueue('a', { n: i });
        ids.push(h.id);
        names.push(h.name);
      }
      await waitFor(
        async () => (await queue.getCounts()).completed === 12,
        10_000,
        '12 completions',
      );
      const seen: string[] = [];
      for (let offset = 0; offset < 12; offset += 5) {
        const page = await queue.getJobs('completed', { offset, limit: 5 });
        expect(page.every((j) => j.state === 'completed')).toBe(true);
        seen.push(...page.map((j) => j.id));
      }
      expect(seen).toEqual(ids);
      const aIds = ids.filter((_, i) => names[i] === 'a');
      const aPage = await queue.getJobs('completed', {
        name: 'a',
        offset: 2,
        limit: 3,
      });
      expect(aPage.map((j) => j.id)).toEqual(aIds.slice(2, 5));
      expect(aPage.every((j) => j.name === 'a')).toBe(true);
      for (const j of aPage) expect(j.result).toEqual(j.data);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});

describe('getJob', () => {
  it('returns data, progress, logs, attempts, errors with attempt numbers, result and state', async () => {
    const q = uniqueQueue('get');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      {
        a: async (j) => {
          await j.progress(20 * j.attempt);
          await j.log(`attempt ${j.attempt}`);
          if (j.attempt < 3) throw new Error(`boom${j.attempt}`);
          return { n: j.data.n + 1 };
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const t0 = Date.now();
      const h = await queue.enqueue(
        'a',
        { n: 41 },
        { attempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
      );
      expect(await h.finished({ timeoutMs: 5000 })).toEqual({ n: 42 });
      const info = await queue.getJob(h.id);
      expect(info).toMatchObject({
        id: h.id,
        name: 'a',
        queue: q,
        state: 'completed',
        data: { n: 41 },
        progress: 60,
        logs: ['attempt 1', 'attempt 2', 'attempt 3'],
        attemptsMade: 3,
        attempts: 3,
        result: { n: 42 },
        version: 1,
      });
      expect(info!.errors.map((e) => [e.attempt, e.message, e.code])).toEqual([
        [1, 'boom1', ErrorCode.HANDLER_FAILED],
        [2, 'boom2', ErrorCode.HANDLER_FAILED],
      ]);
      expect(info!.createdAt).toBeGreaterThanOrEqual(t0 - 1000);
      expect(info!.finishedAt).toBeGreaterThanOrEqual(info!.createdAt);
      expect(info!.dueAt).toBeUndefined();

      const before = Date.now();
      const d = await queue.enqueue('b', { s: 'later' }, { delayMs: 60_000 });
      const delayed = await queue.getJob(d.id, { queue: q });
      expect(delayed).toMatchObject({
        state: 'delayed',
        data: { s: 'later' },
        attemptsMade: 0,
        errors: [],
        logs: [],
      });
      expect(delayed!.dueAt).toBeGreaterThanOrEqual(before + 60_000 - 1000);
      expect(delayed!.dueAt).toBeLessThanOrEqual(Date.now() + 60_000 + 1000);
      expect(delayed!.result).toBeUndefined();

      expect(await queue.getJob('missing-1')).toBeUndefined();
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});

describe('operator actions', () => {
  it('retry() runs a failed job again with fresh attempts; refuses other states', async () => {
    const q = uniqueQueue('retry');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    let shouldFail = true;
    const attemptsSeen: number[] = [];
    const worker = createWorker(
      reg,
      {
        a: (j) => {
          attemptsSeen.push(j.attempt);
          if (shouldFail) throw new Error('down');
          return { n: j.data.n };
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('a', { n: 7 });
      await expect(h.finished({ timeoutMs: 5000 })).rejects.toThrow('down');
      expect(await queue.getJob(h.id)).toMatchObject({
        state: 'failed',
        attemptsMade: 1,
      });
      shouldFail = false;
      await queue.retry(h.id);
      expect(await queue.waitForResult('a', h.id, { timeoutMs: 5000 })).toEqual(
        {
          n: 7,
        },
      );
      // attemptsMade was reset: the rerun is attempt 1 again.
      expect(attemptsSeen).toEqual([1, 1]);
      const info = await queue.getJob(h.id);
      expect(info).toMatchObject({ state: 'completed', attemptsMade: 1 });
      expect(info!.errors).toHaveLength(1);
      expect(await queue.getCounts()).toMatchObject({
        failed: 0,
        completed: 1,
      });

      expect(await codeOf(queue.retry(h.id))).toBe(ErrorCode.JOB_NOT_IN_STATE);
      const w = await queue.enqueue('b', { s: 'w' });
      expect(await codeOf(queue.retry(w.id))).toBe(ErrorCode.JOB_NOT_IN_STATE);
      expect(await codeOf(queue.retry('nope-1'))).toBe(ErrorCode.JOB_NOT_FOUND);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('promote() runs a delayed job now; refuses a waiting one', async () => {
    const q = uniqueQueue('promo');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      { a: (j) => ({ n: j.data.n }) },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('a', { n: 3 }, { delayMs: 3_600_000 });
      await sleep(200);
      expect((await queue.getJob(h.id))?.state).toBe('delayed');
      await queue.promote(h.id);
      expect(await h.finished({ timeoutMs: 5000 })).toEqual({ n: 3 });
      expect(await queue.getCounts()).toMatchObject({
        delayed: 0,
        completed: 1,
      });
      expect(await codeOf(queue.promote(h.id))).toBe(
        ErrorCode.JOB_NOT_IN_STATE,
      );
      // b has no handler here: stays waiting.
      const w = await queue.enqueue('b', { s: 'w' });
      expect(await codeOf(queue.promote(w.id))).toBe(
        ErrorCode.JOB_NOT_IN_STATE,
      );
      expect((await queue.getJob(w.id))?.state).toBe('waiting');
      expect(await codeOf(queue.promote('nope-1'))).toBe(
        ErrorCode.JOB_NOT_FOUND,
      );
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('drain() removes waiting jobs, and delayed ones when asked', async () => {
    const q = uniqueQueue('drain');
    const reg = registryFor(q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const b = `jobwire:{${q}}:`;
    try {
      for (let i = 0; i < 4; i++) await queue.enqueue('a', { n: i });
      await queue.enqueue('b', { s: 'x' });
      for (let i = 0; i < 3; i++) {
        await queue.enqueue('a', { n: i }, { delayMs: 60_000 });
      }
      expect(await queue.drain()).toBe(5);
      expect(await queue.getCounts()).toMatchObject({ waiting: 0, delayed: 3 });
      expect(await raw.zcard(`${b}w:a`)).toBe(0);
      expect(await raw.zcard(`${b}w:b`)).toBe(0);
      expect(await scanKeys(raw, `${b}j:*`)).toHaveLength(3);

      expect(await queue.drain({ delayed: true })).toBe(3);
      const counts = await queue.getCounts();
      expect({ ...counts, byType: undefined }).toEqual({
        ...zero,
        byType: undefined,
      });
      expect(await scanKeys(raw, `${b}j:*`)).toEqual([]);
      // Only queue bookkeeping keys remain.
      const left = (await scanKeys(raw, `${b}*`))
        .map((k) => k.slice(b.length))
        .sort();
      for (const k of left) {
        expect([
          'counts',
          'events',
          'id',
          'm:a',
          'm:b',
          'meta',
          // The types' settings (layout 3), shared by later jobs too.
          'settings',
          'types',
        ]).toContain(k);
      }
      expect(await queue.drain({ delayed: true })).toBe(0);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });

  it('pause() stops every worker taking jobs until resume()', async () => {
    const q = uniqueQueue('pause');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
    });
    const seen: QueueEventName[] = [];
    events.on('event', (e) => seen.push(e.event));
    const worker = createWorker(
      reg,
      { a: (j) => ({ n: j.data.n }) },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      expect(await queue.isPaused(q)).toBe(false);
      await queue.pause({ queue: q });
      expect(await queue.isPaused(q)).toBe(true);
      const h = await queue.enqueue('a', { n: 1 });
      await sleep(1500);
      expect((await queue.getJob(h.id))?.state).toBe('waiting');
      expect(await queue.getCounts()).toMatchObject({ waiting: 1, active: 0 });
      await queue.resume({ queue: q });
      expect(await queue.isPaused(q)).toBe(false);
      expect(await h.finished({ timeoutMs: 5000 })).toEqual({ n: 1 });
      await waitFor(() => seen.includes('completed'), 5000, 'completed event');
      expect(seen.filter((e) => ['paused', 'resumed'].includes(e))).toEqual([
        'paused',
        'resumed',
      ]);
      expect(seen.indexOf('resumed')).toBeLessThan(seen.indexOf('active'));
      // pause() without a queue pauses every queue of the registry.
      await queue.pause();
      expect(await queue.isPaused(q)).toBe(true);
      await queue.resume();
      expect(await queue.isPaused(q)).toBe(false);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});

describe('job ids across queues', () => {
  it('finds a job in its queue by its id alone (issue-13-ids.test.ts covers the rest)', async () => {
    const [qa, qb] = [uniqueQueue(), uniqueQueue()];
    const reg = defineJobs({
      a: job({ queue: qa, payload: z.object({ n: z.number() }) }),
      b: job({ queue: qb, payload: z.object({ s: z.string() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const ja = await queue.enqueue('a', { n: 1 });
      const jb = await queue.enqueue('b', { s: 'x' });
      // Generated ids are unique across queues: no { queue } needed.
      expect(jb.id).not.toBe(ja.id);
      expect((await queue.getJob(ja.id))?.name).toBe('a');
      expect((await queue.getJob(jb.id, { queue: qb }))?.name).toBe('b');
      await queue.remove(jb.id, { queue: qb });
      expect(await queue.getJob(jb.id, { queue: qb })).toBeUndefined();
      expect((await queue.getJob(ja.id))?.name).toBe('a');
    } finally {
      await queue.close();
    }
  });
});
