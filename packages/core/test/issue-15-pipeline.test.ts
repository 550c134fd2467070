/**
 * Issue 15: a full pipeline. A worker with fast handlers writes its
 * completions in batches that also lease the next jobs, two batches in
 * flight. When a batch alone in flight is split in two, each half must
 * lease part of the free slots: if the first took them all, the second
 * would lease nothing, and Node and Redis would take turns (one runs the
 * jobs of the only reply while the other idles) instead of overlapping.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { scripts } from '../src/redis/scripts/index.ts';
import { createHash } from 'node:crypto';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const CONCURRENCY = 20;
const JOBS = 600;

describe('issue 15: completion batches keep both processes busy', () => {
  it('both halves of a split batch lease jobs', async () => {
    const queue = uniqueQueue('pipe');
    const contract = defineJobs({
      task: job({
        queue,
        payload: z.object({ n: z.number() }),
        retention: { completed: false },
      }),
    });
    const producer = createQueue(contract, { connection: redis.url });
    let done = 0;
    const worker = createWorker(
      contract,
      { task: () => void done++ },
      {
        connection: redis.url,
        ...fastWorkerSettings,
        concurrency: CONCURRENCY,
        // Only free slots are leased, so each reply's size is the slots a
        // batch was given.
        prefetch: 0,
        autorun: false,
      },
    );
    const raw = new Redis(redis.url);
    const monitor = await raw.monitor();
    const completeSha = createHash('sha1')
      .update(scripts.get('complete')!.lua)
      .digest('hex');
    // Per complete call: how many jobs it was asked to lease.
    const leaseSizes: number[] = [];
    const onCommand = (_t: string, args: string[]): void => {
      if (String(args[0]).toLowerCase() !== 'evalsha') return;
      if (args[1] !== completeSha) return;
      const argv = args.slice(3 + Number(args[2]));
      // ARGV[3] is the number of completions N, 5 fields each; the lease
      // request follows: lease ms, token prefix, max jobs.
      const n = Number(argv[2]);
      leaseSizes.push(Number(argv[3 + n * 5 + 2]));
    };
    try {
      await producer.enqueueBulk(
        Array.from({ length: JOBS }, (_, n) => ({
          name: 'task' as const,
          payload: { n },
        })),
      );
      monitor.on('monitor', onCommand);
      worker.run();
      await waitFor(() => done === JOBS, 20_000, `${JOBS} jobs`);
      monitor.off('monitor', onCommand);
      const leasing = leaseSizes.filter((s) => s > 0);
      expect(leaseSizes.length).toBeGreaterThan(10);
      // The queue empties at the end, so the last few calls may lease
      // nothing; with the first half taking every slot, every second call
      // did (about half of them).
      const idle = leaseSizes.length - leasing.length;
      expect(idle / leaseSizes.length, leaseSizes.join(' ')).toBeLessThan(0.2);
      // And no call leases more than the worker's slots.
      expect(Math.max(...leaseSizes)).toBeLessThanOrEqual(CONCURRENCY);
    } finally {
      await worker.close();
      await producer.close();
      monitor.disconnect();
      await raw.quit();
    }
  });
});
