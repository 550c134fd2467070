/**
 * Found by an outside review (2026-12-02): with an async refine or
 * transform in a job type's RESULT schema, the worker (which parses with
 * the async fallback) completed the job, but finished(), waitForResult()
 * and getJob(id, { name }) parsed the stored result synchronously and
 * rejected with VALIDATION_FAILED "Encountered Promise during synchronous
 * parse"; a typed QueueEvents put the result in `unchecked`. Result reads
 * now parse with the async fallback when the schema needs it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  ValidationError,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

const positive = z.number().refine(async (n) => {
  await new Promise((r) => setTimeout(r, 1));
  return n > 0;
}, 'positive');
const doubled = z.number().transform(async (n) => n * 2);

describe('a result schema with an async refine or transform', () => {
  it('finished(), waitForResult(), getJob(id, { name }) and typed events give the parsed result', async () => {
    const q = uniqueQueue('rev-async');
    const jobs = defineJobs({
      a: job({ queue: q, payload: z.object({}), result: positive }),
      b: job({ queue: q, payload: z.object({}), result: doubled }),
    });
    const queue = createQueue(jobs, { connection: redis.url });
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
      jobs,
    });
    const completed: { name: string; result: unknown; unchecked: unknown }[] =
      [];
    events.on('completed', (e) =>
      completed.push({
        name: e.name,
        result: e.result,
        unchecked: 'unchecked' in e ? e.unchecked : undefined,
      }),
    );
    const worker = createWorker(
      jobs,
      { a: () => 3, b: () => 5 },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const ha = await queue.enqueue('a', {});
      const hb = await queue.enqueue('b', {});
      expect(await ha.finished({ timeoutMs: 5000 })).toBe(3);
      // The handler's 5 is stored; the transform runs on read.
      expect(await hb.finished({ timeoutMs: 5000 })).toBe(10);
      expect(await queue.waitForResult('a', ha.id, { timeoutMs: 5000 })).toBe(
        3,
      );
      expect((await queue.getJob(ha.id, { name: 'a' }))?.result).toBe(3);
      expect((await queue.getJob(hb.id, { name: 'b' }))?.result).toBe(10);
      await waitFor(() => completed.length === 2, 5000, 'two completed events');
      expect(completed).toEqual([
        { name: 'a', result: 3, unchecked: undefined },
        { name: 'b', result: 10, unchecked: undefined },
      ]);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });

  it('a stored result the async refine refuses is still VALIDATION_FAILED, unchecked in typed events', async () => {
    const q = uniqueQueue('rev-async-bad');
    // An older worker stored -1 with a schema that allowed it.
    const old = defineJobs({
      a: job({ queue: q, payload: z.object({}), result: z.number() }),
    });
    const jobs = defineJobs({
      a: job({ queue: q, payload: z.object({}), result: positive }),
    });
    const queue = createQueue(jobs, { connection: redis.url });
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
      jobs,
    });
    const unchecked: unknown[] = [];
    events.on('completed', (e) =>
      unchecked.push('unchecked' in e ? e.unchecked : undefined),
    );
    const worker = createWorker(
      old,
      { a: () => -1 },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('a', {});
      const err = await h
        .finished({ timeoutMs: 5000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe(ErrorCode.VALIDATION_FAILED);
      expect((err as ValidationError).message).toContain('positive');
      const info = await queue
        .getJob(h.id, { name: 'a' })
        .catch((e: unknown) => e);
      expect(info).toBeInstanceOf(ValidationError);
      expect((info as ValidationError).message).toContain('positive');
      await waitFor(() => unchecked.length === 1, 5000, 'the completed event');
      expect(unchecked).toEqual([{ result: -1, reason: 'positive' }]);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});
