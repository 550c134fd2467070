/**
 * Found by an outside review of the handler run path: an error a handler
 * threw kept its code when it was a jobwire error, and so skipped the
 * retries the docs promise ("only a PermanentError means no further
 * attempts"). A ValidationError from `job.progress(500)`, or a rejected
 * `finished()` of another job (PERMANENT, CANCELLED) rethrown by a parent,
 * failed the parent at once, and a child's CANCELLED made the parent look
 * cancelled. What a handler throws is now a handler failure: only a
 * PermanentError keeps permanence; anything else is HANDLER_FAILED with
 * the original's name and message, and retried. The job's own timeout and
 * cancel still come through as TIMEOUT and CANCELLED.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CancelledError,
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
  PermanentError,
  TimeoutError,
  type JobRegistry,
  type Producer,
} from '../src/index.ts';
import { createTestQueue, type TestQueue } from '../src/testing/test-queue.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };

function registry(q: string) {
  return defineJobs({
    p: job({
      queue: q,
      payload: z.object({ mode: z.string() }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 0 },
    }),
    child: job({ queue: q, payload: z.object({}) }),
    childPerm: job({ queue: q, payload: z.object({}) }),
  });
}
type Jobs =
  ReturnType<typeof registry> extends JobRegistry<infer T> ? T : never;

/** The parent's modes, and the name its recorded errors keep. */
const rethrown: Record<string, string> = {
  progressInvalid: 'ValidationError',
  childPermanent: 'PermanentError', // its name, rebuilt by finished(): not a PermanentError instance
  childCancelled: 'CancelledError',
  ownJobwireError: 'JobwireError',
  ownTimeoutError: 'TimeoutError',
  ownCancelledError: 'CancelledError',
};

function handlers(producer: () => Producer<Jobs>) {
  return {
    p: async (j: {
      data: { mode: string };
      progress: (v: number) => Promise<void>;
    }): Promise<void> => {
      switch (j.data.mode) {
        case 'progressInvalid':
          await j.progress(500);
          return;
        case 'childPermanent': {
          const h = await producer().enqueue('childPerm', {});
          await h.finished({ timeoutMs: 10_000 });
          return;
        }
        case 'childCancelled': {
          const h = await producer().enqueue('child', {}, { delayMs: 60_000 });
          await h.cancel({ reason: 'not needed' });
          await h.finished({ timeoutMs: 10_000 });
          return;
        }
        case 'ownJobwireError':
          throw new JobwireError(ErrorCode.INVALID_OPTION, 'my own misuse');
        case 'ownTimeoutError':
          throw new TimeoutError(10);
        case 'ownCancelledError':
          throw new CancelledError('someone-else', 'r');
        case 'permanent':
          throw new PermanentError('give up');
      }
    },
    childPerm: (): Promise<void> =>
      Promise.reject(new PermanentError('child is permanent')),
  };
}

interface Outcome {
  finished: unknown;
  state: string | undefined;
  attemptsMade: number | undefined;
  errors: { code: string; name: string }[];
}

function expectRetried(o: Outcome, mode: string): void {
  expect((o.finished as { code?: string }).code, mode).toBe(
    ErrorCode.HANDLER_FAILED,
  );
  expect((o.finished as { name?: string }).name, mode).toBe(rethrown[mode]);
  expect(o.state, mode).toBe('failed');
  expect(o.attemptsMade, mode).toBe(3);
  expect(o.errors, mode).toEqual(
    [1, 2, 3].map(() => ({
      code: ErrorCode.HANDLER_FAILED,
      name: rethrown[mode],
    })),
  );
}

function expectPermanent(o: Outcome): void {
  expect((o.finished as { code?: string }).code).toBe(ErrorCode.PERMANENT);
  expect(o.attemptsMade).toBe(1);
  expect(o.errors.map((e) => e.code)).toEqual([ErrorCode.PERMANENT]);
}

describe('a jobwire error rethrown by a handler is a handler failure', () => {
  it('in the worker: HANDLER_FAILED, retried per attempts; only PermanentError is final', async () => {
    const q = uniqueQueue('rethrow');
    const jobs = registry(q);
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(
      jobs,
      { ...handlers(() => queue), child: () => Promise.resolve() },
      {
        connection: redis.url,
        logger: silent,
        concurrency: 8,
        ...fastWorkerSettings,
      },
    );
    const run = async (mode: string): Promise<Outcome> => {
      const h = await queue.enqueue('p', { mode });
      const finished = await h
        .finished({ timeoutMs: 15_000 })
        .catch((e: unknown) => e);
      const info = await queue.getJob(h.id, { queue: q });
      return {
        finished,
        state: info?.state,
        attemptsMade: info?.attemptsMade,
        errors: (info?.errors ?? []).map((e) => ({
          code: e.code,
          name: e.name,
        })),
      };
    };
    try {
      const outcomes = await Promise.all(Object.keys(rethrown).map(run));
      for (const [i, mode] of Object.keys(rethrown).entries())
        expectRetried(outcomes[i]!, mode);
      expectPermanent(await run('permanent'));
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('in the test queue: the same', async () => {
    const jobs = registry('rethrow');
    // Inline: a parent's child runs inside the parent's attempt. `child`
    // has no handler, so a delayed one stays delayed until cancelled.
    const test: TestQueue<Jobs> = createTestQueue(jobs, {
      runInline: true,
      handlers: handlers(() => test),
    });
    const run = async (mode: string): Promise<Outcome> => {
      const h = await test.enqueue('p', { mode });
      const finished = await h.finished().catch((e: unknown) => e);
      const j = test.jobs.find((x) => x.id === h.id);
      return {
        finished,
        state: j?.state,
        attemptsMade: j?.attemptsMade,
        errors: (j?.errors ?? []).map((e) => ({ code: e.code, name: e.name })),
      };
    };
    for (const mode of Object.keys(rethrown))
      expectRetried(await run(mode), mode);
    expectPermanent(await run('permanent'));
  });

  it("the job's own timeout is still TIMEOUT, even when the handler rethrows its signal's reason", async () => {
    const q = uniqueQueue('rethrow');
    const jobs = defineJobs({
      t: job({
        queue: q,
        payload: z.object({}),
        attempts: 2,
        timeoutMs: 50,
        backoff: { type: 'fixed', delayMs: 0 },
      }),
    });
    const handler = (j: { signal: AbortSignal }): Promise<never> =>
      new Promise((_, reject) => {
        j.signal.addEventListener('abort', () => {
          reject(j.signal.reason as Error);
        });
      });
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(
      jobs,
      { t: handler },
      { connection: redis.url, logger: silent, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('t', {});
      await h.finished({ timeoutMs: 10_000 }).catch(() => {});
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.errors.map((e) => e.code)).toEqual([
        ErrorCode.TIMEOUT,
        ErrorCode.TIMEOUT,
      ]);
    } finally {
      await worker.close();
      await queue.close();
    }
    const test = createTestQueue(jobs, { handlers: { t: handler } });
    await test.enqueue('t', {});
    await test.runAll();
    expect(test.jobs[0]?.errors.map((e) => e.code)).toEqual([
      ErrorCode.TIMEOUT,
      ErrorCode.TIMEOUT,
    ]);
  });
});
