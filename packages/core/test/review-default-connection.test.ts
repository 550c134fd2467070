/**
 * Found by an outside review (2026-12-01): the README's example gave its
 * producer `connection: process.env.REDIS_URL` and its worker nothing, so
 * with REDIS_URL set the worker watched 127.0.0.1:6379 and `finished()`
 * never settled. Without `connection`, everything now connects to
 * REDIS_URL, else to 127.0.0.1:6379.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
const saved = process.env.REDIS_URL;

afterEach(() => {
  if (saved === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = saved;
});

describe('the default connection', () => {
  it('a queue and a worker given no connection use REDIS_URL', async () => {
    process.env.REDIS_URL = redis.url;
    const q = uniqueQueue('defconn');
    const jobs = defineJobs({
      echo: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.number(),
      }),
    });
    const queue = createQueue(jobs);
    const worker = createWorker(
      jobs,
      { echo: (j) => Promise.resolve(j.data.n * 2) },
      fastWorkerSettings,
    );
    const raw = new Redis(redis.url);
    try {
      const handle = await queue.enqueue('echo', { n: 21 });
      expect(await handle.finished({ timeoutMs: 5000 })).toBe(42);
      expect(await raw.exists(`jobwire:{${q}}:completed`)).toBe(1);
    } finally {
      raw.disconnect();
      await worker.close();
      await queue.close();
    }
  });

  it('an empty REDIS_URL counts as unset', async () => {
    process.env.REDIS_URL = '';
    const { defaultRedisUrl } = await import('../src/redis/connection.ts');
    expect(defaultRedisUrl()).toBe('redis://127.0.0.1:6379');
  });
});
