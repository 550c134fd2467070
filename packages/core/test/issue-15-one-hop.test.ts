/**
 * Issue 15: one-hop pickup. An idle worker waits on its markers with the
 * lease queued right behind the BZPOPMIN on the same connection, so Redis
 * leases the moment a producer's marker ends the wait: the job reaches the
 * handler one round trip after the enqueue, where waking and then leasing
 * took two. Measured through a proxy that delays every reply to the worker
 * by DELAY_MS: the pickup is then about one delay per round trip.
 *
 * Such a lease may run and its reply never arrive (the wait's connection
 * cut): like any lost leasing reply it is recorded (markLostLeases), so
 * its job is re-queued with no stall charged.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { startForwarder } from './faults/harness/forwarder.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

const DELAY_MS = 200;

describe('issue 15: one-hop pickup', () => {
  it('an idle worker starts a new job one round trip after its enqueue', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const proxy = await startForwarder(redis.server.port, {
      replyDelayMs: DELAY_MS,
    });
    const queue = createQueue(reg, { connection: redis.url });
    const started = new Map<number, number>();
    const worker = createWorker(
      reg,
      { t: (j) => void started.set(j.data.n, performance.now()) },
      {
        ...fastWorkerSettings,
        // No timeout of the wait falls inside a measurement.
        blockTimeoutMs: 30_000,
        connection: `redis://127.0.0.1:${proxy.port}`,
      },
    );
    try {
      await waitFor(() => worker.health().ready, 10_000, 'worker ready');
      const pickups: number[] = [];
      for (let n = 0; n < 3; n++) {
        // Idle: the last leasing reply found the queue drained, and the
        // worker is back in its wait.
        await sleep(4 * DELAY_MS);
        const t0 = performance.now();
        await queue.enqueue('t', { n });
        await waitFor(() => started.has(n), 10_000, `job ${n} to start`);
        pickups.push(started.get(n)! - t0);
      }
      pickups.sort((a, b) => a - b);
      // One delayed reply (the wake-up and the lease together); waking and
      // then leasing would take two, at least 2 * DELAY_MS.
      expect(pickups[1]).toBeGreaterThanOrEqual(DELAY_MS - 5);
      expect(pickups[1], pickups.join(', ')).toBeLessThan(1.5 * DELAY_MS);
    } finally {
      await worker.close();
      await queue.close();
      await proxy.close();
    }
  });

  it('a one-hop lease whose reply is lost charges no stall: its job runs later', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const proxy = await startForwarder(redis.server.port);
    const queue = createQueue(reg, { connection: redis.url });
    const runs: number[] = [];
    const worker = createWorker(
      reg,
      { t: (j) => void runs.push(j.data.n) },
      {
        ...fastWorkerSettings,
        // A silent wait is cut blockTimeoutMs + 3 s after it began: within
        // the lease, so the lost reply is recorded before the lease lapses.
        blockTimeoutMs: 500,
        leaseMs: 5000,
        // One stall would fail the job.
        maxStalls: 0,
        connection: `redis://127.0.0.1:${proxy.port}`,
        logger: { warn: () => {}, error: () => {} },
      },
    );
    worker.on('error', () => {});
    try {
      await waitFor(() => worker.health().ready, 10_000, 'worker ready');
      // The next wait (after the current one times out) goes through, and
      // its replies are held: the wake-up's and the lease's.
      await proxy.holdRepliesAfter('bzpopmin');
      const h = await queue.enqueue('t', { n: 1 });
      await waitFor(
        async () =>
          (await queue.getJob(h.id, { queue: q }))?.state === 'active',
        5000,
        'the one-hop lease to take the job',
      );
      // The wait's guard cuts the silent connection; the lost reply is
      // recorded, and the stall check re-queues the job once its lease
      // lapses, with no stall.
      await h.finished({ timeoutMs: 20_000 });
      expect(runs).toEqual([1]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info).toMatchObject({
        state: 'completed',
        stalls: 0,
        deliveries: 2,
      });
    } finally {
      await worker.close();
      await queue.close();
      await proxy.close();
    }
  });
});
