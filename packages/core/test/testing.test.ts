import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  defineJobs,
  job,
  JobwireError,
  PayloadTooLargeError,
  PermanentError,
  ValidationError,
} from '../src/index.ts';
import type { JobHandle } from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';
import { rejectionOf } from './helpers/assert.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();

function makeRegistry(queue = 'default') {
  return defineJobs({
    sendEmail: job({
      queue,
      payload: z.object({
        to: z.email(),
        subject: z.string().min(1),
        name: z.string().transform((s) => s.toUpperCase()),
        lang: z.string().default('en'),
      }),
      result: z.object({ messageId: z.string() }),
      progress: z.object({ sent: z.number().int().min(0) }),
    }),
    resize: job({
      queue,
      payload: z.object({ url: z.url(), width: z.number().int().positive() }),
      attempts: 3,
    }),
  });
}

const email = { to: 'a@b.co', subject: 'hi', name: 'ann' };

describe('validation, identical to the real queue', () => {
  const bad: [string, unknown][] = [
    ['several bad fields', { to: 'nope', subject: '', name: 3 }],
    ['a missing object', undefined],
    ['a nested bad type', { to: 'a@b.co', subject: 'x', name: ['x'] }],
  ];

  it.each(bad)(
    'throws the same ValidationError for %s',
    async (_label, payload) => {
      const reg = makeRegistry(uniqueQueue());
      const real = createQueue(reg, { connection: redis.url });
      try {
        const test = createTestQueue(reg);
        const fromReal = await rejectionOf(
          real.enqueue('sendEmail', payload as typeof email),
        );
        const fromTest = await rejectionOf(
          test.enqueue('sendEmail', payload as typeof email),
        );
        expect(fromTest).toBeInstanceOf(ValidationError);
        expect(fromReal).toBeInstanceOf(ValidationError);
        const [r, t] = [fromReal, fromTest] as ValidationError[];
        expect(t!.issues).toEqual(r!.issues);
        expect(t!.message).toBe(r!.message);
        expect(t!.subject).toBe(r!.subject);
        expect(test.jobs).toEqual([]);
      } finally {
        await real.close();
      }
    },
  );

  it('refuses bad options, non-JSON payloads, oversize payloads and bulk items alike', async () => {
    const reg = makeRegistry(uniqueQueue());
    const real = createQueue(reg, {
      connection: redis.url,
      maxPayloadBytes: 64,
    });
    try {
      const test = createTestQueue(reg, { maxPayloadBytes: 64 });
      const cases: ((q: typeof real | typeof test) => Promise<unknown>)[] = [
        (q) =>
          q.enqueue(
            'resize',
            { url: 'https://x.io', width: 1 },
            { attempts: 0 },
          ),
        (q) =>
          q.enqueue(
            'resize',
            { url: 'https://x.io', width: 1 },
            { jobId: '42' },
          ),
        (q) =>
          q.enqueue('resize', {
            url: 'https://x.io',
            width: 1,
            extra: new Date(0),
          } as { url: string; width: number }),
        (q) => q.enqueue('sendEmail', { ...email, subject: 'x'.repeat(100) }),
        (q) =>
          q.enqueueBulk([
            { name: 'resize', payload: { url: 'https://x.io', width: 1 } },
            { name: 'resize', payload: { url: 'bad', width: 1 } },
          ]),
      ];
      for (const run of cases) {
        const r = (await rejectionOf(run(real))) as JobwireError;
        const t = (await rejectionOf(run(test))) as JobwireError;
        expect(t).toBeInstanceOf(JobwireError);
        expect(t.constructor).toBe(r.constructor);
        expect(t.code).toBe(r.code);
        expect(t.message).toBe(r.message);
      }
      expect(
        await rejectionOf(
          test.enqueue('sendEmail', { ...email, subject: 'x'.repeat(100) }),
        ),
      ).toBeInstanceOf(PayloadTooLargeError);
      expect(test.jobs).toEqual([]);
    } finally {
      await real.close();
    }
  });
});

describe('cancel, identical to the real queue', () => {
  // Found by an outside review (2026-12-01): the test queue stored any reason.
  it('refuses a reason over 1000 characters or not a string, by id and by handle', async () => {
    const reg = makeRegistry(uniqueQueue());
    const real = createQueue(reg, { connection: redis.url });
    const test = createTestQueue(reg);
    const payload = { to: 'a@b.co', subject: 's', name: 'n' };
    try {
      const r = await real.enqueue('sendEmail', payload);
      const t = await test.enqueue('sendEmail', payload);
      for (const reason of ['x'.repeat(1001), 42 as unknown as string]) {
        const errors = [
          await rejectionOf(real.cancel(r.id, { reason })),
          await rejectionOf(r.cancel({ reason })),
          await rejectionOf(test.cancel(t.id, { reason })),
          await rejectionOf(t.cancel({ reason })),
        ];
        for (const e of errors) {
          expect((e as JobwireError).code).toBe('INVALID_OPTION');
          expect((e as Error).message).toBe((errors[0] as Error).message);
        }
      }
      expect(await test.cancel(t.id, { reason: 'x'.repeat(1000) })).toBe(
        'cancelled',
      );
    } finally {
      await real.close();
    }
  });
});

describe('capture', () => {
  it('captures the stored input without running anything', async () => {
    let calls = 0;
    const q = createTestQueue(makeRegistry(), {
      handlers: { sendEmail: () => ({ messageId: String(++calls) }) },
    });
    const h = await q.enqueue(
      'sendEmail',
      { ...email, unknownKey: 1 } as typeof email,
      { priority: 'high', attempts: 2 },
    );
    expect(h).toMatchObject({
      id: expect.stringMatching(/^[0-9a-z]{17,}$/),
      name: 'sendEmail',
      queue: 'default',
      duplicate: false,
    });
    expect(calls).toBe(0);
    expect(q.jobs).toHaveLength(1);
    const j = q.jobs[0]!;
    expect(j).toMatchObject({
      id: h.id,
      name: 'sendEmail',
      state: 'waiting',
      attemptsMade: 0,
      progress: [],
      logs: [],
      errors: [],
    });
    // Unknown keys stripped, no transforms or defaults: what Redis would hold.
    expect(j.data).toEqual(email);
    expect(j.options).toMatchObject({ priority: -10, attempts: 2 });
    if (j.name === 'sendEmail') expectTypeOf(j.data.to).toEqualTypeOf<string>();
    const [e] = q.jobsOf('sendEmail');
    expectTypeOf(e!.data.lang).toEqualTypeOf<string | undefined>();

    await q.enqueue(
      'resize',
      { url: 'https://x.io', width: 5 },
      { delayMs: 1000 },
    );
    expect(q.jobsOf('resize').map((r) => r.state)).toEqual(['delayed']);
    q.clear();
    expect(q.jobs).toEqual([]);
  });

  it('dedups by jobId, returning the existing job', async () => {
    const q = createTestQueue(makeRegistry());
    const a = await q.enqueue('sendEmail', email, { jobId: 'welcome-1' });
    const b = await q.enqueue(
      'sendEmail',
      { ...email, subject: 'other' },
      { jobId: 'welcome-1' },
    );
    expect(a).toMatchObject({ id: 'welcome-1', duplicate: false });
    expect(b).toMatchObject({ id: 'welcome-1', duplicate: true });
    expect(q.jobs.map((j) => j.data)).toEqual([email]);
    const [c, d] = await q.enqueueBulk([
      { name: 'sendEmail', payload: email, options: { jobId: 'x' } },
      { name: 'sendEmail', payload: email, options: { jobId: 'x' } },
    ]);
    expect([c!.duplicate, d!.duplicate]).toEqual([false, true]);
    expect(q.jobs).toHaveLength(2);
  });
});

describe('runInline', () => {
  it('runs the handler with transforms applied and resolves a typed result', async () => {
    const seen: unknown[] = [];
    const q = createTestQueue(makeRegistry(), {
      runInline: true,
      handlers: {
        sendEmail: async (j) => {
          seen.push(j.data);
          expectTypeOf(j.data.name).toEqualTypeOf<string>();
          expect(j.attempt).toBe(1);
          expect(j.signal.aborted).toBe(false);
          await j.progress({ sent: 1 });
          await j.log('sent');
          return { messageId: 'm-1' };
        },
      },
    });
    const h = await q.enqueue('sendEmail', email);
    expectTypeOf(h).toEqualTypeOf<JobHandle<{ messageId: string }>>();
    const result = await h.finished();
    expectTypeOf(result).toEqualTypeOf<{ messageId: string }>();
    expect(result).toEqual({ messageId: 'm-1' });
    expect(seen).toEqual([{ ...email, name: 'ANN', lang: 'en' }]);
    expect(q.jobs[0]).toMatchObject({
      state: 'completed',
      data: email,
      result: { messageId: 'm-1' },
      attemptsMade: 1,
      progress: [{ sent: 1 }],
      logs: ['sent'],
    });
  });

  it('retries back to back, then succeeds', async () => {
    const attempts: number[] = [];
    const q = createTestQueue(makeRegistry(), {
      runInline: true,
      handlers: {
        resize: (j) => {
          attempts.push(j.attempt);
          expect(j.attempts).toBe(3);
          if (j.attempt < 3) throw new Error(`flaky ${j.attempt}`);
        },
      },
    });
    const started = Date.now();
    const h = await q.enqueue('resize', { url: 'https://x.io', width: 1 });
    await expect(h.finished()).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(900); // no 1 s backoff waited
    expect(attempts).toEqual([1, 2, 3]);
    const j = q.jobs[0]!;
    expect(j.state).toBe('completed');
    expect(j.attemptsMade).toBe(3);
    expect(j.errors.map((e) => [e.message, e.attempt])).toEqual([
      ['flaky 1', 1],
      ['flaky 2', 2],
    ]);
  });

  it('fails after the last attempt with the handler error', async () => {
    const q = createTestQueue(makeRegistry(), {
      runInline: true,
      handlers: {
        resize: () => {
          throw new TypeError('boom');
        },
      },
    });
    const h = await q.enqueue('resize', { url: 'https://x.io', width: 1 });
    const err = (await rejectionOf(h.finished())) as JobwireError;
    expect(err).toBeInstanceOf(JobwireError);
    expect(err).toMatchObject({
      code: 'HANDLER_FAILED',
      name: 'TypeError',
      message: 'boom',
    });
    expect(q.jobs[0]).toMatchObject({ state: 'failed', attemptsMade: 3 });
    expect(q.jobs[0]!.error).toMatchObject({
      code: 'HANDLER_FAILED',
      attempt: 3,
    });
  });

  it('stops at a PermanentError', async () => {
    let calls = 0;
    const q = createTestQueue(makeRegistry(), {
      runInline: true,
      handlers: {
        resize: () => {
          calls++;
          throw new PermanentError('gone for good');
        },
      },
    });
    const h = await q.enqueue('resize', { url: 'https://x.io', width: 1 });
    const err = (await rejectionOf(h.finished())) as JobwireError;
    expect(err).toMatchObject({
      code: 'PERMANENT',
      name: 'PermanentError',
      message: 'gone for good',
    });
    expect(calls).toBe(1);
    expect(q.jobs[0]).toMatchObject({ state: 'failed', attemptsMade: 1 });
  });

  it('applies timeoutMs like the worker: aborts the signal and fails the attempt', async () => {
    let signal: AbortSignal | undefined;
    const q = createTestQueue(makeRegistry(), {
      runInline: true,
      handlers: {
        resize: (job) => {
          signal = job.signal;
          return new Promise<void>(() => {});
        },
      },
    });
    const h = await q.enqueue(
      'resize',
      { url: 'https://x.io', width: 1 },
      { timeoutMs: 30, attempts: 2 },
    );
    const err = (await rejectionOf(h.finished())) as JobwireError;
    expect(err.code).toBe('TIMEOUT');
    expect(signal?.aborted).toBe(true);
    expect(q.jobs[0]).toMatchObject({ state: 'failed', attemptsMade: 2 });
  });

  it('fails the job, without retry, when the result breaks its schema', async () => {
    let calls = 0;
    const q = createTestQueue(makeRegistry(), {
      runInline: true,
      handlers: {
        sendEmail: () => {
          calls++;
          return { messageId: 42 } as unknown as { messageId: string };
        },
      },
    });
    const h = await q.enqueue('sendEmail', email, { attempts: 3 });
    const err = (await rejectionOf(h.finished())) as ValidationError;
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.issues.map((i) => i.path)).toEqual(['messageId']);
    expect(calls).toBe(1);
    expect(q.jobs[0]!.error?.code).toBe('VALIDATION_FAILED');
  });

  it('refuses invalid progress and records only valid values', async () => {
    let refused: unknown;
    const q = createTestQueue(makeRegistry(), {
      runInline: true,
      handlers: {
        sendEmail: async (j) => {
          await j.progress({ sent: 1 });
          refused = await rejectionOf(j.progress({ sent: -1 }));
          // @ts-expect-error progress must match the progress schema
          await j.progress(50).catch(() => {});
          return { messageId: 'm' };
        },
      },
    });
    await (await q.enqueue('sendEmail', email)).finished();
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).subject).toBe('progress of sendEmail');
    expect(q.jobs[0]!.progress).toEqual([{ sent: 1 }]);
  });
});

describe('runAll', () => {
  it('runs by priority then FIFO, and finished() waits for the run', async () => {
    const order: string[] = [];
    const q = createTestQueue(makeRegistry(), {
      handlers: {
        resize: (j) => {
          order.push(`r${j.data.width}`);
        },
        sendEmail: (j) => {
          order.push(j.data.subject);
          return { messageId: j.id };
        },
      },
    });
    await q.enqueue(
      'resize',
      { url: 'https://x.io', width: 1 },
      { priority: 'low' },
    );
    const h = await q.enqueue('sendEmail', { ...email, subject: 'n1' });
    await q.enqueue(
      'resize',
      { url: 'https://x.io', width: 2 },
      { priority: 'critical' },
    );
    await q.enqueue(
      'sendEmail',
      { ...email, subject: 'n2' },
      { delayMs: 60_000 },
    );
    await q.enqueue(
      'resize',
      { url: 'https://x.io', width: 3 },
      { priority: 5 },
    );
    let settled = false;
    const result = h.finished().then((r) => ((settled = true), r));
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(order).toEqual([]);
    await q.runAll();
    expect(order).toEqual(['r2', 'n1', 'n2', 'r3', 'r1']);
    expect(await result).toEqual({ messageId: h.id });
    expect(q.jobs.every((j) => j.state === 'completed')).toBe(true);
  });

  it('times out finished() and rejects it on clear()', async () => {
    const q = createTestQueue(makeRegistry());
    const h = await q.enqueue('resize', { url: 'https://x.io', width: 1 });
    expect(await rejectionOf(h.finished({ timeoutMs: 10 }))).toMatchObject({
      code: 'TIMEOUT',
    });
    const pending = h.finished();
    q.clear();
    expect(await rejectionOf(pending)).toMatchObject({ code: 'JOB_NOT_FOUND' });
  });
});

describe('types', () => {
  it('refuses wrong payloads and unknown job names at compile time', async () => {
    const q = createTestQueue(makeRegistry());
    // @ts-expect-error width must be a number
    await rejectionOf(q.enqueue('resize', { url: 'https://x.io', width: '1' }));
    // @ts-expect-error no such job type
    await rejectionOf(q.enqueue('nope', {}));
    // @ts-expect-error no such job type
    expect(() => q.jobsOf('nope')).toThrow(JobwireError);
    // @ts-expect-error bulk items are checked per name
    await rejectionOf(q.enqueueBulk([{ name: 'resize', payload: email }]));
    for (const j of q.jobs) {
      // @ts-expect-error data is a union until the name is checked
      void j.data.to;
    }
  });
});
