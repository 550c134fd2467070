/**
 * Results had no size limit: a handler that returned 20 MB stored it in
 * the job and again in its `completed` event, kept for as long as the job
 * and the event log keep them (10,000 events by default), so a few such
 * jobs could fill Redis. A result over the worker's `maxResultBytes`
 * (512 KiB by default) now fails its job with PAYLOAD_TOO_LARGE, without
 * retry, and nothing of it is stored; the test queue does the same.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
} from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };
let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

function registry(q: string) {
  return defineJobs({
    render: job({
      queue: q,
      payload: z.object({ bytes: z.number().int() }),
      result: z.object({ blob: z.string() }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 1 },
    }),
  });
}

const handlers = {
  render: (j: { data: { bytes: number } }) => ({
    blob: 'x'.repeat(j.data.bytes),
  }),
};

describe('maxResultBytes', () => {
  it('a worker fails a result over the limit at once, and stores none of it', async () => {
    const q = uniqueQueue('result-size');
    const jobs = registry(q);
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(jobs, handlers, {
      connection: redis.url,
      logger: silent,
      maxResultBytes: 1000,
      ...fastWorkerSettings,
    });
    try {
      const big = await queue.enqueue('render', { bytes: 2000 });
      await expect(big.finished({ timeoutMs: 10_000 })).rejects.toMatchObject({
        code: ErrorCode.PAYLOAD_TOO_LARGE,
        message: expect.stringContaining('maxResultBytes') as string,
      });
      const info = await queue.getJob(big.id, { queue: q });
      expect(info).toMatchObject({ state: 'failed', attemptsMade: 1 });
      expect(info?.result).toBeUndefined();
      const log = await raw.xrange(`jobwire:{${q}}:events`, '-', '+');
      expect(JSON.stringify(log)).not.toContain('x'.repeat(1000));

      // Just under the limit (the JSON adds 12 bytes) completes.
      const fits = await queue.enqueue('render', { bytes: 988 });
      await expect(fits.finished({ timeoutMs: 10_000 })).resolves.toEqual({
        blob: 'x'.repeat(988),
      });
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('the default is 512 KiB', async () => {
    const q = uniqueQueue('result-size');
    const jobs = registry(q);
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(jobs, handlers, {
      connection: redis.url,
      logger: silent,
      ...fastWorkerSettings,
    });
    try {
      const big = await queue.enqueue('render', { bytes: 600_000 });
      await expect(big.finished({ timeoutMs: 10_000 })).rejects.toMatchObject({
        code: ErrorCode.PAYLOAD_TOO_LARGE,
      });
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('an invalid maxResultBytes is refused', () => {
    const jobs = registry('result-size');
    expect(() =>
      createWorker(jobs, handlers, {
        connection: redis.url,
        maxResultBytes: 0,
        autorun: false,
      }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTION }));
  });

  it('the test queue applies it too', async () => {
    const test = createTestQueue(registry('result-size'), {
      handlers,
      maxResultBytes: 1000,
    });
    await test.enqueue('render', { bytes: 2000 });
    await test.runAll();
    expect(test.jobs[0]).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(test.jobs[0]?.errors[0]?.code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
  });
});
