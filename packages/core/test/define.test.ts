import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  JobwireError,
  ValidationError,
} from '../src/index.ts';
import type {
  HandlerMap,
  inferJobInput,
  inferJobOutput,
  inferJobProgress,
  inferJobResult,
  inferJobResultInput,
  JobOptions,
  Logger,
} from '../src/index.ts';
import { rejectionOf } from './helpers/assert.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();

const silent: Logger = { warn: () => {}, error: () => {} };

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function codeOf(err: unknown): string {
  expect(err).toBeInstanceOf(JobwireError);
  return (err as JobwireError).code;
}

/** A registry exercising every schema slot; `queue` keeps tests apart. */
function makeRegistry(queue: string) {
  return defineJobs({
    greet: job({
      queue,
      payload: z.object({
        name: z.string(),
        lang: z.string().default('en'),
        count: z.string().transform((s) => Number(s)),
      }),
      result: z.object({ text: z.string() }),
      progress: z.object({ step: z.number().int() }),
    }),
    ping: job({ queue, payload: z.object({ n: z.number() }) }),
  });
}

describe('job()', () => {
  it('fills in defaults and normalises options', () => {
    const d = job({ payload: z.object({}) });
    expect(d.kind).toBe('jobwire.job');
    expect(d.queue).toBe('default');
    expect(d.version).toBe(1);
    expect(d.result).toBeUndefined();
    expect(d.progress).toBeUndefined();
    expect(d.options.priority).toBe(0);
    expect(d.options.attempts).toBe(1);

    const custom = job({
      queue: 'mail',
      payload: z.object({}),
      version: 3,
      priority: 'high',
      attempts: 5,
      backoff: { type: 'fixed', delayMs: 10 },
    });
    expect(custom.queue).toBe('mail');
    expect(custom.version).toBe(3);
    expect(custom.options.priority).toBe(-10);
    expect(custom.options.attempts).toBe(5);
    expect(custom.options.backoff).toEqual({ type: 'fixed', delayMs: 10 });
  });

  it('rejects invalid defaults with a ValidationError naming the field', () => {
    const bad: [JobOptions, string][] = [
      [{ attempts: 0 }, 'attempts'],
      [{ attempts: 2.5 }, 'attempts'],
      [{ priority: 1001 }, 'priority'],
      [{ timeoutMs: -1 }, 'timeoutMs'],
      [{ backoff: { type: 'fixed', delayMs: -1 } }, 'backoff'],
      [{ retention: { completed: { count: -1 } } }, 'retention.completed'],
    ];
    for (const [options, path] of bad) {
      const err = thrownBy(() => job({ payload: z.object({}), ...options }));
      expect(err).toBeInstanceOf(ValidationError);
      const v = err as ValidationError;
      expect(v.code).toBe('VALIDATION_FAILED');
      expect(v.issues.some((i) => i.path.startsWith(path))).toBe(true);
    }
  });

  it('requires a positive integer version', () => {
    for (const version of [0, -1, 1.5, NaN, Infinity]) {
      const err = thrownBy(() => job({ payload: z.object({}), version }));
      expect(codeOf(err)).toBe('INVALID_OPTION');
      expect((err as Error).message).toContain('version');
    }
    expect(job({ payload: z.object({}), version: 7 }).version).toBe(7);
  });

  it('requires a zod payload schema and a safe queue name', () => {
    const err = thrownBy(() =>
      job({ payload: { parse: () => ({}) } as unknown as z.ZodType }),
    );
    expect(codeOf(err)).toBe('INVALID_OPTION');
    for (const queue of ['a{b}', '', 'has space', '1starts-with-digit']) {
      expect(
        codeOf(thrownBy(() => job({ queue, payload: z.object({}) }))),
      ).toBe('INVALID_NAME');
    }
  });
});

describe('defineJobs()', () => {
  it('lists names sorted and queues sorted without duplicates', () => {
    const p = z.object({});
    const reg = defineJobs({
      zeta: job({ queue: 'q-b', payload: p }),
      alpha: job({ queue: 'q-a', payload: p }),
      mid: job({ queue: 'q-b', payload: p }),
      plain: job({ payload: p }),
    });
    expect(reg.kind).toBe('jobwire.registry');
    expect(reg.names).toEqual(['alpha', 'mid', 'plain', 'zeta']);
    expect(reg.queues).toEqual(['default', 'q-a', 'q-b']);
    expect(Object.isFrozen(reg)).toBe(true);
  });

  it('refuses unsafe names and values not made by job()', () => {
    const p = z.object({});
    expect(
      codeOf(thrownBy(() => defineJobs({ 'bad name': job({ payload: p }) }))),
    ).toBe('INVALID_NAME');
    expect(
      codeOf(thrownBy(() => defineJobs({ 'a{b}': job({ payload: p }) }))),
    ).toBe('INVALID_NAME');
    expect(
      codeOf(
        thrownBy(() =>
          defineJobs({
            fake: { payload: p } as unknown as ReturnType<typeof job>,
          }),
        ),
      ),
    ).toBe('INVALID_OPTION');
  });
});

describe('types', () => {
  it('derives the producer input, handler output, result and progress types', () => {
    type J = ReturnType<typeof makeRegistry>['jobs'];
    expectTypeOf<inferJobInput<J, 'greet'>>().toEqualTypeOf<{
      name: string;
      lang?: string | undefined;
      count: string;
    }>();
    expectTypeOf<inferJobOutput<J, 'greet'>>().toEqualTypeOf<{
      name: string;
      lang: string;
      count: number;
    }>();
    expectTypeOf<inferJobResult<J, 'greet'>>().toEqualTypeOf<{
      text: string;
    }>();
    expectTypeOf<inferJobResultInput<J, 'greet'>>().toEqualTypeOf<{
      text: string;
    }>();
    expectTypeOf<inferJobProgress<J, 'greet'>>().toEqualTypeOf<{
      step: number;
    }>();
    // Without schemas: no result, progress is a number.
    expectTypeOf<inferJobResult<J, 'ping'>>().toEqualTypeOf<undefined>();
    expectTypeOf<inferJobResultInput<J, 'ping'>>().toEqualTypeOf<void>();
    expectTypeOf<inferJobProgress<J, 'ping'>>().toEqualTypeOf<number>();
  });

  it('types enqueue, handlers and finished() from the schemas', async () => {
    const q = uniqueQueue();
    const reg = makeRegistry(q);
    const queue = createQueue(reg, { connection: redis.url, logger: silent });
    const seen: unknown[] = [];
    const handlers: HandlerMap<typeof reg.jobs> = {
      greet: async (j) => {
        expectTypeOf(j.data).toEqualTypeOf<{
          name: string;
          lang: string;
          count: number;
        }>();
        expectTypeOf(j.progress).parameter(0).toEqualTypeOf<{ step: number }>();
        seen.push(j.data);
        await j.progress({ step: 1 });
        return { text: `${j.data.lang}:${j.data.name}:${j.data.count + 1}` };
      },
      ping: async (j) => {
        expectTypeOf(j.data).toEqualTypeOf<{ n: number }>();
        expectTypeOf(j.progress).parameter(0).toEqualTypeOf<number>();
        await j.progress(100);
      },
    };
    const worker = createWorker(reg, handlers, {
      connection: redis.url,
      ...fastWorkerSettings,
    });
    try {
      expectTypeOf(queue.enqueue<'greet'>)
        .parameter(1)
        .toEqualTypeOf<{
          name: string;
          lang?: string | undefined;
          count: string;
        }>();

      // `lang` has a default: producers may omit it.
      const h = await queue.enqueue('greet', { name: 'ann', count: '41' });
      const result = await h.finished({ timeoutMs: 5000 });
      expectTypeOf(result).toEqualTypeOf<{ text: string }>();
      expect(result).toEqual({ text: 'en:ann:42' });
      expect(seen).toEqual([{ name: 'ann', lang: 'en', count: 41 }]);

      const p = await queue.enqueue('ping', { n: 1 });
      expectTypeOf(p.finished).returns.resolves.toEqualTypeOf<undefined>();
      const none = await p.finished({ timeoutMs: 5000 });
      expectTypeOf(none).toEqualTypeOf<undefined>();
      expect(none).toBeUndefined();

      // Wrong usages: compile errors, and refused at run time as well.
      const wrongType = queue.enqueue('greet', {
        // @ts-expect-error name must be a string
        name: 1,
        count: '1',
      });
      expect(codeOf(await rejectionOf(wrongType))).toBe('VALIDATION_FAILED');

      // @ts-expect-error count is required
      const missing = queue.enqueue('greet', { name: 'x' });
      const missingErr = await rejectionOf(missing);
      expect(codeOf(missingErr)).toBe('VALIDATION_FAILED');
      expect((missingErr as ValidationError).issues.map((i) => i.path)).toEqual(
        ['count'],
      );

      // @ts-expect-error no such job type
      const unknown = queue.enqueue('nope', {});
      expect(codeOf(await rejectionOf(unknown))).toBe('UNKNOWN_JOB_TYPE');
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('rejects a wrong handler result and a wrong progress value', async () => {
    const q = uniqueQueue();
    const reg = makeRegistry(q);
    const queue = createQueue(reg, { connection: redis.url, logger: silent });
    const progressErrors: unknown[] = [];
    const worker = createWorker(
      reg,
      {
        // @ts-expect-error the handler returns { text: number }, not { text: string }
        greet: async (j) => {
          try {
            // @ts-expect-error progress must be { step: number }
            await j.progress({ step: 'one' });
          } catch (err) {
            progressErrors.push(err);
          }
          return { text: j.data.count };
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('greet', { name: 'x', count: '5' });
      const err = await rejectionOf(h.finished({ timeoutMs: 5000 }));
      // The result schema is checked in the worker: the job fails.
      expect(codeOf(err)).toBe('VALIDATION_FAILED');
      expect(progressErrors).toHaveLength(1);
      expect(codeOf(progressErrors[0])).toBe('VALIDATION_FAILED');
      expect(
        (progressErrors[0] as ValidationError).issues.map((i) => i.path),
      ).toEqual(['step']);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
