import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  createWorker,
  defineJobs,
  job,
  JobwireError,
  PermanentError,
  TimeoutError,
  ValidationError,
} from '../src/index.ts';
import type { QueueEvent, WorkerOptions } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

const roundTo10 = (ms: number): number => Math.round(ms / 10) * 10;

function workerOpts(extra: WorkerOptions = {}): WorkerOptions {
  return { connection: redis.url, ...fastWorkerSettings, ...extra };
}

/** Collects the durable events of a queue from the start of its log. */
function collectEvents(queue: string): {
  events: QueueEvent[];
  close: () => Promise<void>;
} {
  const events: QueueEvent[] = [];
  const ev = createQueueEvents({ connection: redis.url, queue, from: '0' });
  ev.on('event', (e) => events.push(e));
  return { events, close: () => ev.close() };
}

function jobKey(queue: string, id: string): string {
  return `jobwire:{${queue}}:j:${id}`;
}

/** Writes a job by hand, as a foreign producer would. */
async function writeForeignJob(
  raw: Redis,
  queue: string,
  type: string,
  id: string,
  data: string,
  attempts: number,
): Promise<void> {
  const base = `jobwire:{${queue}}:`;
  const seq = 1_000_000;
  await raw.hset(jobKey(queue, id), {
    n: type,
    d: data,
    p: '0',
    sq: String(seq),
    o: JSON.stringify({ at: attempts, to: 0, kc: [1000, 0], kf: [10000, 0] }),
    t: String(Date.now()),
    v: '1',
    a: '0',
    s: 'w',
  });
  await raw.zadd(`${base}w:${type}`, seq, id);
  await raw.hincrby(`${base}counts`, `${type}|w`, 1);
  await raw.sadd(`${base}types`, type);
  await raw.zadd(`${base}m:${type}`, 0, '0');
}

async function closeAll(
  ...items: ({ close: () => Promise<unknown> } | undefined)[]
): Promise<void> {
  for (const item of items) await item?.close();
}

describe('worker: types, queues and concurrency', () => {
  it('serves several job types across two queues and stores results', async () => {
    const q1 = uniqueQueue('w1');
    const q2 = uniqueQueue('w2');
    const reg = defineJobs({
      add: job({
        queue: q1,
        payload: z.object({ a: z.number(), b: z.number() }),
        result: z.object({ sum: z.number() }),
      }),
      upper: job({
        queue: q1,
        payload: z.object({ s: z.string() }),
        result: z.string(),
      }),
      count: job({
        queue: q2,
        payload: z.object({ items: z.array(z.string()).default([]) }),
        result: z.object({ n: z.number().int() }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      {
        add: (j) => ({ sum: j.data.a + j.data.b }),
        upper: async (j) => {
          await sleep(5);
          return j.data.s.toUpperCase();
        },
        count: (j) => ({ n: j.data.items.length }),
      },
      workerOpts({ concurrency: 2 }),
    );
    try {
      const h1 = await queue.enqueue('add', { a: 2, b: 3 });
      const h2 = await queue.enqueue('upper', { s: 'abc' });
      const h3 = await queue.enqueue('count', { items: ['x', 'y', 'z'] });
      const h4 = await queue.enqueue('count', {});
      expect(h3.queue).toBe(q2);
      expect(await h1.finished({ timeoutMs: 5000 })).toEqual({ sum: 5 });
      expect(await h2.finished({ timeoutMs: 5000 })).toBe('ABC');
      expect(await h3.finished({ timeoutMs: 5000 })).toEqual({ n: 3 });
      expect(await h4.finished({ timeoutMs: 5000 })).toEqual({ n: 0 });

      const j1 = await queue.getJob(h1.id, { queue: q1 });
      expect(j1?.state).toBe('completed');
      expect(j1?.result).toEqual({ sum: 5 });
      expect(j1?.attemptsMade).toBe(1);
      const j3 = await queue.getJob(h3.id, { queue: q2 });
      expect(j3?.state).toBe('completed');
      expect(j3?.result).toEqual({ n: 3 });

      const c1 = await queue.getCounts({ queue: q1 });
      const c2 = await queue.getCounts({ queue: q2 });
      expect(c1.completed).toBe(2);
      expect(c1.byType.add?.completed).toBe(1);
      expect(c1.byType.upper?.completed).toBe(1);
      expect(c2.completed).toBe(2);
      expect(c1.active + c1.waiting + c2.active + c2.waiting).toBe(0);
    } finally {
      await closeAll(worker, queue);
    }
  });

  it('never runs more than `concurrency` handlers at once', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      slow: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    let current = 0;
    let max = 0;
    const done: number[] = [];
    const worker = createWorker(
      reg,
      {
        slow: async (j) => {
          current++;
          max = Math.max(max, current);
          await sleep(150);
          current--;
          done.push(j.data.n);
        },
      },
      workerOpts({ concurrency: 3 }),
    );
    try {
      const handles = await queue.enqueueBulk(
        Array.from({ length: 10 }, (_, n) => ({
          name: 'slow' as const,
          payload: { n },
        })),
      );
      await Promise.all(handles.map((h) => h.finished({ timeoutMs: 10_000 })));
      expect(done.sort((a, b) => a - b)).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
      ]);
      expect(max).toBe(3);
      const counts = await queue.getCounts({ queue: q });
      expect(counts.completed).toBe(10);
    } finally {
      await closeAll(worker, queue);
    }
  });

  it('caps one type with typeConcurrency while another runs in parallel', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      a: job({ queue: q, payload: z.object({ n: z.number() }) }),
      b: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const current = { a: 0, b: 0 };
    const max = { a: 0, b: 0 };
    const track = async (t: 'a' | 'b'): Promise<void> => {
      current[t]++;
      max[t] = Math.max(max[t], current[t]);
      await sleep(200);
      current[t]--;
    };
    const worker = createWorker(
      reg,
      { a: () => track('a'), b: () => track('b') },
      workerOpts({ concurrency: 4, typeConcurrency: { a: 1 } }),
    );
    try {
      const handles = await queue.enqueueBulk([
        ...Array.from({ length: 4 }, (_, n) => ({
          name: 'a' as const,
          payload: { n },
        })),
        ...Array.from({ length: 4 }, (_, n) => ({
          name: 'b' as const,
          payload: { n },
        })),
      ]);
      await Promise.all(handles.map((h) => h.finished({ timeoutMs: 10_000 })));
      expect(max.a).toBe(1);
      expect(max.b).toBeGreaterThanOrEqual(2);
      expect(max.a + max.b).toBeLessThanOrEqual(4);
    } finally {
      await closeAll(worker, queue);
    }
  });

  it('an idle worker sends only a few commands per second (no busy polling)', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const raw = new Redis(redis.url);
    const monitor = await raw.monitor();
    const worker = createWorker(reg, { t: () => undefined }, workerOpts());
    try {
      await waitFor(() => worker.health().ready, 5000, 'worker ready');
      await sleep(300);
      // Count commands sent by clients; commands run inside Lua scripts are
      // reported with source "lua" and are not round trips.
      const sent: string[] = [];
      const onCommand = (_t: string, args: string[], source: string): void => {
        if (!source.includes('lua')) sent.push(String(args[0]).toLowerCase());
      };
      monitor.on('monitor', onCommand);
      const t0 = Date.now();
      await sleep(2000);
      monitor.off('monitor', onCommand);
      const seconds = (Date.now() - t0) / 1000;
      // Stall checks (2/s) plus one blocking wait and one fetch per
      // blockTimeoutMs: about 4/s. A polling loop would send hundreds.
      expect(sent.length / seconds, sent.join(' ')).toBeLessThanOrEqual(10);
      expect(sent.length).toBeGreaterThan(0);
      expect(worker.running).toBe(0);
    } finally {
      await worker.close();
      monitor.disconnect();
      await raw.quit();
    }
  });
});

describe('worker: handler failures', () => {
  it('records every kind of thrown value, never crashes, and keeps working', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      bad: job({ queue: q, payload: z.object({ mode: z.string() }) }),
      good: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.number(),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const calls: string[] = [];
    const workerErrors: Error[] = [];
    const worker = createWorker(
      reg,
      {
        bad: (j) => {
          calls.push(j.data.mode);
          switch (j.data.mode) {
            case 'sync':
              throw new Error('sync boom');
            case 'async':
              return Promise.reject(new Error('async boom'));
            case 'string':
              throw 'plain string';
            case 'null':
              throw null;
            case 'undefined':
              return Promise.reject(undefined);
            case 'circular': {
              const err = new Error('circular boom') as Error & {
                cause?: unknown;
              };
              const inner: Record<string, unknown> = { err };
              inner.self = inner;
              err.cause = inner;
              throw err;
            }
            default:
              return undefined;
          }
        },
        good: (j) => j.data.n * 2,
      },
      workerOpts({ concurrency: 1 }),
    );
    worker.on('error', (e) => workerErrors.push(e));
    try {
      const modes = [
        'sync',
        'async',
        'string',
        'null',
        'undefined',
        'circular',
      ];
      const expected: Record<string, RegExp> = {
        sync: /sync boom/,
        async: /async boom/,
        string: /plain string/,
        null: /null/,
        undefined: /undefined/,
        circular: /circular boom/,
      };
      for (const mode of modes) {
        const h = await queue.enqueue('bad', { mode });
        const err = await h.finished({ timeoutMs: 5000 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, mode).toBeInstanceOf(JobwireError);
        const info = await queue.getJob(h.id, { queue: q });
        expect(info?.state, mode).toBe('failed');
        expect(info?.errors, mode).toHaveLength(1);
        const recorded = info!.errors[0]!;
        expect(recorded.code, mode).toBe('HANDLER_FAILED');
        expect(recorded.message, mode).toMatch(expected[mode]!);
        expect(recorded.attempt, mode).toBe(1);
        // The worker is still alive: a following normal job completes.
        const g = await queue.enqueue('good', { n: 21 });
        expect(await g.finished({ timeoutMs: 5000 }), mode).toBe(42);
      }
      expect(calls).toEqual(modes);
      expect(worker.health().ready).toBe(true);
      expect(workerErrors).toEqual([]);
    } finally {
      await closeAll(worker, queue);
    }
  });

  it('a hanging handler fails with TIMEOUT and its signal aborts with TimeoutError', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      hang: job({ queue: q, payload: z.object({ n: z.number() }) }),
      good: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    let startedAt = 0;
    let signal: AbortSignal | undefined;
    let unblock: () => void = () => {};
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    const failedAt: number[] = [];
    let goodRan = false;
    const worker = createWorker(
      reg,
      {
        hang: async (j) => {
          startedAt = Date.now();
          signal = j.signal;
          await blocked; // ignores its signal
        },
        good: () => {
          goodRan = true;
        },
      },
      workerOpts({ concurrency: 1 }),
    );
    worker.on('failed', () => failedAt.push(Date.now()));
    try {
      const h = await queue.enqueue('hang', { n: 1 }, { timeoutMs: 300 });
      const err = await h.finished({ timeoutMs: 5000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JobwireError);
      expect((err as JobwireError).code).toBe('TIMEOUT');
      await waitFor(() => failedAt.length === 1, 2000, 'failed event');
      const elapsed = failedAt[0]! - startedAt;
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThanOrEqual(900);
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBeInstanceOf(TimeoutError);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('failed');
      expect(info?.errors[0]?.code).toBe('TIMEOUT');
      // The slot was freed although the handler still hangs.
      const g = await queue.enqueue('good', { n: 2 });
      await g.finished({ timeoutMs: 5000 });
      expect(goodRan).toBe(true);
    } finally {
      unblock();
      await closeAll(worker, queue);
    }
  });
});

describe('worker: attempts and backoff', () => {
  it('PermanentError fails at once despite attempts left', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      p: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        attempts: 5,
        backoff: { type: 'fixed', delayMs: 10 },
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    let calls = 0;
    const worker = createWorker(
      reg,
      {
        p: () => {
          calls++;
          throw new PermanentError('no point retrying');
        },
      },
      workerOpts(),
    );
    try {
      const h = await queue.enqueue('p', { n: 1 });
      await expect(h.finished({ timeoutMs: 5000 })).rejects.toMatchObject({
        code: 'PERMANENT',
      });
      await sleep(300);
      expect(calls).toBe(1);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('failed');
      expect(info?.attemptsMade).toBe(1);
      expect(info?.errors).toHaveLength(1);
      expect(info?.errors[0]?.code).toBe('PERMANENT');
      expect(info?.errors[0]?.message).toBe('no point retrying');
    } finally {
      await closeAll(worker, queue);
    }
  });

  it('retries with exponential backoff, then fails with every error recorded', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      r: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const events = collectEvents(q);
    const times: number[] = [];
    const attemptsSeen: number[] = [];
    const worker = createWorker(
      reg,
      {
        r: (j) => {
          times.push(Date.now());
          attemptsSeen.push(j.attempt);
          throw new Error(`fail ${j.attempt}`);
        },
      },
      workerOpts(),
    );
    try {
      const h = await queue.enqueue(
        'r',
        { n: 1 },
        {
          attempts: 3,
          backoff: { type: 'exponential', delayMs: 100, jitter: 0 },
        },
      );
      await expect(h.finished({ timeoutMs: 10_000 })).rejects.toMatchObject({
        code: 'HANDLER_FAILED',
        message: 'fail 3',
      });
      await sleep(300);
      expect(times).toHaveLength(3);
      expect(attemptsSeen).toEqual([1, 2, 3]);
      const gap1 = times[1]! - times[0]!;
      const gap2 = times[2]! - times[1]!;
      expect(gap1).toBeGreaterThanOrEqual(100);
      expect(gap1).toBeLessThanOrEqual(600);
      expect(gap2).toBeGreaterThanOrEqual(200);
      expect(gap2).toBeLessThanOrEqual(700);

      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('failed');
      expect(info?.attemptsMade).toBe(3);
      expect(info?.errors.map((e) => [e.attempt, e.message])).toEqual([
        [1, 'fail 1'],
        [2, 'fail 2'],
        [3, 'fail 3'],
      ]);

      await waitFor(
        () => events.events.some((e) => e.event === 'failed'),
        3000,
        'failed event',
      );
      const mine = events.events.filter((e) => e.jobId === h.id);
      expect(
        mine
          .filter((e) => ['active', 'retrying', 'failed'].includes(e.event))
          .map((e) => e.event),
      ).toEqual([
        'active',
        'retrying',
        'active',
        'retrying',
        'active',
        'failed',
      ]);
      const retrying = mine.filter((e) => e.event === 'retrying');
      // due = time of failure + backoff (no jitter). The event's stream id
      // may read the clock 1-2 ms after the script's TIME, hence the rounding.
      expect(
        retrying.map((e) => roundTo10((e.due ?? 0) - e.timestamp)),
      ).toEqual([100, 200]);
      expect(retrying.map((e) => e.error?.message)).toEqual([
        'fail 1',
        'fail 2',
      ]);
    } finally {
      await closeAll(worker, events, queue);
    }
  });

  it('honours a backoff function from the job definition', async () => {
    const q = uniqueQueue();
    const backoffCalls: [number, string][] = [];
    const reg = defineJobs({
      r: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        attempts: 3,
        backoff: (attempt, error) => {
          backoffCalls.push([attempt, error.message]);
          return 50 * attempt;
        },
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const events = collectEvents(q);
    const times: number[] = [];
    const worker = createWorker(
      reg,
      {
        r: (j) => {
          times.push(Date.now());
          throw new Error(`boom ${j.attempt}`);
        },
      },
      workerOpts(),
    );
    try {
      const h = await queue.enqueue('r', { n: 1 });
      await expect(h.finished({ timeoutMs: 10_000 })).rejects.toMatchObject({
        message: 'boom 3',
      });
      expect(times).toHaveLength(3);
      expect(backoffCalls).toEqual([
        [1, 'boom 1'],
        [2, 'boom 2'],
      ]);
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(50);
      expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(100);
      await waitFor(
        () => events.events.some((e) => e.event === 'failed'),
        3000,
        'failed event',
      );
      const retrying = events.events.filter((e) => e.event === 'retrying');
      expect(
        retrying.map((e) => roundTo10((e.due ?? 0) - e.timestamp)),
      ).toEqual([50, 100]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('failed');
      expect(info?.errors).toHaveLength(3);
    } finally {
      await closeAll(worker, events, queue);
    }
  });
});

describe('worker: validation on the worker side', () => {
  it('a result violating the result schema fails with VALIDATION_FAILED', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      v: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ count: z.number().int() }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    let calls = 0;
    const worker = createWorker(
      reg,
      {
        v: () => {
          calls++;
          return { count: 'many' } as unknown as { count: number };
        },
      },
      workerOpts(),
    );
    try {
      const h = await queue.enqueue('v', { n: 1 }, { attempts: 3 });
      const err = await h.finished({ timeoutMs: 5000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ValidationError);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('failed');
      expect(info?.result).toBeUndefined();
      expect(info?.errors).toHaveLength(1);
      expect(calls).toBe(1);
      const recorded = info!.errors[0]!;
      expect(recorded.code).toBe('VALIDATION_FAILED');
      expect(recorded.issues?.map((i) => i.path)).toEqual(['count']);
    } finally {
      await closeAll(worker, queue);
    }
  });

  it('an invalid foreign payload fails at once without calling the handler', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      mail: job({
        queue: q,
        payload: z.object({ to: z.string(), subject: z.string() }),
        attempts: 3,
        backoff: { type: 'fixed', delayMs: 10 },
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const seen: string[] = [];
    const worker = createWorker(
      reg,
      {
        mail: (j) => {
          seen.push(j.id);
        },
      },
      workerOpts(),
    );
    try {
      await writeForeignJob(
        raw,
        q,
        'mail',
        'foreign-1',
        JSON.stringify({ to: 'a@b.co', subj: 'hi' }),
        3,
      );
      await waitFor(
        async () =>
          (await queue.getJob('foreign-1', { queue: q }))?.state === 'failed',
        5000,
        'foreign job failed',
      );
      const h = await queue.enqueue('mail', { to: 'a@b.co', subject: 'ok' });
      await h.finished({ timeoutMs: 5000 });
      await sleep(200);
      const info = await queue.getJob('foreign-1', { queue: q });
      expect(info?.state).toBe('failed');
      expect(info?.errors).toHaveLength(1);
      expect(info?.attemptsMade).toBe(1);
      const e0 = info!.errors[0]!;
      expect(e0.code).toBe('VALIDATION_FAILED');
      expect(e0.issues?.map((i) => i.path)).toContain('subject');
      expect(seen).toEqual([h.id]);
      expect(await raw.zscore(`jobwire:{${q}}:delayed`, 'foreign-1')).toBe(
        null,
      );
    } finally {
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });

  it('garbled JSON data fails with CORRUPT_JOB', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      mail: job({
        queue: q,
        payload: z.object({ to: z.string() }),
        attempts: 3,
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    let calls = 0;
    const worker = createWorker(
      reg,
      {
        mail: () => {
          calls++;
        },
      },
      workerOpts(),
    );
    try {
      await writeForeignJob(raw, q, 'mail', 'garbled-1', '{"to": "x', 3);
      await waitFor(
        async () =>
          (await queue.getJob('garbled-1', { queue: q }))?.state === 'failed',
        5000,
        'garbled job failed',
      );
      const info = await queue.getJob('garbled-1', { queue: q });
      expect(info?.errors).toHaveLength(1);
      expect(info?.errors[0]?.code).toBe('CORRUPT_JOB');
      expect(calls).toBe(0);
      const h = await queue.enqueue('mail', { to: 'x' });
      await h.finished({ timeoutMs: 5000 });
      expect(calls).toBe(1);
    } finally {
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });
});

describe('worker: progress and logs', () => {
  it('validates, persists and publishes progress; persists log lines', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      render: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        progress: z.object({
          percent: z.number().min(0).max(100),
          stage: z.string(),
        }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const events = collectEvents(q);
    let invalid: unknown;
    const worker = createWorker(
      reg,
      {
        render: async (j) => {
          await j.progress({ percent: 50, stage: 'half' });
          try {
            await j.progress({ percent: 500, stage: 'over' });
          } catch (err) {
            invalid = err;
          }
          await j.log('first line');
          // Handlers often destructure their helpers: those work too.
          const { log, progress } = j;
          await log('second line');
          await progress({ percent: 100, stage: 'done' });
        },
      },
      workerOpts(),
    );
    try {
      const h = await queue.enqueue('render', { n: 1 });
      await h.finished({ timeoutMs: 5000 });
      expect(invalid).toBeInstanceOf(ValidationError);
      expect((invalid as ValidationError).code).toBe('VALIDATION_FAILED');
      expect((invalid as ValidationError).issues.map((i) => i.path)).toEqual([
        'percent',
      ]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('completed');
      expect(info?.progress).toEqual({ percent: 100, stage: 'done' });
      expect(info?.logs).toEqual(['first line', 'second line']);
      await waitFor(
        () => events.events.some((e) => e.event === 'completed'),
        3000,
        'completed event',
      );
      const progress = events.events
        .filter((e) => e.event === 'progress' && e.jobId === h.id)
        .map((e) => e.progress);
      expect(progress).toEqual([
        { percent: 50, stage: 'half' },
        { percent: 100, stage: 'done' },
      ]);
    } finally {
      await closeAll(worker, events, queue);
    }
  });
});

describe('worker: pause and resume', () => {
  it('queue.pause() stops workers from taking jobs; resume() lets them run', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const started: number[] = [];
    const worker = createWorker(
      reg,
      {
        t: (j) => {
          started.push(j.data.n);
        },
      },
      workerOpts({ concurrency: 3 }),
    );
    try {
      await waitFor(() => worker.health().ready, 5000, 'worker ready');
      await queue.pause({ queue: q });
      expect(await queue.isPaused(q)).toBe(true);
      const handles = [];
      for (let n = 0; n < 3; n++) handles.push(await queue.enqueue('t', { n }));
      await sleep(1500);
      expect(started).toEqual([]);
      expect((await queue.getCounts({ queue: q })).waiting).toBe(3);
      const resumedAt = Date.now();
      await queue.resume({ queue: q });
      await Promise.all(handles.map((h) => h.finished({ timeoutMs: 3000 })));
      expect(Date.now() - resumedAt).toBeLessThan(1500);
      expect(started.sort()).toEqual([0, 1, 2]);
    } finally {
      await closeAll(worker, queue);
    }
  });

  it('worker.pause() stops this worker taking jobs; resume() lets it run', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const started: number[] = [];
    const worker = createWorker(
      reg,
      {
        t: (j) => {
          started.push(j.data.n);
        },
      },
      workerOpts({ concurrency: 3 }),
    );
    try {
      await waitFor(() => worker.health().ready, 5000, 'worker ready');
      worker.pause();
      expect(worker.health().paused).toBe(true);
      const handles = [];
      for (let n = 0; n < 3; n++) handles.push(await queue.enqueue('t', { n }));
      await sleep(1500);
      expect(started).toEqual([]);
      expect((await queue.getCounts({ queue: q })).waiting).toBe(3);
      const resumedAt = Date.now();
      worker.resume();
      await Promise.all(handles.map((h) => h.finished({ timeoutMs: 3000 })));
      expect(Date.now() - resumedAt).toBeLessThan(1500);
      expect(started.sort()).toEqual([0, 1, 2]);
    } finally {
      await closeAll(worker, queue);
    }
  });

  it('worker.pause() and resume() report no errors', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const errors: Error[] = [];
    const worker = createWorker(reg, { t: () => undefined }, workerOpts());
    worker.on('error', (e) => errors.push(e));
    try {
      await waitFor(() => worker.health().ready, 5000, 'worker ready');
      await sleep(100); // let the worker block waiting for jobs
      worker.pause();
      await sleep(300);
      worker.resume();
      const h = await queue.enqueue('t', { n: 1 });
      await h.finished({ timeoutMs: 3000 });
      // Pausing is a normal operation: it must not surface as an error
      // ("Redis unavailable") to error listeners and alerting.
      expect(errors.map((e) => e.message)).toEqual([]);
    } finally {
      await closeAll(worker, queue);
    }
  });
});
