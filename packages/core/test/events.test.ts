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
import type { QueueEvent, QueueEvents } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function registryFor(queue: string) {
  return defineJobs({
    work: job({
      queue,
      payload: z.object({ n: z.number() }),
      result: z.object({ doubled: z.number() }),
    }),
  });
}

/** Reads `n` events through the async iterator, failing after `timeoutMs`. */
async function take(
  events: QueueEvents,
  n: number,
  timeoutMs = 5000,
): Promise<QueueEvent[]> {
  const it = events[Symbol.asyncIterator]();
  const out: QueueEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      it.next(),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      }),
    ]);
    clearTimeout(timer);
    if (r === 'timeout' || r.done === true) break;
    out.push(r.value);
  }
  return out;
}

describe('durable event log', () => {
  it('a reader created later replays the whole log from 0, typed, in order; resumes from an offset; $ sees only new events', async () => {
    const q = uniqueQueue('ev');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    let readers: QueueEvents[] = [];
    try {
      const worker = createWorker(
        reg,
        {
          work: async (j) => {
            await j.progress(10);
            await j.progress(50);
            await j.progress(90);
            return { doubled: j.data.n * 2 };
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      const h = await queue.enqueue('work', { n: 21 });
      try {
        expect(await h.finished({ timeoutMs: 5000 })).toEqual({ doubled: 42 });
      } finally {
        await worker.close();
      }

      // Created after the job finished: reads history from the log.
      const all = createQueueEvents({
        connection: redis.url,
        queue: q,
        from: '0',
      });
      readers.push(all);
      const seen = await take(all, 6);
      expect(seen.map((e) => e.event)).toEqual([
        'waiting',
        'active',
        'progress',
        'progress',
        'progress',
        'completed',
      ]);
      for (const e of seen) {
        expect(e.jobId).toBe(h.id);
        expect(e.name).toBe('work');
        expect(e.offset).toMatch(/^\d+-\d+$/);
        expect(e.timestamp).toBe(Number(e.offset.split('-')[0]));
      }
      // Offsets strictly increase.
      for (let i = 1; i < seen.length; i++) {
        expect(seen[i]!.timestamp).toBeGreaterThanOrEqual(
          seen[i - 1]!.timestamp,
        );
        expect(seen[i]!.offset).not.toBe(seen[i - 1]!.offset);
      }
      expect(seen.slice(2, 5).map((e) => e.progress)).toEqual([10, 50, 90]);
      expect(seen[5]!.result).toEqual({ doubled: 42 });
      expect(seen[0]!.result).toBeUndefined();
      expect(seen[0]!.progress).toBeUndefined();
      expect(all.offset).toBe(seen[5]!.offset);

      // Resume after the 'active' event: progress x3 then completed.
      const resumed = createQueueEvents({
        connection: redis.url,
        queue: q,
        from: seen[1]!.offset,
      });
      readers.push(resumed);
      const rest = await take(resumed, 4);
      expect(rest.map((e) => e.offset)).toEqual(
        seen.slice(2).map((e) => e.offset),
      );
      expect(rest.map((e) => e.event)).toEqual([
        'progress',
        'progress',
        'progress',
        'completed',
      ]);

      // '$': only events written after the reader started.
      const fresh = createQueueEvents({
        connection: redis.url,
        queue: q,
        from: '$',
      });
      readers.push(fresh);
      const got: QueueEvent[] = [];
      fresh.on('event', (e) => got.push(e));
      await waitFor(() => fresh.offset !== '$', 5000, '$ to resolve');
      const h2 = await queue.enqueue('work', { n: 1 });
      await waitFor(() => got.length >= 1, 5000, 'new event');
      await sleep(200);
      expect(got.map((e) => [e.event, e.jobId])).toEqual([['waiting', h2.id]]);
    } finally {
      await Promise.all(readers.map((r) => r.close()));
      readers = [];
      await queue.close();
    }
  });

  it('event listeners by name and the iterator see the same order', async () => {
    const q = uniqueQueue('ev');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
    });
    try {
      const waiting: string[] = [];
      events.on('waiting', (e) => waiting.push(e.jobId));
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await queue.enqueue('work', { n: i })).id);
      }
      await waitFor(() => waiting.length === 5, 5000, '5 waiting events');
      expect(waiting).toEqual(ids);
    } finally {
      await events.close();
      await queue.close();
    }
  });
});

describe('finished() from another process', () => {
  it('resolves for jobs finished before and after the call, and for jobs already removed by retention', async () => {
    const q = uniqueQueue('fin');
    const reg = registryFor(q);
    const producer = createQueue(reg, { connection: redis.url });
    const other = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      // Completed before the call; retention keeps it.
      const before = await producer.enqueue('work', { n: 1 });
      // Completed before the call; retention removes it at once.
      const gone = await producer.enqueue(
        'work',
        { n: 2 },
        { retention: { completed: false } },
      );
      const worker = createWorker(
        reg,
        { work: (j) => ({ doubled: j.data.n * 2 }) },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await waitFor(
          async () => (await producer.getCounts()).completed === 1,
          5000,
          'first job completed',
        );
        await waitFor(
          async () => (await raw.exists(`jobwire:{${q}}:j:${gone.id}`)) === 0,
          5000,
          'retention to remove the second job',
        );
      } finally {
        await worker.close();
      }
      expect(await other.waitForResult('work', before.id)).toEqual({
        doubled: 2,
      });
      // The hash is gone: the outcome comes from the log.
      expect(
        await other.waitForResult('work', gone.id, { timeoutMs: 5000 }),
      ).toEqual({ doubled: 4 });

      // Completed after the call.
      const later = await producer.enqueue('work', { n: 5 });
      const pending = other.waitForResult('work', later.id, {
        timeoutMs: 10_000,
      });
      await sleep(100);
      const worker2 = createWorker(
        reg,
        { work: (j) => ({ doubled: j.data.n * 2 }) },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        expect(await pending).toEqual({ doubled: 10 });
      } finally {
        await worker2.close();
      }
    } finally {
      await raw.quit();
      await other.close();
      await producer.close();
    }
  });

  it('rejects with the job error code for a failed job (kept or removed), JOB_NOT_FOUND for an unknown id, TIMEOUT after timeoutMs', async () => {
    const q = uniqueQueue('fin');
    const reg = registryFor(q);
    const producer = createQueue(reg, { connection: redis.url });
    const other = createQueue(reg, { connection: redis.url });
    try {
      const kept = await producer.enqueue('work', { n: 1 });
      const dropped = await producer.enqueue(
        'work',
        { n: 2 },
        { retention: { failed: false } },
      );
      const worker = createWorker(
        reg,
        {
          work: (j) => {
            throw new PermanentError(`no way ${j.data.n}`);
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await expect(kept.finished({ timeoutMs: 5000 })).rejects.toMatchObject({
          code: ErrorCode.PERMANENT,
          message: 'no way 1',
        });
        await expect(
          dropped.finished({ timeoutMs: 5000 }),
        ).rejects.toMatchObject({ code: ErrorCode.PERMANENT });
      } finally {
        await worker.close();
      }
      // From a process that never enqueued them, after the fact.
      const e1 = await other
        .waitForResult('work', kept.id, { timeoutMs: 5000 })
        .catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(JobwireError);
      expect((e1 as JobwireError).code).toBe(ErrorCode.PERMANENT);
      expect((e1 as JobwireError).message).toBe('no way 1');
      const e2 = await other
        .waitForResult('work', dropped.id, { timeoutMs: 5000 })
        .catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(JobwireError);
      expect((e2 as JobwireError).code).toBe(ErrorCode.PERMANENT);
      expect((e2 as JobwireError).message).toBe('no way 2');

      await expect(
        other.waitForResult('work', 'no-such-job', { timeoutMs: 5000 }),
      ).rejects.toMatchObject({ code: ErrorCode.JOB_NOT_FOUND });

      // Nobody runs it: the wait times out.
      const stuck = await producer.enqueue('work', { n: 3 });
      const t0 = Date.now();
      await expect(
        other.waitForResult('work', stuck.id, { timeoutMs: 300 }),
      ).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    } finally {
      await other.close();
      await producer.close();
    }
  });
});

describe('event stream cap', () => {
  it('keeps the stream near maxEvents (MAXLEN ~) over 1000 jobs', async () => {
    const q = uniqueQueue('cap');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url, maxEvents: 100 });
    const raw = new Redis(redis.url);
    const worker = createWorker(
      reg,
      { work: (j) => ({ doubled: j.data.n * 2 }) },
      {
        connection: redis.url,
        ...fastWorkerSettings,
        concurrency: 20,
        maxEvents: 100,
      },
    );
    try {
      let done = 0;
      worker.on('completed', () => done++);
      await queue.enqueueBulk(
        Array.from({ length: 1000 }, (_, n) => ({
          name: 'work' as const,
          payload: { n },
        })),
      );
      await waitFor(() => done === 1000, 25_000, '1000 completions');
      const len = await raw.xlen(`jobwire:{${q}}:events`);
      // 3000+ events were written; MAXLEN ~ trims whole nodes.
      expect(len).toBeGreaterThanOrEqual(100);
      expect(len).toBeLessThanOrEqual(400);
    } finally {
      await worker.close();
      await raw.quit();
      await queue.close();
    }
  });
});
