/**
 * Issue 15: a job of priority 0 (the default) stores no priority field:
 * every reader takes a missing one as 0, and the entry cost each job hash
 * memory and its enqueue an HSET field. A prioritized job keeps it, through
 * a failed attempt's retry as well, and still runs before older jobs.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { JobField } from '../src/redis/job-fields.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

describe('issue 15: the job hash leaves priority 0 out', () => {
  it('stores a priority only when it is not 0, and runs by priority as before', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        attempts: 2,
        backoff: { type: 'fixed', delayMs: 1 },
      }),
    });
    const k = queueKeys('jobwire', q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const plain = await queue.enqueue('t', { n: 1 });
      const urgent = await queue.enqueue('t', { n: 2 }, { priority: -5 });
      expect(await raw.hexists(k.job(plain.id), JobField.priority)).toBe(0);
      expect(await raw.hget(k.job(urgent.id), JobField.priority)).toBe('-5');
      expect((await queue.getJob(plain.id))?.priority).toBe(0);
      expect((await queue.getJob(urgent.id))?.priority).toBe(-5);

      const order: number[] = [];
      let failedOnce = false;
      const worker = createWorker(
        reg,
        {
          t: (j) => {
            order.push(j.data.n);
            // The urgent job fails once: its retry keeps its priority.
            if (j.data.n === 2 && !failedOnce) {
              failedOnce = true;
              throw new Error('once');
            }
          },
        },
        { ...fastWorkerSettings, connection: redis.url, concurrency: 1 },
      );
      try {
        await waitFor(() => order.length === 3, 10_000, 'three runs');
      } finally {
        await worker.close();
      }
      expect(order[0]).toBe(2);
      expect(order).toEqual(expect.arrayContaining([1, 2, 2]));
      expect(await raw.hget(k.job(urgent.id), JobField.priority)).toBe('-5');
    } finally {
      raw.disconnect();
      await queue.close();
    }
  });
});
