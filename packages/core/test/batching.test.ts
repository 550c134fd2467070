import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  JobwireError,
  ValidationError,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

/** Script calls (EVALSHA + EVAL) Redis has run so far. */
async function scriptCalls(raw: Redis): Promise<number> {
  const info = await raw.info('commandstats');
  let calls = 0;
  for (const m of info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g))
    calls += Number(m[1]);
  return calls;
}

function registry(queue: string) {
  return defineJobs({
    task: job({
      queue,
      payload: z.object({ n: z.number().int() }),
      retention: { completed: { count: 1000 } },
    }),
    checked: job({
      queue,
      // An async refinement: the worker must still validate it.
      payload: z
        .object({ n: z.number() })
        .refine(async (v) => Promise.resolve(v.n >= 0), {
          message: 'n must be >= 0',
          path: ['n'],
        }),
    }),
  });
}

describe('batched round trips', () => {
  it('stores concurrent enqueues in shared script calls, each with its own outcome', async () => {
    const queue = uniqueQueue();
    const raw = new Redis(redis.url);
    const q = createQueue(registry(queue), { connection: redis.url });
    try {
      await q.enqueue('task', { n: -1 }); // connects and warms up
      const before = await scriptCalls(raw);
      const calls = Array.from({ length: 300 }, (_, i) =>
        q.enqueue('task', { n: i }, i % 100 === 7 ? { jobId: 'same' } : {}),
      );
      // A bad payload among them is refused alone, before Redis.
      const bad = expect(
        q.enqueue('task', { n: 'x' } as never),
      ).rejects.toBeInstanceOf(ValidationError);
      const handles = await Promise.all(calls);
      await bad;
      const used = (await scriptCalls(raw)) - before;
      // 300 jobs in batches of at most 100, plus a lone first one.
      expect(used).toBeLessThanOrEqual(5);
      expect(new Set(handles.map((h) => h.id)).size).toBe(298);
      expect(handles.filter((h) => h.duplicate)).toHaveLength(2);
      const counts = await q.getCounts();
      expect(counts.waiting).toBe(299);
    } finally {
      await q.close();
      await raw.quit();
    }
  });

  it('completes jobs in batches that also lease the next ones, keeping counts exact', async () => {
    const queue = uniqueQueue();
    const raw = new Redis(redis.url);
    const jobs = registry(queue);
    const q = createQueue(jobs, { connection: redis.url });
    const seen = new Set<number>();
    let running = 0;
    let maxRunning = 0;
    const w = createWorker(
      jobs,
      {
        task: async (j) => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await new Promise((r) => setTimeout(r, j.data.n % 3));
          seen.add(j.data.n);
          running--;
          return undefined;
        },
      },
      {
        connection: redis.url,
        ...fastWorkerSettings,
        concurrency: 20,
        autorun: false,
      },
    );
    try {
      await q.enqueueBulk(
        Array.from({ length: 600 }, (_, i) => ({
          name: 'task' as const,
          payload: { n: i },
        })),
      );
      const before = await scriptCalls(raw);
      w.run();
      await waitFor(
        async () => (await q.getCounts()).completed === 600,
        20_000,
        '600 completions',
      );
      const used = (await scriptCalls(raw)) - before;
      expect(seen.size).toBe(600);
      expect(maxRunning).toBeLessThanOrEqual(20);
      // One call per job each way would be 1,200.
      expect(used).toBeLessThan(300);
      const counts = await q.getCounts();
      expect(counts).toMatchObject({ waiting: 0, active: 0, completed: 600 });
      expect(await raw.zcard(`jobwire:{${queue}}:active`)).toBe(0);
    } finally {
      await w.close();
      await q.close();
      await raw.quit();
    }
  });

  it('grows a one-slot pipeline once prefetching switches on', async () => {
    const queue = uniqueQueue();
    const raw = new Redis(redis.url);
    const jobs = registry(queue);
    const q = createQueue(jobs, { connection: redis.url });
    let done = 0;
    // Instant and synchronous, with the backlog there before the worker
    // starts: its first fetch, before any handler was timed, takes one job,
    // and completions come back before the fetch loop could run. So only
    // the completion batches can fill the prefetch buffer; they once leased
    // just one job per completed job, and the pipeline stayed at one.
    const w = createWorker(
      jobs,
      { task: () => void done++ },
      {
        connection: redis.url,
        ...fastWorkerSettings,
        concurrency: 1,
        autorun: false,
      },
    );
    try {
      await q.enqueueBulk(
        Array.from({ length: 400 }, (_, i) => ({
          name: 'task' as const,
          payload: { n: i },
        })),
      );
      const before = await scriptCalls(raw);
      w.run();
      await waitFor(() => done === 400, 20_000, '400 jobs');
      const used = (await scriptCalls(raw)) - before;
      // With the default prefetch of 16 a call carries about 8 jobs.
      expect(used).toBeLessThan(100);
    } finally {
      await w.close();
      await q.close();
      await raw.quit();
    }
  });

  it('validates payloads with async refinements in the worker', async () => {
    const queue = uniqueQueue();
    const jobs = registry(queue);
    // The producer's contract is synchronous; the worker's adds an async check.
    const producer = defineJobs({
      checked: job({ queue, payload: z.object({ n: z.number() }) }),
    });
    const q = createQueue(producer, { connection: redis.url });
    const ran: number[] = [];
    const w = createWorker(
      jobs,
      { checked: (j) => void ran.push(j.data.n) },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const bad = await q.enqueue('checked', { n: -1 });
      const err = await bad.finished({ timeoutMs: 5000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(String((err as Error).message)).toMatch(/n must be >= 0/);
      const ok = await q.enqueue('checked', { n: 2 });
      await ok.finished({ timeoutMs: 5000 });
      expect(ran).toEqual([2]);
    } finally {
      await w.close();
      await q.close();
    }
  });

  it('refuses an async payload schema at enqueue with a clear error, writing nothing', async () => {
    const queue = uniqueQueue();
    const q = createQueue(registry(queue), { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      const err = await q.enqueue('checked', { n: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JobwireError);
      expect(err).toMatchObject({ code: 'INVALID_OPTION' });
      expect((err as Error).message).toMatch(
        /payload schema of checked is async/,
      );
      expect(await raw.keys(`jobwire:{${queue}}:*`)).toEqual([]);
    } finally {
      await q.close();
      await raw.quit();
    }
  });

  it('writes enqueues accepted before close()', async () => {
    const queue = uniqueQueue();
    const q = createQueue(registry(queue), { connection: redis.url });
    await q.enqueue('task', { n: 0 });
    const pending = Array.from({ length: 50 }, (_, i) =>
      q.enqueue('task', { n: i + 1 }),
    );
    await q.close();
    const handles = await Promise.all(pending);
    expect(handles).toHaveLength(50);
    const raw = new Redis(redis.url);
    try {
      expect(await raw.zcard(`jobwire:{${queue}}:w:task`)).toBe(51);
    } finally {
      await raw.quit();
    }
    await expect(q.enqueue('task', { n: 99 })).rejects.toBeInstanceOf(
      JobwireError,
    );
  });

  it('finished() of a reused custom id waits for the new job, not the old outcome', async () => {
    const queue = uniqueQueue();
    const jobs = defineJobs({
      echo: job({
        queue,
        payload: z.object({ v: z.string() }),
        result: z.object({ v: z.string() }),
        retention: { completed: false },
      }),
    });
    const q = createQueue(jobs, { connection: redis.url });
    let gate: (() => void) | undefined;
    const w = createWorker(
      jobs,
      {
        echo: async (j) => {
          if (j.data.v === 'second') await new Promise<void>((r) => (gate = r));
          return { v: j.data.v };
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const first = await q.enqueue('echo', { v: 'first' }, { jobId: 'x' });
      expect(await first.finished({ timeoutMs: 5000 })).toEqual({ v: 'first' });
      // Removed at completion, so the id is free again.
      const second = await q.enqueue('echo', { v: 'second' }, { jobId: 'x' });
      expect(second.duplicate).toBe(false);
      const result = second.finished({ timeoutMs: 5000 });
      // The handler holds the second job until its outcome can only be new.
      await waitFor(() => gate !== undefined, 5000, 'second running');
      gate?.();
      expect(await result).toEqual({ v: 'second' });
    } finally {
      await w.close();
      await q.close();
    }
  });
});
