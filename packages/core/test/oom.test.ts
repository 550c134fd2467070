import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { JobwireError } from '../src/index.ts';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  RedisOutOfMemoryError,
} from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis({ extraArgs: ['--maxmemory-policy', 'noeviction'] });

describe('Redis out of memory', () => {
  it('refuses enqueues whole and loses no active job', async () => {
    const queue = uniqueQueue();
    const jobs = defineJobs({
      fill: job({ queue, payload: z.object({ blob: z.string() }) }),
    });
    const admin = new Redis(redis.url);
    const q = createQueue(jobs, { connection: redis.url });
    const k = queueKeys('jobwire', queue);
    try {
      const baseline = Number(
        /used_memory:(\d+)/.exec(await admin.info('memory'))![1],
      );
      await admin.config('SET', 'maxmemory', String(baseline + 2_000_000));
      const blob = 'x'.repeat(20_000);
      let refused: unknown;
      let stored = 0;
      for (let i = 0; i < 1000 && refused === undefined; i++) {
        try {
          await q.enqueue('fill', { blob });
          stored++;
        } catch (err) {
          refused = err;
        }
      }
      expect(refused).toBeInstanceOf(RedisOutOfMemoryError);
      expect((refused as JobwireError).code).toBe(
        ErrorCode.REDIS_OUT_OF_MEMORY,
      );
      // All or nothing: every stored hash is indexed, every index entry has a hash.
      const waiting = await admin.zrange(k.wait('fill'), 0, '-1');
      const hashes = (await admin.keys(`${k.base}j:*`)).filter(
        (key) => !key.endsWith(':log'),
      );
      expect(waiting).toHaveLength(stored);
      expect(hashes.sort()).toEqual(waiting.map((id) => k.job(id)).sort());
      expect(await admin.hget(k.counts, 'fill|w')).toBe(String(stored));

      // Once memory is back, the same queue object works again, and the
      // jobs it stored all complete.
      await admin.config('SET', 'maxmemory', '0');
      const worker = createWorker(
        jobs,
        { fill: async () => {} },
        {
          connection: redis.url,
          concurrency: 20,
          blockTimeoutMs: 1000,
        },
      );
      try {
        await q.enqueue('fill', { blob: 'small' });
        const deadline = Date.now() + 10_000;
        while ((await q.getCounts()).completed < stored + 1) {
          if (Date.now() > deadline) throw new Error('jobs did not complete');
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await worker.close();
      }
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await q.close();
      await admin.quit();
    }
  });
});
