/**
 * Issue 12, defect 6: one `moveToActive` call expired every expired job at
 * the head of the waiting set, however many (50,000 took 1.8 s, and a few
 * hundred thousand would make Redis answer BUSY to every client). A call now
 * expires at most 1000; the markers stay armed, so the next calls work off
 * the rest and then lease the live jobs behind them.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import type { JobHandle, Queue } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { runScript } from '../src/redis/scripts/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

const STALE = 2500;
const PER_CALL = 1000;

function registry(queue: string) {
  return defineJobs({
    e: job({ queue, payload: z.object({ n: z.number().int() }) }),
  });
}

/** Enqueues STALE jobs that expire at once, then one live job behind them. */
async function backlog(
  queue: Queue<ReturnType<typeof registry>['jobs']>,
): Promise<JobHandle<unknown>> {
  await queue.enqueueBulk(
    Array.from({ length: STALE }, (_, n) => ({
      name: 'e' as const,
      payload: { n },
      options: { expireAfterMs: 1 },
    })),
  );
  const live = await queue.enqueue('e', { n: -1 });
  await sleep(20);
  return live;
}

describe('issue 12: expiry work per script call is bounded', () => {
  it('one moveToActive call expires at most 1000 jobs; later calls do the rest, then lease', async () => {
    const q = uniqueQueue('i12b');
    const reg = registry(q);
    const k = queueKeys('jobwire', q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const live = await backlog(queue);
      const fetchOne = async (): Promise<number> => {
        const reply = (await runScript(
          raw,
          'moveToActive',
          [k.id, k.delayed, k.active, k.counts, k.events, k.meta, k.expired],
          [k.base, 100_000, 30_000, 'w1:1', 1, 1, 1, 'e', 1, 1],
        )) as unknown[];
        return Number(reply[3]);
      };
      const expiredAfter: number[] = [];
      let leased = 0;
      for (let call = 0; call < 10 && leased === 0; call++) {
        leased = await fetchOne();
        expiredAfter.push(await raw.zcard(k.expired));
      }
      // Each call expired at most PER_CALL; the live job came on the third.
      expect(expiredAfter).toEqual([PER_CALL, 2 * PER_CALL, STALE]);
      expect(leased).toBe(1);
      expect(await raw.zrange(k.active, '0', '-1')).toEqual([live.id]);
      const counts = await queue.getCounts();
      expect(counts).toMatchObject({ expired: STALE, active: 1, waiting: 0 });
      // Every expired job got its event.
      const events = await raw.xrange(k.events, '-', '+');
      const expiredEvents = events.filter(([, f]) => f[1] === 'expired');
      expect(expiredEvents).toHaveLength(STALE);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });

  it('a worker works through the backlog in bounded calls and runs the live job', async () => {
    const q = uniqueQueue('i12b');
    const reg = registry(q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const ran: number[] = [];
    try {
      const live = await backlog(queue);
      const worker = createWorker(
        reg,
        {
          e: (j) => {
            ran.push(j.data.n);
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await live.finished({ timeoutMs: 10_000 });
        await waitFor(
          async () => (await queue.getCounts()).expired === STALE,
          5000,
          'every stale job expired',
        );
      } finally {
        await worker.close();
      }
      expect(ran).toEqual([-1]);
      const counts = await queue.getCounts();
      expect(counts).toMatchObject({
        waiting: 0,
        active: 0,
        completed: 1,
        expired: STALE,
      });
    } finally {
      await queue.close();
      await raw.quit();
    }
  });
});
