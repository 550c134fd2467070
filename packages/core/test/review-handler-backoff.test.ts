/**
 * Found by an outside review of the handler run path:
 *
 * - A backoff function that threw abandoned the job: the worker never
 *   wrote the attempt's failure, the job ran again after its lease ran out
 *   and ended STALL_LIMIT. Now the failure is recorded as usual, the next
 *   attempt runs without delay, and the throw is reported on the worker's
 *   'error' event naming the job type.
 * - The test queue never called a backoff function; it now calls it as a
 *   worker does.
 * - A backoff function received jobwire's HANDLER_FAILED wrapper, not what
 *   the handler threw, so `error instanceof MyError` was always false. It
 *   now gets the thrown Error itself (the wrapper for a non-Error value).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
} from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };

class RateLimited extends Error {
  constructor(readonly retryAfterMs: number) {
    super('rate limited');
    this.name = 'RateLimited';
  }
}

/** What one backoff call saw. */
interface Seen {
  attempt: number;
  isRateLimited: boolean;
  retryAfterMs: unknown;
  code: unknown;
}

function registry(q: string, seen: Seen[]) {
  return defineJobs({
    // The backoff function throws unless the error carries retryAfterMs.
    picky: job({
      queue: q,
      payload: z.object({}),
      attempts: 3,
      backoff: (_attempt, error) => {
        const after = (error as Partial<RateLimited>).retryAfterMs;
        if (after === undefined) throw new TypeError('no retryAfterMs');
        return after;
      },
    }),
    // The backoff function records what it receives.
    seeing: job({
      queue: q,
      payload: z.object({ kind: z.string() }),
      attempts: 2,
      backoff: (attempt, error) => {
        seen.push({
          attempt,
          isRateLimited: error instanceof RateLimited,
          retryAfterMs: (error as Partial<RateLimited>).retryAfterMs,
          code: (error as { code?: unknown }).code,
        });
        return 1;
      },
    }),
  });
}

const handlers = {
  picky: (): Promise<never> => Promise.reject(new Error('plain failure')),
  seeing: (j: { data: { kind: string } }): Promise<never> =>
    Promise.reject(
      j.data.kind === 'error' ? new RateLimited(5) : ('a string' as never),
    ),
};

const expectedSeen: Seen[] = [
  { attempt: 1, isRateLimited: true, retryAfterMs: 5, code: undefined },
  {
    attempt: 1,
    isRateLimited: false,
    retryAfterMs: undefined,
    code: ErrorCode.HANDLER_FAILED,
  },
];

describe('backoff functions', () => {
  it('in the worker: a throwing one loses no failure and is reported on error', async () => {
    const q = uniqueQueue('backoff');
    const seen: Seen[] = [];
    const jobs = registry(q, seen);
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(jobs, handlers, {
      connection: redis.url,
      logger: silent,
      ...fastWorkerSettings,
    });
    const errors: unknown[] = [];
    worker.on('error', (e) => errors.push(e));
    try {
      const h = await queue.enqueue('picky', {});
      const err = await h
        .finished({ timeoutMs: 15_000 })
        .catch((e: unknown) => e);
      expect((err as JobwireError).code).toBe(ErrorCode.HANDLER_FAILED);
      expect((err as JobwireError).message).toBe('plain failure');
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('failed');
      expect(info?.attemptsMade).toBe(3);
      expect(info?.stalls).toBe(0);
      expect(info?.errors.map((e) => [e.code, e.message])).toEqual([
        [ErrorCode.HANDLER_FAILED, 'plain failure'],
        [ErrorCode.HANDLER_FAILED, 'plain failure'],
        [ErrorCode.HANDLER_FAILED, 'plain failure'],
      ]);
      // Attempts 1 and 2 called it; after the last there is no backoff.
      expect(errors).toHaveLength(2);
      for (const e of errors) {
        expect(e).toBeInstanceOf(JobwireError);
        expect((e as JobwireError).code).toBe(ErrorCode.HANDLER_FAILED);
        expect((e as JobwireError).message).toContain('"picky"');
        expect((e as JobwireError).message).toContain(
          'TypeError: no retryAfterMs',
        );
        expect((e as JobwireError).cause).toBeInstanceOf(TypeError);
      }
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('in the worker: a backoff function gets what the handler threw', async () => {
    const q = uniqueQueue('backoff');
    const seen: Seen[] = [];
    const jobs = registry(q, seen);
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(jobs, handlers, {
      connection: redis.url,
      logger: silent,
      ...fastWorkerSettings,
    });
    try {
      for (const kind of ['error', 'string']) {
        const s = await queue.enqueue('seeing', { kind });
        await s.finished({ timeoutMs: 15_000 }).catch(() => {});
      }
      expect(seen).toEqual(expectedSeen);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('in the test queue: called as the worker calls it; a throwing one loses no failure', async () => {
    const seen: Seen[] = [];
    const jobs = registry('backoff', seen);
    const test = createTestQueue(jobs, { handlers });
    await test.enqueue('picky', {});
    await expect(test.runAll()).resolves.toBeUndefined();
    expect(test.jobs[0]).toMatchObject({ state: 'failed', attemptsMade: 3 });
    expect(test.jobs[0]?.errors.map((e) => e.code)).toEqual([
      ErrorCode.HANDLER_FAILED,
      ErrorCode.HANDLER_FAILED,
      ErrorCode.HANDLER_FAILED,
    ]);

    for (const kind of ['error', 'string'])
      await test.enqueue('seeing', { kind });
    await test.runAll();
    expect(seen).toEqual(expectedSeen);
  });
});
