/**
 * Found by an outside review of the handler run path: the test queue
 * accepted `job.progress()` and `job.log()` after the attempt had ended
 * (timed out, cancelled, completed, or replaced by the next attempt) and
 * stored them, where a worker refuses them with LEASE_LOST and stores
 * nothing. The test queue now does as the worker does.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  type Job,
} from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };

function registry(q: string) {
  return defineJobs({
    // Times out on attempt 1; attempt 2 completes.
    timesOut: job({
      queue: q,
      payload: z.object({}),
      timeoutMs: 30,
      attempts: 2,
      backoff: { type: 'fixed', delayMs: 0 },
    }),
    cancelled: job({ queue: q, payload: z.object({}) }),
    completes: job({ queue: q, payload: z.object({}) }),
  });
}

/**
 * A handler that writes progress and a log line, then again 100 ms later,
 * after its attempt ended; `late` collects how the late writes ended.
 */
function lateWriter(
  late: Promise<string[]>[],
  started: () => void,
  mode: 'wait' | 'return',
) {
  return async (j: Job<unknown, number>): Promise<void> => {
    await j.progress(10);
    await j.log(`before #${String(j.attempt)}`);
    started();
    if (j.name === 'timesOut' && j.attempt === 2) return;
    const writes = sleep(100).then(() =>
      Promise.all([
        j.progress(77).then(
          () => 'ok',
          (e: unknown) => String((e as { code?: unknown }).code),
        ),
        j.log(`late #${String(j.attempt)}`).then(
          () => 'ok',
          (e: unknown) => String((e as { code?: unknown }).code),
        ),
      ]),
    );
    late.push(writes);
    if (mode === 'wait') await writes;
  };
}

const refused = [ErrorCode.LEASE_LOST, ErrorCode.LEASE_LOST];

describe('progress and log after the attempt ended are refused', () => {
  it('in the test queue: LEASE_LOST, nothing stored (timeout, retry, cancel, completion)', async () => {
    const late: Promise<string[]>[] = [];
    let onStart = () => {};
    const jobs = registry('after-end');
    const test = createTestQueue(jobs, {
      handlers: {
        timesOut: lateWriter(late, () => {}, 'wait'),
        cancelled: lateWriter(late, () => onStart(), 'wait'),
        completes: lateWriter(late, () => {}, 'return'),
      },
    });
    const t = await test.enqueue('timesOut', {});
    const d = await test.enqueue('completes', {});
    await test.runAll();

    const c = await test.enqueue('cancelled', {});
    const started = new Promise<void>((r) => (onStart = r));
    const running = test.runAll();
    await started;
    expect(await c.cancel()).toBe('requested');
    await running;

    const outcomes = await Promise.all(late);
    expect(outcomes).toEqual([refused, refused, refused]);
    const byId = (id: string) => test.jobs.find((j) => j.id === id)!;
    expect(byId(t.id)).toMatchObject({
      state: 'completed',
      attemptsMade: 2,
      progress: [10, 10],
      logs: ['before #1', 'before #2'],
    });
    expect(byId(d.id)).toMatchObject({
      state: 'completed',
      progress: [10],
      logs: ['before #1'],
    });
    expect(byId(c.id)).toMatchObject({
      state: 'cancelled',
      progress: [10],
      logs: ['before #1'],
    });
  });

  // The worker already refused them: the test queue now matches this.
  it('in the worker: the same refusals, nothing stored', async () => {
    const q = uniqueQueue('after-end');
    const jobs = registry(q);
    const late: Promise<string[]>[] = [];
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(
      jobs,
      {
        timesOut: lateWriter(late, () => {}, 'wait'),
        cancelled: lateWriter(late, () => {}, 'wait'),
        completes: lateWriter(late, () => {}, 'return'),
      },
      { connection: redis.url, logger: silent, ...fastWorkerSettings },
    );
    try {
      const t = await queue.enqueue('timesOut', {});
      await t.finished({ timeoutMs: 10_000 });
      const d = await queue.enqueue('completes', {});
      await d.finished({ timeoutMs: 10_000 });
      const outcomes = await Promise.all(late);
      expect(outcomes).toEqual([refused, refused]);
      const info = await queue.getJob(t.id, { queue: q });
      expect(info?.logs).toEqual(['before #1', 'before #2']);
      expect(info?.progress).toBe(10);
      const done = await queue.getJob(d.id, { queue: q });
      expect(done?.logs).toEqual(['before #1']);
      expect(done?.progress).toBe(10);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
