/**
 * An idle worker wakes at once for jobs enqueued shortly after its last
 * job finished. A worker of several queues waits on its markers with no
 * slots held, and leases after waking (two hops). Its completion batch
 * leases too; when that reply (no jobs) came while the wait was out, it
 * re-armed the idle wait: the marker of the next enqueue ended the wait,
 * and the loop, instead of leasing, waited again on the marker it had just
 * popped, until blockTimeoutMs ran out (an outside review measured an
 * `enqueueBulk` 0-5 s after a job picked up only after 4-5 s).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

const BLOCK_TIMEOUT_MS = 5000;

function setup() {
  const reg = defineJobs({
    a: job({ queue: uniqueQueue(), payload: z.object({ n: z.number() }) }),
    b: job({ queue: uniqueQueue(), payload: z.object({ n: z.number() }) }),
  });
  const queue = createQueue(reg, { connection: redis.url });
  const started = new Map<string, number>();
  // The first job (n -1) runs a while: it finishes while the worker,
  // which found the queue drained when it leased it, waits for markers.
  const note = (name: string) => async (j: { data: { n: number } }) => {
    started.set(`${name}${j.data.n}`, performance.now());
    if (j.data.n < 0) await sleep(50);
  };
  const worker = createWorker(
    reg,
    { a: note('a'), b: note('b') },
    {
      ...fastWorkerSettings,
      blockTimeoutMs: BLOCK_TIMEOUT_MS,
      concurrency: 4,
      connection: redis.url,
    },
  );
  return { queue, worker, started };
}

describe('an idle worker of several queues, just after a job finished', () => {
  it('starts an enqueueBulk at once, not after blockTimeoutMs', async () => {
    const { queue, worker, started } = setup();
    try {
      await waitFor(() => worker.health().ready, 10_000, 'worker ready');
      const first = await queue.enqueue('a', { n: -1 });
      await first.finished({ timeoutMs: 5000 });
      await sleep(300);
      const t0 = performance.now();
      await queue.enqueueBulk([
        ...Array.from({ length: 5 }, (_, n) => ({
          name: 'a' as const,
          payload: { n },
        })),
        ...Array.from({ length: 5 }, (_, n) => ({
          name: 'b' as const,
          payload: { n },
        })),
      ]);
      await waitFor(() => started.size === 11, 10_000, 'the bulk to start');
      const last = Math.max(...started.values()) - t0;
      expect(last).toBeLessThan(1000);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('starts a lone enqueue at once, not after blockTimeoutMs', async () => {
    const { queue, worker, started } = setup();
    try {
      await waitFor(() => worker.health().ready, 10_000, 'worker ready');
      const first = await queue.enqueue('a', { n: -1 });
      await first.finished({ timeoutMs: 5000 });
      await sleep(300);
      const t0 = performance.now();
      await queue.enqueue('a', { n: 1 });
      await waitFor(() => started.has('a1'), 10_000, 'the job to start');
      expect(started.get('a1')! - t0).toBeLessThan(1000);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
