import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

// Issue 12, defect 14: a result schema with `.optional()` accepts a handler
// that returns nothing; such a job completes with no result (it failed
// with NOT_JSON: "undefined has no JSON form").

const redis = useRedis();

describe('issue 12: an optional result', () => {
  it('a handler returning nothing completes; finished, waitForResult and getJob give undefined', async () => {
    const q = uniqueQueue('optres');
    const reg = defineJobs({
      lookup: job({
        queue: q,
        payload: z.object({ hit: z.boolean() }),
        result: z.object({ value: z.number() }).optional(),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      {
        lookup: (j) => (j.data.hit ? { value: 42 } : undefined),
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const miss = await queue.enqueue('lookup', { hit: false });
      const hit = await queue.enqueue('lookup', { hit: true });
      expect(await miss.finished({ timeoutMs: 5000 })).toBeUndefined();
      expect(await hit.finished({ timeoutMs: 5000 })).toEqual({ value: 42 });
      expect(
        await queue.waitForResult('lookup', miss.id, { timeoutMs: 5000 }),
      ).toBeUndefined();
      const info = await queue.getJob(miss.id);
      expect(info?.state).toBe('completed');
      expect(info?.errors).toEqual([]);
      expect(info?.result).toBeUndefined();
      expect((await queue.getJob(hit.id))?.result).toEqual({ value: 42 });
      const counts = await queue.getCounts();
      expect(counts.completed).toBe(2);
      expect(counts.failed).toBe(0);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
