/**
 * Found by an outside review (2026-12-01): a schema that throws instead of
 * reporting an issue (a transform that throws; a payload nested past the
 * stack under a `z.lazy` schema) made the worker retry the job through
 * every attempt, recorded as HANDLER_FAILED though no handler ran; at
 * enqueue the raw error escaped, with no code. Both are invalid input:
 * VALIDATION_FAILED, at once.
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
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };

const strict = z.object({ n: z.number() }).transform((v) => {
  if (v.n < 0) throw new Error('negative n');
  return v;
});

describe('a schema that throws is a validation failure', () => {
  it('at enqueue: a ValidationError that names the throw, and nothing stored', async () => {
    const q = uniqueQueue('thr');
    const jobs = defineJobs({ t: job({ queue: q, payload: strict }) });
    const queue = createQueue(jobs, { connection: redis.url });
    try {
      const err = await queue.enqueue('t', { n: -1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).code).toBe(ErrorCode.VALIDATION_FAILED);
      expect((err as ValidationError).issues[0]?.message).toContain(
        'the schema threw: negative n',
      );
      expect((await queue.getCounts({ queue: q })).waiting).toBe(0);
    } finally {
      await queue.close();
    }
  });

  it('in the worker: the job fails at once with VALIDATION_FAILED, no retry, handler never run', async () => {
    const q = uniqueQueue('thr');
    // The producer's schema has no transform: the worker's throws.
    const producerJobs = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }), attempts: 3 }),
    });
    const workerJobs = defineJobs({
      t: job({ queue: q, payload: strict, attempts: 3 }),
    });
    const queue = createQueue(producerJobs, { connection: redis.url });
    let ran = 0;
    const worker = createWorker(
      workerJobs,
      {
        t: () => {
          ran++;
          return Promise.resolve();
        },
      },
      { connection: redis.url, logger: silent, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('t', { n: -1 });
      const err = await h
        .finished({ timeoutMs: 5000 })
        .catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe(ErrorCode.VALIDATION_FAILED);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('failed');
      expect(info?.attemptsMade).toBe(1);
      expect(ran).toBe(0);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  // Found by a review of the fix: the test queue, job.progress() and
  // finished() still let the raw error through.
  it('in the test queue and in progress(): the same validation failure, no retry', async () => {
    const q = uniqueQueue('thr');
    const throwing = z.object({ id: z.string() }).transform((v) => {
      if (v.id === 'bad') throw new Error('bad id');
      return v;
    });
    const jobs = defineJobs({
      t: job({
        queue: q,
        payload: z.object({}),
        result: throwing,
        progress: throwing,
        attempts: 3,
      }),
    });
    let calls = 0;
    const progressErrors: unknown[] = [];
    const test = createTestQueue(jobs, {
      runInline: true,
      handlers: {
        t: async (j) => {
          calls++;
          await j.progress({ id: 'bad' }).catch((e: unknown) => {
            progressErrors.push(e);
          });
          return { id: 'bad' };
        },
      },
    });
    const h = await test.enqueue('t', {});
    const err = await h.finished().catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe(ErrorCode.VALIDATION_FAILED);
    expect(calls).toBe(1);
    expect(progressErrors).toHaveLength(1);
    expect(progressErrors[0]).toBeInstanceOf(ValidationError);
    expect((progressErrors[0] as ValidationError).issues[0]?.message).toBe(
      'the schema threw: bad id',
    );
  });
});
