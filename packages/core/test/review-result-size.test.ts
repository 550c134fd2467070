/**
 * Results had no size limit: a handler that returned 20 MB stored it in
 * the job and again in its `completed` event, kept for as long as the job
 * and the event log keep them (10,000 events by default), so a few such
 * jobs could fill Redis. A result over the worker's `maxResultBytes`
 * (512 KiB by default) now fails its job with PAYLOAD_TOO_LARGE, without
 * retry, and nothing of it is stored; the test queue does the same. A
 * progress value or a log line over it (each also unbounded before, and
 * a progress value kept in the event log too) is refused: the call
 * rejects with PAYLOAD_TOO_LARGE and nothing is written.
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

/** What a handler's oversized progress and log calls did. */
interface Refusals {
  progress?: unknown;
  log?: unknown;
}

function chattyRegistry(q: string) {
  return defineJobs({
    chatty: job({
      queue: q,
      payload: z.object({ bytes: z.number().int() }),
      progress: z.object({ note: z.string() }),
    }),
  });
}

/** Reports a small progress and log line, then oversized ones. */
function chattyHandlers(seen: Refusals) {
  return {
    chatty: async (j: {
      data: { bytes: number };
      progress(v: { note: string }): Promise<void>;
      log(line: string): Promise<void>;
    }) => {
      await j.progress({ note: 'small' });
      await j.log('small');
      seen.progress = await j
        .progress({ note: 'x'.repeat(j.data.bytes) })
        .catch((e: unknown) => e);
      seen.log = await j.log('x'.repeat(j.data.bytes)).catch((e: unknown) => e);
    },
  };
}

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

  it('a progress value or log line over the limit is refused, nothing written', async () => {
    const q = uniqueQueue('result-size');
    const jobs = chattyRegistry(q);
    const seen: Refusals = {};
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(jobs, chattyHandlers(seen), {
      connection: redis.url,
      logger: silent,
      maxResultBytes: 1000,
      ...fastWorkerSettings,
    });
    try {
      const h = await queue.enqueue('chatty', { bytes: 2000 });
      await h.finished({ timeoutMs: 10_000 });
      for (const refused of [seen.progress, seen.log])
        expect(refused).toMatchObject({
          code: ErrorCode.PAYLOAD_TOO_LARGE,
          message: expect.stringContaining('maxResultBytes') as string,
        });
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.progress).toEqual({ note: 'small' });
      expect(info?.logs).toEqual(['small']);
      const log = await raw.xrange(`jobwire:{${q}}:events`, '-', '+');
      expect(JSON.stringify(log)).not.toContain('x'.repeat(1000));
    } finally {
      await worker.close();
      await queue.close();
    }
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

    const seen: Refusals = {};
    const chatty = createTestQueue(chattyRegistry('result-size'), {
      handlers: chattyHandlers(seen),
      maxResultBytes: 1000,
    });
    await chatty.enqueue('chatty', { bytes: 2000 });
    await chatty.runAll();
    expect(chatty.jobs[0]?.state).toBe('completed');
    expect(seen.progress).toMatchObject({ code: ErrorCode.PAYLOAD_TOO_LARGE });
    expect(seen.log).toMatchObject({ code: ErrorCode.PAYLOAD_TOO_LARGE });
    expect(chatty.jobs[0]?.logs).toEqual(['small']);
  });
});
