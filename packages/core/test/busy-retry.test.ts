/**
 * A Lua script running past `busy-reply-threshold` makes Redis answer BUSY
 * to every other command until it ends (RELIABILITY.md S16: a job due
 * during it must start within 1 s of its end). A worker whose lease or
 * completion met BUSY used to back off by the error ladder (lease: 100 ms
 * doubling to 2 s; completion: 50 ms doubling to 1 s), so a 2 s BUSY could
 * leave it asleep for more than a second after Redis was back: the fault
 * suite's S16 saw a job start 1.23 s late. BUSY is retried at a short
 * fixed interval instead.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const quiet = { warn: () => {}, error: () => {} };

let admin: Redis;
beforeAll(async () => {
  admin = new Redis(redis.url);
  await admin.config('SET', 'busy-reply-threshold', '100');
});
afterAll(() => admin.disconnect());

/** Keeps Redis in a read-only script for `ms`; resolves at its end (local clock). */
async function busyFor(ms: number): Promise<number> {
  const busy = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  try {
    await busy.eval(
      [
        'local function us() local t = redis.call("TIME")',
        'return tonumber(t[1]) * 1000000 + tonumber(t[2]) end',
        'local s = us()',
        'while us() - s < tonumber(ARGV[1]) * 1000 do end',
        'return 1',
      ].join(' '),
      0,
      String(ms),
    );
    return Date.now();
  } finally {
    busy.disconnect();
  }
}

const registry = () =>
  defineJobs({
    t: job({
      queue: uniqueQueue('busy'),
      payload: z.object({ ms: z.number() }),
    }),
  });

describe('BUSY (a long script in Redis)', { timeout: 30_000 }, () => {
  it('a lease that met BUSY is retried soon after the script ends, not up to 2 s later', async () => {
    const reg = registry();
    const queue = createQueue(reg, { connection: redis.url, logger: quiet });
    const starts: number[] = [];
    const worker = createWorker(
      reg,
      { t: () => void starts.push(Date.now()) },
      { connection: redis.url, logger: quiet },
    );
    worker.on('error', () => {});
    try {
      await waitFor(() => worker.health().ready, 10_000, 'the worker');
      worker.pause();
      await queue.enqueue('t', { ms: 0 });
      const busyEnd = busyFor(2000);
      // Past the threshold: the lease that follows resume() gets BUSY, and
      // so do its retries while the script runs.
      await sleep(200);
      worker.resume();
      const ended = await busyEnd;
      await waitFor(() => starts.length === 1, 10_000, 'the job to start');
      // The old ladder's retries fell at about 0.1, 0.3, 0.7 and 1.5 s into
      // the resume, then slept 1.6 s: the job started about 1.25 s late.
      expect(starts[0]! - ended).toBeLessThan(700);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('a completion that met BUSY is retried soon after the script ends, not up to 1 s later', async () => {
    const reg = registry();
    const queue = createQueue(reg, { connection: redis.url, logger: quiet });
    let markStarted = () => {};
    const started = new Promise<void>((r) => (markStarted = r));
    const worker = createWorker(
      reg,
      {
        t: async (j) => {
          markStarted();
          await sleep(j.data.ms);
        },
      },
      { connection: redis.url, logger: quiet },
    );
    worker.on('error', () => {});
    let completedAt = 0;
    worker.on('completed', () => (completedAt = Date.now()));
    try {
      await waitFor(() => worker.health().ready, 10_000, 'the worker');
      const h = await queue.enqueue('t', { ms: 300 });
      await started;
      // The handler ends 0.3 s into the script: its completion meets BUSY.
      const ended = await busyFor(2000);
      await waitFor(() => completedAt > 0, 10_000, 'the completion');
      // The old ladder retried at about 0.05, 0.15, 0.35, 0.75 and 1.55 s
      // after the first BUSY, then slept 1 s: about 0.85 s late.
      expect(completedAt - ended).toBeLessThan(500);
      expect((await queue.getJob(h.id))?.state).toBe('completed');
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
