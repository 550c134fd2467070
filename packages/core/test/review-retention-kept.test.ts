/**
 * Found by an outside review (2026-12-01): a job kept for good by its own
 * rule (`retention: { completed: true }`, per type or per enqueue) was
 * still trimmed when another job of its type finished under a count rule
 * (a per-enqueue override, or the type's rule), and with it went its
 * `jobId` dedup. A keep-all job now stays until clean() or remove().
 */
import { Redis } from 'ioredis';
import { beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  PermanentError,
} from '../src/index.ts';
import { checkInvariants } from './faults/harness/invariants.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();

// The invariant check reads every key of the server: one queue at a time.
beforeEach(async () => {
  const raw = new Redis(redis.url);
  await raw.flushall();
  raw.disconnect();
});

type Keep = true | { count: number };

function setup(completed: Keep, failed: Keep) {
  const q = uniqueQueue('rkeep');
  const jobs = defineJobs({
    k: job({
      queue: q,
      payload: z.object({ fail: z.boolean() }),
      retention: { completed, failed },
      attempts: 1,
    }),
  });
  const queue = createQueue(jobs, { connection: redis.url });
  const worker = createWorker(
    jobs,
    {
      k: (j) => {
        if (j.data.fail) throw new PermanentError('no');
        return Promise.resolve();
      },
    },
    { connection: redis.url, ...fastWorkerSettings },
  );
  const ids = async (state: 'completed' | 'failed') =>
    (await queue.getJobs(state, { queue: q, name: 'k' }))
      .map((j) => j.id)
      .sort();
  const close = async () => {
    await worker.close();
    await queue.close();
  };
  return { q, queue, ids, close };
}

const settle = (p: Promise<unknown>) => p.catch(() => undefined);

describe('a job kept for good by its own rule is never trimmed by another rule', () => {
  it("a type that keeps all: one enqueue's { count: 1 } removes none of the others", async () => {
    const { q, queue, ids, close } = setup(true, true);
    try {
      for (const fail of [false, true]) {
        for (let i = 0; i < 3; i++) {
          const h = await queue.enqueue(
            'k',
            { fail },
            { jobId: `all-${fail}-${i}` },
          );
          await settle(h.finished());
        }
        const one = await queue.enqueue(
          'k',
          { fail },
          {
            jobId: `one-${fail}`,
            retention: { completed: { count: 1 }, failed: { count: 1 } },
          },
        );
        await settle(one.finished());
      }
      expect(await ids('completed')).toEqual([
        'all-false-0',
        'all-false-1',
        'all-false-2',
        'one-false',
      ]);
      expect(await ids('failed')).toEqual([
        'all-true-0',
        'all-true-1',
        'all-true-2',
        'one-true',
      ]);
      const again = await queue.enqueue(
        'k',
        { fail: false },
        { jobId: 'all-false-0' },
      );
      expect(again.duplicate).toBe(true);
      expect(await checkInvariants(redis.url, 'jobwire', q)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('a type that keeps one: a job enqueued with { completed: true } outlives the jobs after it', async () => {
    const { q, queue, ids, close } = setup({ count: 1 }, { count: 1 });
    try {
      for (const fail of [false, true]) {
        const precious = await queue.enqueue(
          'k',
          { fail },
          {
            jobId: `precious-${fail}`,
            retention: { completed: true, failed: true },
          },
        );
        await settle(precious.finished());
        for (let i = 0; i < 3; i++) {
          const h = await queue.enqueue(
            'k',
            { fail },
            { jobId: `n-${fail}-${i}` },
          );
          await settle(h.finished());
        }
      }
      expect(await ids('completed')).toEqual(['n-false-2', 'precious-false']);
      expect(await ids('failed')).toEqual(['n-true-2', 'precious-true']);
      expect(await checkInvariants(redis.url, 'jobwire', q)).toEqual([]);
    } finally {
      await close();
    }
  });
});
