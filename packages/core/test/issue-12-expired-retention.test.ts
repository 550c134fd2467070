/**
 * Issue 12, defect 7: expired jobs were never trimmed, though the defaults
 * say failed and expired jobs are kept "the most recent ones", and their
 * ids stayed deduplicated until someone ran clean(). Expired jobs now follow
 * their type's failed-job keep rule, and a `jobId` is deduplicated exactly
 * as long as its job is kept.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type Keep,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function registry(queue: string, failed: Keep) {
  return defineJobs({
    e: job({
      queue,
      payload: z.object({ n: z.number().int() }),
      retention: { failed },
    }),
    // Another type in the same queue, with the default rule.
    other: job({ queue, payload: z.object({ n: z.number().int() }) }),
  });
}

/**
 * Enqueues `n` jobs of each type that expire at once, lets a worker expire
 * them, and returns the ids of type `e` in enqueue order.
 */
async function expireJobs(
  reg: ReturnType<typeof registry>,
  n: number,
): Promise<string[]> {
  const queue = createQueue(reg, { connection: redis.url });
  const ran: string[] = [];
  try {
    const handles = await queue.enqueueBulk(
      Array.from({ length: n }, (_, i) => ({
        name: 'e' as const,
        payload: { n: i },
        options: { jobId: `exp-${i}`, expireAfterMs: 1 },
      })),
    );
    await queue.enqueueBulk(
      Array.from({ length: n }, (_, i) => ({
        name: 'other' as const,
        payload: { n: i },
        options: { jobId: `other-${i}`, expireAfterMs: 1 },
      })),
    );
    await sleep(20);
    const worker = createWorker(
      reg,
      {
        e: (j) => {
          ran.push(j.id);
        },
        other: (j) => {
          ran.push(j.id);
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await waitFor(
        async () => (await queue.getCounts()).waiting === 0,
        5000,
        'every job expired',
      );
    } finally {
      await worker.close();
    }
    expect(ran).toEqual([]);
    return handles.map((h) => h.id);
  } finally {
    await queue.close();
  }
}

describe('issue 12: expired jobs follow the failed-job keep rule', () => {
  it('keeps the newest `count` expired jobs of the type; trimmed ids can be enqueued again, kept ones stay deduplicated', async () => {
    const q = uniqueQueue('i12e');
    const reg = registry(q, { count: 5 });
    const base = `jobwire:{${q}}:`;
    const raw = new Redis(redis.url);
    try {
      const ids = await expireJobs(reg, 12);
      const queue = createQueue(reg, { connection: redis.url });
      try {
        const counts = await queue.getCounts();
        expect(counts.byType.e?.expired).toBe(5);
        // The other type keeps all 12 under the default rule (10,000).
        expect(counts.byType.other?.expired).toBe(12);
        const kept = (await queue.getJobs('expired', { name: 'e' })).map(
          (j) => j.id,
        );
        expect(kept.sort()).toEqual(ids.slice(-5).sort());
        for (const id of ids.slice(0, 7)) {
          expect(await raw.exists(`${base}j:${id}`), id).toBe(0);
        }
        expect(await raw.zcard(`${base}expired`)).toBe(17);

        // Dedup lasts exactly as long as the job is kept.
        const trimmed = await queue.enqueue(
          'e',
          { n: 100 },
          { jobId: 'exp-0' },
        );
        expect(trimmed.duplicate).toBe(false);
        const retained = await queue.enqueue(
          'e',
          { n: 101 },
          { jobId: 'exp-11' },
        );
        expect(retained.duplicate).toBe(true);
        expect((await queue.getJob('exp-11'))?.state).toBe('expired');
      } finally {
        await queue.close();
      }
    } finally {
      await raw.quit();
    }
  });

  it('failed: false removes an expired job at once, so its id is free again', async () => {
    const q = uniqueQueue('i12e');
    const reg = registry(q, false);
    const base = `jobwire:{${q}}:`;
    const raw = new Redis(redis.url);
    try {
      const ids = await expireJobs(reg, 3);
      const queue = createQueue(reg, { connection: redis.url });
      try {
        const counts = await queue.getCounts();
        expect(counts.byType.e?.expired ?? 0).toBe(0);
        expect(counts.byType.other?.expired).toBe(3);
        for (const id of ids)
          expect(await raw.exists(`${base}j:${id}`), id).toBe(0);
        // The outcome was still published.
        const events = await raw.xrange(`${base}events`, '-', '+');
        const expired = events
          .map(([, f]) => f)
          .filter((f) => f[1] === 'expired')
          .map((f) => f[3]);
        expect(expired.filter((id) => ids.includes(id!)).sort()).toEqual(
          [...ids].sort(),
        );
        const again = await queue.enqueue('e', { n: 5 }, { jobId: ids[0] });
        expect(again.duplicate).toBe(false);
      } finally {
        await queue.close();
      }
    } finally {
      await raw.quit();
    }
  });
});
