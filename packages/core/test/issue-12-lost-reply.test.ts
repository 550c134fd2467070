/**
 * Issue 12, defect 9 (lost replies): when a leasing call's reply times out
 * on the client, the script has still run on the server, and the jobs it
 * leased wait out their lease without ever starting. They were then charged
 * a stall they did not cause (with `maxStalls: 0`, failed at once).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

describe('issue 12: a lost leasing reply charges no stall', () => {
  it('a job leased by a call whose reply timed out runs later with no stall counted', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      work: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ n: z.number() }),
      }),
    });
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const runs: number[] = [];
    const worker = createWorker(
      reg,
      {
        work: (j) => {
          runs.push(j.data.n);
          return { n: j.data.n };
        },
      },
      {
        connection: redis.url,
        ...fastWorkerSettings,
        maxStalls: 0,
        commandTimeoutMs: 300,
      },
    );
    worker.on('error', () => {});
    try {
      await waitFor(() => worker.health().ready, 5000, 'the worker');
      worker.pause();
      const h = await queue.enqueue('work', { n: 1 });
      // Writes (scripts included) wait on the server meanwhile: the fetch
      // that resume() starts times out on the client, then runs when the
      // pause ends and leases the job for a reply nobody reads.
      await raw.call('CLIENT', 'PAUSE', '1500', 'WRITE');
      worker.resume();
      expect(await h.finished({ timeoutMs: 10_000 })).toEqual({ n: 1 });
      expect(runs).toEqual([1]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('completed');
      expect(info?.stalls).toBe(0);
      // It was leased twice: by the lost call, then again after the check.
      expect(info?.deliveries).toBe(2);
    } finally {
      await worker.close();
      raw.disconnect();
      await queue.close();
    }
  });
});
