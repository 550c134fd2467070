/**
 * An idle worker waits for a delayed job with BZPOPMIN timed to its due
 * time; Redis checks blocking timeouts only between event-loop ticks, every
 * 1000/hz ms when idle, so the job ran up to that much late: 0 to 100 ms at
 * the default hz 10. The wait now ends on a local timer at the due time.
 * This Redis runs at hz 1, which stretches the old lateness to 0..1000 ms.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis({ extraArgs: ['--hz', '1', '--dynamic-hz', 'no'] });

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * Enqueues delayed `due` jobs one at a time, each to an idle worker that
 * also serves `other` (on `otherQueue`); resolves with how late each ran.
 */
async function lateness(
  queueName: string,
  otherQueue: string,
  jobs: number,
): Promise<number[]> {
  const registry = defineJobs({
    due: job({ queue: queueName, payload: z.object({ at: z.number() }) }),
    other: job({ queue: otherQueue, payload: z.object({}) }),
  });
  const late: number[] = [];
  const queue = createQueue(registry, { connection: redis.url });
  const worker = createWorker(
    registry,
    { due: (j) => void late.push(Date.now() - j.data.at), other: () => {} },
    { connection: redis.url },
  );
  closers.push(
    () => queue.close(),
    () => worker.close(),
  );
  await worker.ready;
  for (let i = 0; i < jobs; i++) {
    // Idle first, so the worker is blocked when the job is enqueued.
    await sleep(150);
    const delayMs = 300 + 100 * i;
    await queue.enqueue('due', { at: Date.now() + delayMs }, { delayMs });
    await waitFor(() => late.length === i + 1, 10_000, `job ${i} ran`);
  }
  return late;
}

describe('a delayed job on an idle worker', () => {
  it("runs at its due time, not at Redis's next tick (one queue, one-hop wait)", async () => {
    const name = uniqueQueue('due');
    const late = await lateness(name, name, 5);
    expect(late.every((ms) => ms >= 0)).toBe(true);
    // Before: 0..1000 ms at hz 1; five jobs all under 250 ms by chance: 0.1 %.
    expect(Math.max(...late)).toBeLessThan(250);
  }, 30_000);

  it('runs at its due time when the worker serves two queues (two-hop wait)', async () => {
    const late = await lateness(uniqueQueue('due'), uniqueQueue('other'), 5);
    expect(late.every((ms) => ms >= 0)).toBe(true);
    expect(Math.max(...late)).toBeLessThan(250);
  }, 30_000);
});
