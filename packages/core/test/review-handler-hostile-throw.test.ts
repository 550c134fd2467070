/**
 * Found by an outside review of the handler run path: a thrown value
 * jobwire could not inspect (a Proxy whose `get` throws, a revoked Proxy,
 * an Error whose `stack`/`name`/`message` getter throws, an Error whose
 * `stack` is an object) made recording the failure throw. The worker then
 * never wrote the attempt's outcome: the job ran again after its lease
 * ran out and ended STALL_LIMIT with the handler's error lost; the test
 * queue's runAll() rejected. The failure is now recorded as HANDLER_FAILED
 * and retried per `attempts`, in both.
 *
 * The same review found values recorded badly: a BigInt as
 * `[object BigInt]`, a circular object as `[object Object]`, an Error whose
 * message is an object, and messages of any length.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  type SerializedError,
} from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };

/** Values whose inspection throws. */
const hostile: Record<string, () => unknown> = {
  proxy: () =>
    new Proxy(
      {},
      {
        get() {
          throw new Error('proxy trap');
        },
      },
    ),
  revoked: () => {
    const p = Proxy.revocable({}, {});
    p.revoke();
    return p.proxy;
  },
  stackGetter: () => {
    const e = new Error('stack getter case');
    Object.defineProperty(e, 'stack', {
      get() {
        throw new Error('stack getter');
      },
    });
    return e;
  },
  nameGetter: () => {
    const e = new Error('name getter case');
    Object.defineProperty(e, 'name', {
      get() {
        throw new Error('name getter');
      },
    });
    return e;
  },
  messageGetter: () => {
    const e = new Error('m');
    Object.defineProperty(e, 'message', {
      get() {
        throw new Error('message getter');
      },
    });
    return e;
  },
  stackObject: () =>
    Object.assign(new Error('stack object case'), { stack: { frames: [] } }),
  nameNumber: () => Object.assign(new Error('name number case'), { name: 42 }),
};

/** What each hostile case's recorded message must say. */
const expectedMessage: Record<string, RegExp> = {
  proxy: /^handler threw a non-Error value: Proxy \[/,
  revoked: /^handler threw a non-Error value: <Revoked Proxy>$/,
  stackGetter: /^stack getter case$/,
  nameGetter: /^name getter case$/,
  messageGetter: /could not be read/,
  stackObject: /^stack object case$/,
  nameNumber: /^name number case$/,
};

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;

/** Values recorded badly before, and what is recorded now. */
const odd: Record<string, { value: () => unknown; message: RegExp }> = {
  bigint: {
    value: () => 12345678901234567890n,
    message: /^handler threw a non-Error value: 12345678901234567890n$/,
  },
  circular: {
    value: () => circular,
    message: /^handler threw a non-Error value: .*a: 1, self: \[Circular/,
  },
  messageObject: {
    value: () => Object.assign(new Error('x'), { message: { a: 1 } }),
    message: /^\{"a":1\}$/,
  },
  hugeMessage: {
    value: () => new Error('m'.repeat(100_000)),
    message: /^m{3999}…$/,
  },
};

function throwing(make: () => unknown): () => Promise<never> {
  return () => Promise.reject(make() as Error);
}

describe('a thrown value jobwire cannot inspect', () => {
  it('the worker records HANDLER_FAILED and retries per attempts, no stall', async () => {
    const q = uniqueQueue('hostile');
    const jobs = defineJobs({
      t: job({
        queue: q,
        payload: z.object({ k: z.string() }),
        attempts: 2,
        backoff: { type: 'fixed', delayMs: 0 },
      }),
    });
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(
      jobs,
      { t: (j) => throwing(hostile[j.data.k]!)() },
      {
        connection: redis.url,
        logger: silent,
        concurrency: 4,
        ...fastWorkerSettings,
      },
    );
    const errors: unknown[] = [];
    worker.on('error', (e) => errors.push(e));
    try {
      const handles = await Promise.all(
        Object.keys(hostile).map((k) => queue.enqueue('t', { k })),
      );
      for (const [i, k] of Object.keys(hostile).entries()) {
        const h = handles[i]!;
        const err = await h
          .finished({ timeoutMs: 10_000 })
          .catch((e: unknown) => e);
        expect((err as { code?: string }).code, k).toBe(
          ErrorCode.HANDLER_FAILED,
        );
        const info = await queue.getJob(h.id, { queue: q });
        expect(info?.state, k).toBe('failed');
        expect(info?.attemptsMade, k).toBe(2);
        expect(info?.stalls, k).toBe(0);
        expect(
          info?.errors.map((e) => [e.code, e.attempt]),
          k,
        ).toEqual([
          [ErrorCode.HANDLER_FAILED, 1],
          [ErrorCode.HANDLER_FAILED, 2],
        ]);
        expect(info?.errors[0]?.message, k).toMatch(expectedMessage[k]!);
        expect(typeof info?.errors[0]?.name, k).toBe('string');
        const stack = info?.errors[0]?.stack;
        expect(stack === undefined || typeof stack === 'string', k).toBe(true);
      }
      expect(describeErrors(errors)).toEqual([]);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('the test queue records HANDLER_FAILED and retries; runAll resolves', async () => {
    const jobs = defineJobs({
      t: job({
        queue: 'hostile',
        payload: z.object({ k: z.string() }),
        attempts: 2,
      }),
    });
    const test = createTestQueue(jobs, {
      handlers: { t: (j) => throwing(hostile[j.data.k]!)() },
    });
    for (const k of Object.keys(hostile)) await test.enqueue('t', { k });
    await expect(test.runAll()).resolves.toBeUndefined();
    for (const j of test.jobs) {
      const k = j.data.k;
      expect(j.state, k).toBe('failed');
      expect(j.attemptsMade, k).toBe(2);
      expect(
        j.errors.map((e) => e.code),
        k,
      ).toEqual([ErrorCode.HANDLER_FAILED, ErrorCode.HANDLER_FAILED]);
      expect(j.error?.message, k).toMatch(expectedMessage[k]!);
    }
  });
});

describe('what is recorded for odd thrown values', () => {
  function checkRecorded(errors: readonly SerializedError[], k: string): void {
    const e = errors[0]!;
    expect(e.code, k).toBe(ErrorCode.HANDLER_FAILED);
    expect(e.message, k).toMatch(odd[k]!.message);
    expect(e.message.length, k).toBeLessThanOrEqual(4000);
    expect((e.stack ?? '').length, k).toBeLessThanOrEqual(4000);
  }

  it('in the worker', async () => {
    const q = uniqueQueue('odd');
    const jobs = defineJobs({
      t: job({ queue: q, payload: z.object({ k: z.string() }) }),
    });
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(
      jobs,
      { t: (j) => throwing(odd[j.data.k]!.value)() },
      { connection: redis.url, logger: silent, ...fastWorkerSettings },
    );
    try {
      for (const k of Object.keys(odd)) {
        const h = await queue.enqueue('t', { k });
        await h.finished({ timeoutMs: 10_000 }).catch(() => {});
        const info = await queue.getJob(h.id, { queue: q });
        checkRecorded(info!.errors, k);
      }
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('in the test queue', async () => {
    const jobs = defineJobs({
      t: job({ queue: 'odd', payload: z.object({ k: z.string() }) }),
    });
    const test = createTestQueue(jobs, {
      handlers: { t: (j) => throwing(odd[j.data.k]!.value)() },
    });
    for (const k of Object.keys(odd)) await test.enqueue('t', { k });
    await test.runAll();
    for (const j of test.jobs) checkRecorded(j.errors, j.data.k);
  });
});

/** Worker 'error' events, as code and message (a stall check's report shows here). */
function describeErrors(errors: unknown[]): string[] {
  return errors.map((e) => `${(e as Error).name}: ${(e as Error).message}`);
}
