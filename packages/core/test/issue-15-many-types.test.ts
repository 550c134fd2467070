/**
 * Issue 15, `types50`: with many job types in one queue, a leasing call
 * used to read up to its whole batch from every type's lane (50 types,
 * 100 jobs: 5,000 ids read to take 100). Each lane now reads a share and
 * reads on only when its share runs out first. The order must not change:
 * priority first, then FIFO, across all lanes, within each type's quota.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { moveToActive } from '../src/redis/transitions/lease.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();
const payload = z.object({ n: z.number() });

describe('issue 15: leasing over many lanes', () => {
  it('takes priority, then FIFO, order across lanes when one lane holds most of the batch', async () => {
    const queue = uniqueQueue('lanes');
    const contract = defineJobs({
      a: job({ queue, payload }),
      b: job({ queue, payload }),
      c: job({ queue, payload }),
    });
    const producer = createQueue(contract, { connection: redis.url });
    const raw = new Redis(redis.url);
    const k = queueKeys('jobwire', queue);
    try {
      // 30 a's first, then 30 b's, then 30 c's, then 3 urgent c's: the best
      // 40 are the 3 urgent c's, all 30 a's (read in several shares) and
      // the first 7 b's.
      const ids = { a: [] as string[], b: [] as string[], c: [] as string[] };
      for (const name of ['a', 'b', 'c'] as const) {
        const handles = await producer.enqueueBulk(
          Array.from({ length: 30 }, (_, n) => ({ name, payload: { n } })),
        );
        ids[name] = handles.map((h) => h.id);
      }
      const urgent: string[] = [];
      for (let n = 0; n < 3; n++) {
        urgent.push(
          (await producer.enqueue('c', { n: 100 + n }, { priority: 'high' }))
            .id,
        );
      }
      const leased = await moveToActive(raw, k, 1000, {
        leaseMs: 30_000,
        tokenPrefix: 'm1',
        total: 40,
        immediate: 40,
        quotas: [
          ['a', 40],
          ['b', 40],
          ['c', 40],
        ],
      });
      expect(leased.jobs.map((j) => j.id)).toEqual([
        ...urgent,
        ...ids.a,
        ...ids.b.slice(0, 7),
      ]);
      // Exactly those left their lanes.
      expect(await raw.zcard(k.wait('a'))).toBe(0);
      expect(await raw.zcard(k.wait('b'))).toBe(23);
      expect(await raw.zcard(k.wait('c'))).toBe(30);

      // A type's quota caps it even when its jobs come first: 5 b's at
      // most, then c's in FIFO order.
      const next = await moveToActive(raw, k, 1000, {
        leaseMs: 30_000,
        tokenPrefix: 'm2',
        total: 20,
        immediate: 20,
        quotas: [
          ['b', 5],
          ['c', 40],
        ],
      });
      expect(next.jobs.map((j) => j.id)).toEqual([
        ...ids.b.slice(7, 12),
        ...ids.c.slice(0, 15),
      ]);
      expect(await raw.zcard(k.wait('b'))).toBe(18);
      expect(await raw.zcard(k.wait('c'))).toBe(15);
    } finally {
      await producer.close();
      await raw.quit();
    }
  });
});
