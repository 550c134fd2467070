/**
 * A backoff function must return the delay in ms, synchronously. Before
 * this, an `async` one (easy to write in JavaScript, or past a cast) was
 * taken as 0 ms without a word, and when its promise rejected, the
 * rejection was unhandled: under Node's defaults that ends the worker's
 * process. A NaN or negative delay was also silently 0 ms.
 *
 * Now every unusable return is reported on the worker's 'error' event
 * (HANDLER_FAILED, naming the job type and what it returned), a returned
 * promise's rejection is settled, and the attempt's failure is recorded and
 * retried as before. The test queue calls the function the same way.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
  type BackoffFunction,
} from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };

// Written as a JavaScript user would: TypeScript refuses these returns.
const rejecting = (async () => {
  await sleep(1);
  throw new Error('lookup failed');
}) as unknown as BackoffFunction;
const resolving = (async () => 20) as unknown as BackoffFunction;
const notANumber: BackoffFunction = () => Number.NaN;

function registry(q: string) {
  const common = {
    queue: q,
    payload: z.object({}),
    attempts: 2,
  } as const;
  return defineJobs({
    rejecting: job({ ...common, backoff: rejecting }),
    resolving: job({ ...common, backoff: resolving }),
    notANumber: job({ ...common, backoff: notANumber }),
  });
}

const fail = (): Promise<never> => Promise.reject(new Error('handler failed'));
const handlers = { rejecting: fail, resolving: fail, notANumber: fail };

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

const expected: Record<string, string> = {
  rejecting: 'returned a promise',
  resolving: 'returned a promise',
  notANumber: 'returned NaN',
};

describe('a backoff function that returns no usable delay', () => {
  it('in the worker: reported on error, no unhandled rejection, the failure recorded and retried', async () => {
    const q = uniqueQueue('backoff-ret');
    const jobs = registry(q);
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(jobs, handlers, {
      connection: redis.url,
      logger: silent,
      ...fastWorkerSettings,
    });
    const errors: JobwireError[] = [];
    worker.on('error', (e) => errors.push(e as JobwireError));
    try {
      for (const name of ['rejecting', 'resolving', 'notANumber'] as const) {
        errors.length = 0;
        const h = await queue.enqueue(name, {});
        await expect(h.finished({ timeoutMs: 15_000 })).rejects.toMatchObject({
          code: ErrorCode.HANDLER_FAILED,
          message: 'handler failed',
        });
        const info = await queue.getJob(h.id, { queue: q });
        expect(info).toMatchObject({
          state: 'failed',
          attemptsMade: 2,
          stalls: 0,
        });
        // Attempt 1 called it; after the last there is no backoff.
        expect(errors).toHaveLength(1);
        expect(errors[0]).toBeInstanceOf(JobwireError);
        expect(errors[0]!.code).toBe(ErrorCode.HANDLER_FAILED);
        expect(errors[0]!.message).toContain(JSON.stringify(name));
        expect(errors[0]!.message).toContain(expected[name]);
      }
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('in the test queue: no unhandled rejection, the failure recorded and retried', async () => {
    const test = createTestQueue(registry('backoff-ret'), { handlers });
    await test.enqueue('rejecting', {});
    await test.runAll();
    expect(test.jobs[0]).toMatchObject({ state: 'failed', attemptsMade: 2 });
    await sleep(50);
    expect(unhandled).toEqual([]);
  });
});
