/**
 * Found by an outside review (2026-12-01): a delayed job's `expireAfterMs`
 * counted from the moment a worker's lease call moved it to waiting, not
 * from its due time, as settings.md says ("its due time when delayed").
 * With no worker running, or every slot busy, past the due time, the job
 * got a fresh window and ran instead of expiring.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

describe('expiry of a delayed job counts from its due time', () => {
  it('a delayed job due long before any worker came expires, and its handler never runs', async () => {
    const q = uniqueQueue('dexp');
    const jobs = defineJobs({ t: job({ queue: q, payload: z.object({}) }) });
    const queue = createQueue(jobs, { connection: redis.url });
    const ran: string[] = [];
    try {
      // Due at 0.2 s, expires at 0.6 s; no worker until 1.2 s.
      const late = await queue.enqueue(
        't',
        {},
        { delayMs: 200, expireAfterMs: 400 },
      );
      // Due when the worker comes: must still run.
      const fresh = await queue.enqueue(
        't',
        {},
        { delayMs: 1000, expireAfterMs: 5000 },
      );
      await sleep(1200);
      const worker = createWorker(
        jobs,
        {
          t: async (j) => {
            ran.push(j.id);
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await waitFor(
          async () => {
            const [a, b] = await Promise.all([
              queue.getJob(late.id, { queue: q }),
              queue.getJob(fresh.id, { queue: q }),
            ]);
            return a?.state === 'expired' && b?.state === 'completed';
          },
          5000,
          'the late job expired and the fresh one completed',
        );
        expect(ran).toEqual([fresh.id]);
      } finally {
        await worker.close();
      }
    } finally {
      await queue.close();
    }
  });
});
