/**
 * A Lua script running past `busy-reply-threshold` makes Redis answer BUSY
 * to every other command until it ends (docs/reliability.md, S16: a job
 * due during it starts soon after its end; the fault test allows 1 s). A worker whose lease or
 * completion met BUSY used to back off by the error ladder (lease: 100 ms
 * doubling to 2 s; completion: 50 ms doubling to 1 s), so a 2 s BUSY could
 * leave it asleep for more than a second after Redis was back: the fault
 * suite's S16 saw a job start 1.23 s late. BUSY is retried at a short
 * fixed interval instead.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { BUSY_LOOP_SCRIPT } from './helpers/busy-script.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const quiet = { warn: () => {}, error: () => {} };

let admin: Redis;
beforeAll(async () => {
  admin = new Redis(redis.url);
  await admin.config('SET', 'busy-reply-threshold', '100');
});
afterAll(() => admin.disconnect());

/**
 * Starts a read-only script that keeps Redis busy for `ms`, and returns once
 * other clients get BUSY; `ended` resolves at the script's end (local clock).
 */
async function startBusy(ms: number): Promise<{ ended: Promise<number> }> {
  const busy = new Redis(redis.url, { maxRetriesPerRequest: 0 });
  await busy.ping();
  const ended = busy
    .eval(BUSY_LOOP_SCRIPT, 0, String(ms))
    .then(() => Date.now())
    .finally(() => busy.disconnect());
  // A ping answered PONG went before the script (or its first 100 ms).
  for (;;) {
    const refused = await admin.ping().then(
      () => false,
      (err: Error) => err.message.startsWith('BUSY '),
    );
    if (refused) return { ended };
    await sleep(10);
  }
}

const registry = (queue: string) =>
  defineJobs({ t: job({ queue, payload: z.object({}) }) });

describe('BUSY (a long script in Redis)', { timeout: 30_000 }, () => {
  it('a lease that met BUSY is retried soon after the script ends, not up to 2 s later', async () => {
    const q = uniqueQueue('busy');
    const reg = registry(q);
    const queue = createQueue(reg, { connection: redis.url, logger: quiet });
    const starts: number[] = [];
    const worker = createWorker(
      reg,
      { t: () => void starts.push(Date.now()) },
      { connection: redis.url, logger: quiet },
    );
    const busyErrors: string[] = [];
    worker.on('error', (err) => {
      if (err.message.startsWith('BUSY ')) busyErrors.push(err.message);
    });
    try {
      await waitFor(() => worker.health().ready, 10_000, 'the worker');
      worker.pause();
      await queue.enqueue('t', {});
      const { ended } = await startBusy(2000);
      // The lease that follows resume() gets BUSY, and so do its retries
      // while the script runs.
      worker.resume();
      const end = await ended;
      await waitFor(() => starts.length === 1, 10_000, 'the job to start');
      // Reported once, however many retries met it; and none was recorded
      // as a lease that may have run unanswered (BUSY runs nothing). The one
      // record allowed is pause()'s: it cut the worker's blocking wait.
      expect(busyErrors).toHaveLength(1);
      expect(
        await admin.zcard(`jobwire:{${q}}:lost-leases`),
      ).toBeLessThanOrEqual(1);
      // The old ladder's retries fell at about 0.1, 0.3, 0.7 and 1.5 s into
      // the script, then slept 1.6 s: the job started about 1.3 s late.
      expect(starts[0]!).toBeGreaterThanOrEqual(end);
      expect(starts[0]! - end).toBeLessThan(700);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('a completion that met BUSY is retried soon after the script ends, not up to 1 s later', async () => {
    const reg = registry(uniqueQueue('busy'));
    const queue = createQueue(reg, { connection: redis.url, logger: quiet });
    let markStarted = () => {};
    const started = new Promise<void>((r) => (markStarted = r));
    let finish = () => {};
    const finishing = new Promise<void>((r) => (finish = r));
    const worker = createWorker(
      reg,
      {
        t: async () => {
          markStarted();
          await finishing;
        },
      },
      { connection: redis.url, logger: quiet },
    );
    worker.on('error', () => {});
    let completedAt = 0;
    worker.on('completed', () => (completedAt = Date.now()));
    try {
      await waitFor(() => worker.health().ready, 10_000, 'the worker');
      const h = await queue.enqueue('t', {});
      await started;
      const { ended } = await startBusy(2000);
      // The handler ends with the script running: its completion meets BUSY.
      finish();
      const end = await ended;
      await waitFor(() => completedAt > 0, 10_000, 'the completion');
      // The old ladder retried at about 0.05, 0.15, 0.35, 0.75 and 1.55 s
      // after the first BUSY, then slept 1 s: about 0.65 s late.
      expect(completedAt).toBeGreaterThanOrEqual(end);
      expect(completedAt - end).toBeLessThan(400);
      expect((await queue.getJob(h.id))?.state).toBe('completed');
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
