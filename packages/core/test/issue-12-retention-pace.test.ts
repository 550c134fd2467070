/**
 * Issue 12, defect 8: a retention trim removed at most 100 jobs per call,
 * while one completion batch can add up to 1000, so under load the
 * completed set grew far past its bound (11,300 kept with `count: 100`). A
 * trim now removes at least as many jobs as the batch that fed it added.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

describe('issue 12: retention keeps pace with completion batches', () => {
  it('with concurrency 500 and count 100 the completed set never holds more than 100', async () => {
    const q = uniqueQueue('i12p');
    const reg = defineJobs({
      tiny: job({
        queue: q,
        payload: z.object({ n: z.number().int() }),
        retention: { completed: { count: 100 } },
      }),
    });
    const base = `jobwire:{${q}}:`;
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const total = 10_000;
    let done = 0;
    const worker = createWorker(
      reg,
      { tiny: () => {} },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 500 },
    );
    worker.on('completed', () => done++);
    let largest = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        largest = Math.max(largest, await raw.zcard(`${base}completed`));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      for (let start = 0; start < total; start += 5000) {
        await queue.enqueueBulk(
          Array.from({ length: 5000 }, (_, i) => ({
            name: 'tiny' as const,
            payload: { n: start + i },
          })),
        );
      }
      await waitFor(() => done === total, 30_000, `${total} completions`);
      sampling = false;
      await sampler;
      const kept = await raw.zcard(`${base}completed`);
      expect(kept).toBe(100);
      expect(largest).toBeLessThanOrEqual(100);
      expect((await queue.getCounts()).completed).toBe(100);
      expect(await raw.zcard(`${base}c:tiny`)).toBe(100);
    } finally {
      sampling = false;
      await sampler;
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  }, 40_000);
});
