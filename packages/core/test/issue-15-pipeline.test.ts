/**
 * Issue 15: a full pipeline. A worker with fast handlers writes its
 * completions in batches that also lease the next jobs, two batches in
 * flight. When a batch alone in flight is split in two, each half must
 * lease part of the free slots: if the first took them all, the second
 * would lease nothing, and Node and Redis would take turns (one runs the
 * jobs of the only reply while the other idles) instead of overlapping.
 * And the two batches must stay about equal: a large and a small one
 * leave each side idle while the other works through the large one.
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

/** Runs JOBS jobs through one worker; per complete call, the jobs it asked to lease. */
async function leaseSizesOf(
  queue: string,
  settings: { prefetch: number },
  handler: (n: number) => void | Promise<void> = () => {},
): Promise<number[]> {
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
    {
      task: async (j) => {
        await handler(j.data.n);
        done++;
      },
    },
    {
      connection: redis.url,
      ...fastWorkerSettings,
      concurrency: CONCURRENCY,
      ...settings,
      autorun: false,
    },
  );
  const raw = new Redis(redis.url);
  const monitor = await raw.monitor();
  const completeSha = createHash('sha1')
    .update(scripts.get('complete')!.lua)
    .digest('hex');
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
    return leaseSizes;
  } finally {
    await worker.close();
    await producer.close();
    monitor.disconnect();
    await raw.quit();
  }
}

describe('issue 15: completion batches keep both processes busy', () => {
  it('both halves of a split batch lease jobs', async () => {
    // Only free slots are leased, so each reply's size is the slots a
    // batch was given.
    const leaseSizes = await leaseSizesOf(uniqueQueue('pipe'), {
      prefetch: 0,
    });
    const leasing = leaseSizes.filter((s) => s > 0);
    expect(leaseSizes.length).toBeGreaterThan(10);
    // The queue empties at the end, so the last few calls may lease
    // nothing; with the first half taking every slot, every second call
    // did (about half of them).
    const idle = leaseSizes.length - leasing.length;
    expect(idle / leaseSizes.length, leaseSizes.join(' ')).toBeLessThan(0.2);
    // And no call leases more than the worker's slots.
    expect(Math.max(...leaseSizes)).toBeLessThanOrEqual(CONCURRENCY);
  });

  it('the two batches in flight stay about equal in size', async () => {
    // With prefetching, each batch used to lease every slot free when it
    // was written: the two batches drifted apart (180 and 48 jobs at
    // concurrency 100), and each process waited out the large one on the
    // other. A batch written beside another leases at most half of the
    // worker's capacity (concurrency and prefetch depth).
    const prefetch = 40;
    // Some handlers end a turn of the event loop later, after their
    // batch's completions were written: their slots free up for the next
    // batch, which is how the sizes drift.
    const leaseSizes = await leaseSizesOf(
      uniqueQueue('pipe-even'),
      { prefetch },
      (n) =>
        n % 3 === 0
          ? new Promise<void>((resolve) => setImmediate(resolve))
          : undefined,
    );
    const half = Math.ceil((CONCURRENCY + prefetch) / 2);
    // The first call of a run is alone in flight and may lease it all.
    const over = leaseSizes.slice(1).filter((s) => s > half);
    expect(over.length, leaseSizes.join(' ')).toBeLessThanOrEqual(2);
  });
});
