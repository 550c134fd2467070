import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

// Issue 12, defect 11: `runAt` is an absolute time, and every due time is
// Redis time. A producer whose clock is skewed must not move it: the
// script, not the producer, turns it into a delay.

const redis = useRedis();

async function redisMs(raw: Redis): Promise<number> {
  const [s, us] = await raw.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

afterEach(() => void vi.useRealTimers());

describe('issue 12: runAt is due by the Redis clock', () => {
  for (const skewMs of [300_000, -300_000]) {
    it(`a producer ${skewMs > 0 ? 'ahead' : 'behind'} by 300 s schedules runAt at that Redis time`, async () => {
      const q = uniqueQueue('runat');
      const reg = defineJobs({
        tick: job({ queue: q, payload: z.object({ n: z.number() }) }),
      });
      const raw = new Redis(redis.url);
      const queue = createQueue(reg, { connection: redis.url });
      let ranAt = 0;
      const worker = createWorker(
        reg,
        { tick: async () => void (ranAt = await redisMs(raw)) },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        const due = (await redisMs(raw)) + 1500;
        // Only the producer's Date is faked: its clock is off by skewMs.
        vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + skewMs });
        const h = await queue.enqueue(
          'tick',
          { n: 1 },
          { runAt: new Date(due) },
        );
        vi.useRealTimers();
        const score = Number(await raw.zscore(`jobwire:{${q}}:delayed`, h.id));
        // Ahead, the old code ran it at once; behind, 300 s late.
        expect(Math.abs(score - due)).toBeLessThan(200);
        await waitFor(() => ranAt > 0, 6000, 'the job to run');
        expect(ranAt).toBeGreaterThanOrEqual(due - 50);
        expect(ranAt).toBeLessThan(due + 2000);
      } finally {
        vi.useRealTimers();
        await worker.close();
        await queue.close();
        await raw.quit();
      }
    });
  }

  it('a runAt in the past (by Redis time) runs at once', async () => {
    const q = uniqueQueue('runat');
    const reg = defineJobs({
      tick: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const past = (await redisMs(raw)) - 10_000;
      const h = await queue.enqueue(
        'tick',
        { n: 1 },
        { runAt: new Date(past) },
      );
      expect((await queue.getJob(h.id))?.state).toBe('waiting');
    } finally {
      await queue.close();
      await raw.quit();
    }
  });
});
