/**
 * Found by an outside review of the handler run path: a `timeoutMs` above
 * 2,147,483,647 ms (Node's timer limit) was accepted in job() and in the
 * options of an enqueue, and then every attempt timed out after about
 * 1 ms, since Node fires a longer timer at once. It is now refused with a
 * ValidationError naming `timeoutMs`; a job stored with one before (by an
 * older producer) waits the longest timer instead of timing out at once.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  ValidationError,
} from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';
import { JobAbort, withTimeout } from '../src/worker/run-handler.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep } from './helpers/wait.ts';

const redis = useRedis();
const MAX = 2 ** 31 - 1;

function expectTimeoutRefused(err: unknown): void {
  expect(err).toBeInstanceOf(ValidationError);
  expect((err as ValidationError).code).toBe(ErrorCode.VALIDATION_FAILED);
  expect((err as ValidationError).issues.map((i) => i.path)).toEqual([
    'timeoutMs',
  ]);
  expect((err as ValidationError).message).toContain('2147483647');
}

describe('timeoutMs is bounded by Node’s timer limit', () => {
  it('job() refuses a timeoutMs above 2,147,483,647 and takes that limit', () => {
    let err: unknown;
    try {
      job({ queue: 'tl', payload: z.object({}), timeoutMs: MAX + 1 });
    } catch (e) {
      err = e;
    }
    expectTimeoutRefused(err);
    expect(() =>
      job({ queue: 'tl', payload: z.object({}), timeoutMs: MAX }),
    ).not.toThrow();
  });

  it('an enqueue refuses it, in the queue and in the test queue', async () => {
    const q = uniqueQueue('tl');
    const jobs = defineJobs({ t: job({ queue: q, payload: z.object({}) }) });
    const queue = createQueue(jobs, { connection: redis.url });
    const test = createTestQueue(jobs);
    try {
      for (const timeoutMs of [MAX + 1, 3_000_000_000]) {
        expectTimeoutRefused(
          await queue.enqueue('t', {}, { timeoutMs }).catch((e: unknown) => e),
        );
        expectTimeoutRefused(
          await test.enqueue('t', {}, { timeoutMs }).catch((e: unknown) => e),
        );
      }
      expect((await queue.getCounts({ queue: q })).waiting).toBe(0);
      // The limit itself is accepted, and the job runs to completion.
      const worker = createWorker(
        jobs,
        { t: () => sleep(50) },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        const h = await queue.enqueue('t', {}, { timeoutMs: MAX });
        await expect(
          h.finished({ timeoutMs: 10_000 }),
        ).resolves.toBeUndefined();
      } finally {
        await worker.close();
      }
    } finally {
      await queue.close();
    }
  });

  it('a timeout stored above the limit does not fire at once', async () => {
    const abort = new JobAbort();
    await expect(
      withTimeout(() => sleep(50).then(() => 'done'), 3_000_000_000, abort),
    ).resolves.toBe('done');
    expect(abort.aborted).toBe(false);
  });
});
