import { spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import {
  afterAll,
  beforeAll,
  describe,
  expect,
  expectTypeOf,
  it,
} from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  JobwireError,
  PayloadTooLargeError,
  PermanentError,
  RedisUnavailableError,
  ValidationError,
} from '../src/index.ts';
import type {
  EnqueueOptions,
  JobHandle,
  JobMap,
  Logger,
  Priority,
  Queue,
} from '../src/index.ts';
import { rejectionOf } from './helpers/assert.ts';
import { persistentKeys } from './helpers/redis-keys.ts';
import { freePort, uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;

beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

const silent: Logger = { warn: () => {}, error: () => {} };

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function asValidationError(err: unknown): ValidationError {
  expect(err).toBeInstanceOf(ValidationError);
  const v = err as ValidationError;
  expect(v.code).toBe('VALIDATION_FAILED');
  return v;
}

function codeOf(err: unknown): string | undefined {
  expect(err).toBeInstanceOf(JobwireError);
  return (err as JobwireError).code;
}

async function waitUntil(
  cond: () => Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

function jobKey(queue: string, id: string): string {
  return `jobwire:{${queue}}:j:${id}`;
}

/** The key of a job's payload JSON. */
function payloadKey(queue: string, id: string): string {
  return `jobwire:{${queue}}:p:${id}`;
}

describe('enqueue validation', () => {
  it('lists every failing field path, nested ones dotted, and writes nothing', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      signup: job({
        queue: q,
        payload: z.object({
          name: z.string(),
          age: z.number().int(),
          addr: z.object({ zip: z.string().regex(/^\d{5}$/) }),
        }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      // A valid job first, so the queue's keys exist and DBSIZE is non-zero.
      await queue.enqueue('signup', {
        name: 'ok',
        age: 3,
        addr: { zip: '12345' },
      });
      const before = await persistentKeys(raw);
      const err = asValidationError(
        await rejectionOf(
          queue.enqueue('signup', {
            name: 'x',
            age: 1.5,
            addr: { zip: 'abc' },
          }),
        ),
      );
      expect(err.issues.map((i) => i.path).sort()).toEqual(['addr.zip', 'age']);
      for (const issue of err.issues) {
        expect(issue.message.length).toBeGreaterThan(0);
        expect(issue.code.length).toBeGreaterThan(0);
      }
      expect(err.message).toContain('addr.zip');
      expect(err.message).toContain('age');
      expect(err.subject).toContain('signup');
      expect(await persistentKeys(raw)).toEqual(before);
      expect((await queue.getCounts()).waiting).toBe(1);
    } finally {
      await queue.close();
    }
  });

  it('stores the validated input; the worker sees defaults and transforms applied', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      greet: job({
        queue: q,
        payload: z.object({
          name: z.string().transform((s) => s.toUpperCase()),
          lang: z.string().default('en'),
          tags: z.array(z.string()).default([]),
          n: z.string().transform((s) => Number(s)),
        }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const seen: unknown[] = [];
    try {
      const input = { name: 'bob', n: '42' };
      const h = await queue.enqueue('greet', input);
      expect(await raw.get(payloadKey(q, h.id))).toBe(JSON.stringify(input));
      expect((await queue.getJob(h.id))?.data).toEqual(input);

      const worker = createWorker(
        reg,
        {
          greet: (j) => {
            seen.push(j.data);
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await h.finished({ timeoutMs: 5000 });
      } finally {
        await worker.close();
      }
      expect(seen).toEqual([{ name: 'BOB', lang: 'en', tags: [], n: 42 }]);
      // The stored data is still the producer's input after the run.
      expect(await raw.get(payloadKey(q, h.id))).toBe(JSON.stringify(input));
    } finally {
      await queue.close();
    }
  });

  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  const nonJson: [string, unknown, string][] = [
    ['a Date', { v: new Date(0) }, 'v'],
    ['a BigInt', { v: 10n }, 'v'],
    ['a Map', { v: new Map([['k', 1]]) }, 'v'],
    ['a Buffer', { v: { inner: Buffer.from('xyz') } }, 'v.inner'],
    ['NaN', { v: NaN }, 'v'],
    ['Infinity', { v: { deep: [1, Infinity] } }, 'v.deep.1'],
    ['undefined inside an array', { v: [1, undefined, 3] }, 'v.1'],
    ['a circular object', { v: circular }, 'v.self'],
  ];

  it.each(nonJson)(
    'refuses %s with NOT_JSON naming the path, Redis untouched',
    async (_label, payload, path) => {
      const q = uniqueQueue();
      const reg = defineJobs({
        anyJob: job({ queue: q, payload: z.object({ v: z.unknown() }) }),
      });
      const queue = createQueue(reg, { connection: redis.url });
      try {
        // zod itself accepts the value: only the JSON check may refuse it.
        expect(reg.jobs.anyJob.payload.safeParse(payload).success).toBe(true);
        const before = await persistentKeys(raw);
        const err = await rejectionOf(
          queue.enqueue('anyJob', payload as { v: unknown }),
        );
        expect(codeOf(err)).toBe('NOT_JSON');
        expect((err as Error).message).toContain(`at ${path}:`);
        expect(await persistentKeys(raw)).toEqual(before);
        expect(await raw.exists(`jobwire:{${q}}:id`)).toBe(0);
      } finally {
        await queue.close();
      }
    },
  );

  it('accepts object keys whose value is undefined (dropped like an absent optional)', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      opt: job({
        queue: q,
        payload: z.object({ a: z.number(), b: z.string().optional() }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const h = await queue.enqueue('opt', { a: 1, b: undefined });
      expect(await raw.get(payloadKey(q, h.id))).toBe('{"a":1}');
    } finally {
      await queue.close();
    }
  });
});

describe('payload size limit', () => {
  it('rejects a 600 KiB payload by default with limit and actual size', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      blob: job({ queue: q, payload: z.object({ s: z.string() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const payload = { s: 'a'.repeat(600 * 1024) };
      const before = await persistentKeys(raw);
      const err = await rejectionOf(queue.enqueue('blob', payload));
      expect(err).toBeInstanceOf(PayloadTooLargeError);
      const e = err as PayloadTooLargeError;
      expect(e.code).toBe('PAYLOAD_TOO_LARGE');
      expect(e.limit).toBe(512 * 1024);
      expect(e.actual).toBe(Buffer.byteLength(JSON.stringify(payload)));
      expect(await persistentKeys(raw)).toEqual(before);
    } finally {
      await queue.close();
    }
  });

  it('honours maxPayloadBytes, counting UTF-8 bytes', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      blob: job({ queue: q, payload: z.object({ s: z.string() }) }),
    });
    const queue = createQueue(reg, {
      connection: redis.url,
      maxPayloadBytes: 1000,
    });
    try {
      // 400 two-byte characters: 400 chars but 800+ bytes as JSON.
      const fits = { s: 'é'.repeat(400) };
      const h = await queue.enqueue('blob', fits);
      expect(await raw.exists(jobKey(q, h.id))).toBe(1);

      const tooBig = { s: 'é'.repeat(500) }; // 1000 bytes of text + JSON
      const before = await persistentKeys(raw);
      const err = await rejectionOf(queue.enqueue('blob', tooBig));
      expect(err).toBeInstanceOf(PayloadTooLargeError);
      expect((err as PayloadTooLargeError).limit).toBe(1000);
      expect((err as PayloadTooLargeError).actual).toBe(
        Buffer.byteLength(JSON.stringify(tooBig), 'utf8'),
      );
      expect(await persistentKeys(raw)).toEqual(before);
    } finally {
      await queue.close();
    }
  });

  it('round-trips a 100 KiB payload byte for byte', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      blob: job({
        queue: q,
        payload: z.object({ s: z.string(), list: z.array(z.number()) }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const unit = 'abc-é-漢字-🚀-"quoted"-\\-\n';
      let s = '';
      while (Buffer.byteLength(s) < 100 * 1024) s += unit;
      const payload = { s, list: [0, -1.5, 1e-7, 123456789] };
      const h = await queue.enqueue('blob', payload);
      const stored = await raw.getBuffer(payloadKey(q, h.id));
      expect(stored).not.toBeNull();
      expect(stored!.equals(Buffer.from(JSON.stringify(payload), 'utf8'))).toBe(
        true,
      );
      expect((await queue.getJob(h.id))?.data).toEqual(payload);
    } finally {
      await queue.close();
    }
  });
});

describe('enqueue options validation', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['delayMs -1', { delayMs: -1 }, 'delayMs'],
    ['delayMs NaN', { delayMs: NaN }, 'delayMs'],
    ['delayMs Infinity', { delayMs: Infinity }, 'delayMs'],
    ['delayMs 1e20', { delayMs: 1e20 }, 'delayMs'],
    ['runAt invalid Date', { runAt: new Date('not a date') }, 'runAt'],
    ['attempts 0', { attempts: 0 }, 'attempts'],
    ['attempts -1', { attempts: -1 }, 'attempts'],
    ['attempts NaN', { attempts: NaN }, 'attempts'],
    ['attempts 1.5', { attempts: 1.5 }, 'attempts'],
    ["priority 'urgent'", { priority: 'urgent' }, 'priority'],
    ['priority 5000', { priority: 5000 }, 'priority'],
    [
      'backoff with a negative delay',
      { backoff: { type: 'fixed', delayMs: -5 } },
      'backoff.delayMs',
    ],
    ["jobId 'a b'", { jobId: 'a b' }, 'jobId'],
    ["jobId '123'", { jobId: '123' }, 'jobId'],
  ];

  it.each(cases)(
    'rejects %s naming the field, writing nothing',
    async (_label, options, path) => {
      const q = uniqueQueue();
      const reg = defineJobs({
        t: job({ queue: q, payload: z.object({ n: z.number() }) }),
      });
      const queue = createQueue(reg, { connection: redis.url });
      try {
        const before = await persistentKeys(raw);
        const err = asValidationError(
          await rejectionOf(
            queue.enqueue('t', { n: 1 }, options as EnqueueOptions),
          ),
        );
        expect(err.issues.map((i) => i.path)).toContain(path);
        expect(err.message).toContain(path);
        expect(await persistentKeys(raw)).toEqual(before);
      } finally {
        await queue.close();
      }
    },
  );

  it('rejects an unknown option key, naming it', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const before = await persistentKeys(raw);
      const err = asValidationError(
        await rejectionOf(
          queue.enqueue('t', { n: 1 }, {
            delaayMs: 5,
          } as unknown as EnqueueOptions),
        ),
      );
      expect(err.message).toContain('delaayMs');
      expect(await persistentKeys(raw)).toEqual(before);
    } finally {
      await queue.close();
    }
  });

  it('accepts the boundary values', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const ok: EnqueueOptions[] = [
        { priority: -1000 },
        { priority: 1000 },
        { attempts: 1 },
        { delayMs: 0 },
        { jobId: 'a1' },
        { jobId: '1a' },
        { backoff: { type: 'fixed', delayMs: 0 } },
      ];
      for (const o of ok) await queue.enqueue('t', { n: 1 }, o);
      expect((await queue.getCounts()).waiting).toBe(ok.length);
    } finally {
      await queue.close();
    }
  });
});

describe('names', () => {
  it('refuses unsafe job type and queue names with INVALID_NAME', () => {
    const payload = z.object({});
    expect(
      codeOf(thrownBy(() => defineJobs({ 'bad name': job({ payload }) }))),
    ).toBe('INVALID_NAME');
    expect(codeOf(thrownBy(() => job({ queue: 'a{b}', payload })))).toBe(
      'INVALID_NAME',
    );
    expect(codeOf(thrownBy(() => job({ queue: 'a:b', payload })))).toBe(
      'INVALID_NAME',
    );
    expect(
      codeOf(thrownBy(() => defineJobs({ 'x}y': job({ payload }) }))),
    ).toBe('INVALID_NAME');
  });

  it('rejects an unknown job type at enqueue with UNKNOWN_JOB_TYPE', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      known: job({ queue: q, payload: z.object({}) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const before = await persistentKeys(raw);
      const loose = queue as unknown as Queue<JobMap>;
      const err = await rejectionOf(loose.enqueue('unknown', {}));
      expect(codeOf(err)).toBe('UNKNOWN_JOB_TYPE');
      expect((err as Error).message).toContain('known');
      // Inherited names are not job types either.
      expect(codeOf(await rejectionOf(loose.enqueue('toString', {})))).toBe(
        'UNKNOWN_JOB_TYPE',
      );
      expect(await persistentKeys(raw)).toEqual(before);
    } finally {
      await queue.close();
    }
  });
});

describe('priority', () => {
  it('runs critical before high before normal before low, FIFO within a level', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      p: job({ queue: q, payload: z.object({ label: z.string() }) }),
      // A second type whose default priority is 'high'.
      ph: job({
        queue: q,
        payload: z.object({ label: z.string() }),
        priority: 'high',
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const plan: ['p' | 'ph', string, Priority | undefined][] = [
      ['p', 'low-1', 'low'],
      ['p', 'normal-1', undefined],
      ['p', 'critical-1', 'critical'],
      ['p', 'n5-1', 5],
      ['p', 'high-1', 'high'],
      ['p', 'medium-1', 'medium'],
      ['p', 'n-12', -12],
      ['p', 'low-2', 'low'],
      ['ph', 'typehigh-1', undefined],
      ['p', 'critical-2', 'critical'],
      ['p', 'normal-2', 'normal'],
      ['p', 'high-2', -10],
      ['p', 'n5-2', 5],
      ['ph', 'typelow', 'low'],
    ];
    const expected = [
      'critical-1',
      'critical-2',
      'n-12',
      'high-1',
      'typehigh-1',
      'high-2',
      'medium-1',
      'normal-1',
      'normal-2',
      'n5-1',
      'n5-2',
      'low-1',
      'low-2',
      'typelow',
    ];
    try {
      const handles: JobHandle<undefined>[] = [];
      for (const [name, label, priority] of plan) {
        handles.push(
          await queue.enqueue(
            name,
            { label },
            priority === undefined ? undefined : { priority },
          ),
        );
      }
      const waiting = await queue.getJobs('waiting', { queue: q });
      expect(waiting.map((j) => (j.data as { label: string }).label)).toEqual(
        expected,
      );
      expect(waiting.find((j) => j.id === handles[0]!.id)?.priority).toBe(10);
      expect(waiting.find((j) => j.id === handles[8]!.id)?.priority).toBe(-10);

      const order: string[] = [];
      const worker = createWorker(
        reg,
        {
          p: (j) => {
            order.push(j.data.label);
          },
          ph: (j) => {
            order.push(j.data.label);
          },
        },
        { connection: redis.url, concurrency: 1, ...fastWorkerSettings },
      );
      try {
        await Promise.all(
          handles.map((h) => h.finished({ timeoutMs: 10_000 })),
        );
      } finally {
        await worker.close();
      }
      expect(order).toEqual(expected);
    } finally {
      await queue.close();
    }
  });
});

describe('delay', () => {
  it('keeps a delayMs job delayed, then an idle worker runs it when due', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      later: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const startedAt: number[] = [];
    // A long block timeout: the worker must wake for the due time, not for
    // the end of its blocking wait.
    const blockTimeoutMs = 8000;
    const worker = createWorker(
      reg,
      {
        later: () => {
          startedAt.push(Date.now());
        },
      },
      {
        connection: redis.url,
        leaseMs: 1000,
        stallCheckIntervalMs: 500,
        blockTimeoutMs,
      },
    );
    try {
      await waitUntil(() => Promise.resolve(worker.health().ready));
      await sleep(200); // let the worker find nothing and block
      const t0 = Date.now();
      const h = await queue.enqueue('later', { n: 1 }, { delayMs: 300 });
      const info = await queue.getJob(h.id);
      expect(info?.state).toBe('delayed');
      expect(info?.dueAt).toBeDefined();
      expect(info!.dueAt! - info!.createdAt).toBe(300);
      expect((await queue.getJobs('delayed')).map((j) => j.id)).toEqual([h.id]);
      // No further traffic: only the pending due time may wake the worker.
      await h.finished({ timeoutMs: 300 + blockTimeoutMs / 2 });
      expect(startedAt).toHaveLength(1);
      // Clocks have ms granularity; allow a few ms of rounding.
      expect(startedAt[0]! - t0).toBeGreaterThanOrEqual(295);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('schedules with runAt', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      later: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const startedAt: number[] = [];
    try {
      const runAt = new Date(Date.now() + 400);
      const h = await queue.enqueue('later', { n: 1 }, { runAt });
      const info = await queue.getJob(h.id);
      expect(info?.state).toBe('delayed');
      expect(Math.abs(info!.dueAt! - runAt.getTime())).toBeLessThan(50);
      // A runAt in the past runs at once.
      const past = await queue.enqueue(
        'later',
        { n: 2 },
        { runAt: new Date(Date.now() - 10_000) },
      );
      expect((await queue.getJob(past.id))?.state).toBe('waiting');

      const worker = createWorker(
        reg,
        {
          later: (j) => {
            if (j.data.n === 1) startedAt.push(Date.now());
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await h.finished({ timeoutMs: 5000 });
        await past.finished({ timeoutMs: 5000 });
      } finally {
        await worker.close();
      }
      expect(startedAt[0]! - runAt.getTime()).toBeGreaterThanOrEqual(-5);
    } finally {
      await queue.close();
    }
  });
});

describe('dedup by jobId', () => {
  it('stores one job for 50 concurrent enqueues with the same jobId', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      once: job({ queue: q, payload: z.object({ i: z.number() }) }),
    });
    // Two producers, two connections: real concurrency at the server.
    const a = createQueue(reg, { connection: redis.url });
    const b = createQueue(reg, { connection: redis.url });
    try {
      const handles = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0 ? a : b).enqueue('once', { i }, { jobId: 'order-42' }),
        ),
      );
      expect(handles.filter((h) => !h.duplicate)).toHaveLength(1);
      expect(handles.filter((h) => h.duplicate)).toHaveLength(49);
      expect(new Set(handles.map((h) => h.id))).toEqual(new Set(['order-42']));
      const jobKeys = (await raw.keys(`jobwire:{${q}}:j:*`)).filter(
        (k) => !k.endsWith(':log'),
      );
      expect(jobKeys).toEqual([jobKey(q, 'order-42')]);
      const counts = await a.getCounts();
      expect(counts.waiting).toBe(1);
      const events = await raw.xrange(`jobwire:{${q}}:events`, '-', '+');
      expect(events).toHaveLength(1);
      // The stored payload belongs to the one that won.
      const winner = handles.findIndex((h) => !h.duplicate);
      expect(await raw.get(payloadKey(q, 'order-42'))).toBe(
        JSON.stringify({ i: winner }),
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('the enqueue script call', () => {
  it('stores jobs after SCRIPT FLUSH (as after a Redis restart): the NOSCRIPT reply loads the script', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ i: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const first = await queue.enqueue('t', { i: 1 });
      await raw.script('FLUSH');
      const again = await queue.enqueue('t', { i: 2 }, { jobId: 'after-1' });
      expect(again.outcome).toBe('created');
      expect(await raw.get(payloadKey(q, 'after-1'))).toBe('{"i":2}');
      await raw.script('FLUSH');
      // The outcome still comes from the script's reply on that path.
      const dup = await queue.enqueue('t', { i: 3 }, { jobId: 'after-1' });
      expect(dup.outcome).toBe('duplicate');
      expect((await queue.getCounts()).waiting).toBe(2);
      expect(first.outcome).toBe('created');
    } finally {
      await queue.close();
    }
  });

  it('stores jobs through a caller-owned client with auto pipelining (ioredis builds the command)', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ i: z.number() }) }),
    });
    const client = new Redis(redis.url, {
      enableAutoPipelining: true,
      showFriendlyErrorStack: true,
    });
    const queue = createQueue(reg, { connection: client });
    try {
      const handles = await Promise.all([
        queue.enqueue('t', { i: 1 }, { jobId: 'ap-1' }),
        queue.enqueue('t', { i: 2 }, { jobId: 'ap-1' }),
        queue.enqueue('t', { i: 3 }, { delayMs: 60_000 }),
      ]);
      expect(handles.map((h) => h.outcome)).toEqual([
        'created',
        'duplicate',
        'created',
      ]);
      expect(await raw.get(payloadKey(q, 'ap-1'))).toBe('{"i":1}');
      const counts = await queue.getCounts();
      expect([counts.waiting, counts.delayed]).toEqual([1, 1]);
    } finally {
      await queue.close();
      client.disconnect();
    }
  });
});

describe('enqueueBulk', () => {
  it('stores 2500 jobs in chunks of 1000, handles in input order', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      a: job({ queue: q, payload: z.object({ i: z.number() }) }),
      b: job({ queue: q, payload: z.object({ i: z.number(), s: z.string() }) }),
    });
    const queue = createQueue(reg, {
      connection: redis.url,
      bulkChunkSize: 1000,
    });
    try {
      await queue.enqueue('a', { i: -1 }); // warm up: script loaded, config checked
      const items = Array.from({ length: 2500 }, (_, i) =>
        i % 3 === 0
          ? { name: 'b' as const, payload: { i, s: `s${i}` } }
          : { name: 'a' as const, payload: { i } },
      );
      const statsBefore = await evalCalls();
      const handles = await queue.enqueueBulk(items);
      const statsAfter = await evalCalls();
      // One script call per chunk: ceil(2500 / 1000).
      expect(statsAfter - statsBefore).toBe(3);

      expect(handles).toHaveLength(2500);
      expect(new Set(handles.map((h) => h.id)).size).toBe(2500);
      expect(handles.every((h, i) => h.name === items[i]!.name)).toBe(true);
      expect(handles.every((h) => !h.duplicate && h.queue === q)).toBe(true);
      const pipe = raw.pipeline();
      for (const h of handles) pipe.get(payloadKey(q, h.id));
      const stored = (await pipe.exec())!.map(([, v]) => v);
      expect(stored).toEqual(items.map((item) => JSON.stringify(item.payload)));
      const counts = await queue.getCounts();
      expect(counts.waiting).toBe(2501);
      expect(counts.byType.b?.waiting).toBe(834);
    } finally {
      await queue.close();
    }
  });

  it('rejects the whole batch when one item is invalid, naming its index', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      a: job({ queue: q, payload: z.object({ i: z.number() }) }),
    });
    const queue = createQueue(reg, {
      connection: redis.url,
      bulkChunkSize: 100,
    });
    try {
      await queue.enqueue('a', { i: -1 });
      const items = Array.from({ length: 1000 }, (_, i) => ({
        name: 'a' as const,
        payload: { i: i === 637 ? ('x' as unknown as number) : i },
      }));
      const before = await persistentKeys(raw);
      const idBefore = await raw.get(`jobwire:{${q}}:id`);
      const err = asValidationError(
        await rejectionOf(queue.enqueueBulk(items)),
      );
      expect(err.message).toContain('item 637');
      expect(err.issues.map((i) => i.path)).toEqual(['i']);
      expect(await persistentKeys(raw)).toEqual(before);
      expect(await raw.get(`jobwire:{${q}}:id`)).toBe(idBefore);
      expect((await queue.getCounts()).waiting).toBe(1);

      // Invalid options are caught before anything is written too.
      const withBadOption = items.map((item, i) =>
        i === 999
          ? { ...item, payload: { i }, options: { attempts: 0 } }
          : { ...item, payload: { i } },
      );
      const err2 = asValidationError(
        await rejectionOf(queue.enqueueBulk(withBadOption)),
      );
      expect(err2.message).toContain('item 999');
      expect(await persistentKeys(raw)).toEqual(before);
      expect((await queue.getCounts()).waiting).toBe(1);
    } finally {
      await queue.close();
    }
  });
});

async function evalCalls(): Promise<number> {
  const info = await raw.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/cmdstat_(evalsha|eval):calls=(\d+)/g)) {
    total += Number(m[2]);
  }
  return total;
}

describe('expiry', () => {
  it('expires a job not started within expireAfterMs; the handler never runs', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      e: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const ran: number[] = [];
    try {
      const h = await queue.enqueue('e', { n: 1 }, { expireAfterMs: 200 });
      const control = await queue.enqueue('e', { n: 2 });
      const stillFresh = await queue.enqueue(
        'e',
        { n: 3 },
        { expireAfterMs: 60_000 },
      );
      await sleep(400);
      const worker = createWorker(
        reg,
        {
          e: (j) => {
            ran.push(j.data.n);
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        const err = await rejectionOf(h.finished({ timeoutMs: 5000 }));
        expect(codeOf(err)).toBe('EXPIRED');
        await control.finished({ timeoutMs: 5000 });
        await stillFresh.finished({ timeoutMs: 5000 });
      } finally {
        await worker.close();
      }
      expect(ran.sort()).toEqual([2, 3]);
      expect((await queue.getJob(h.id))?.state).toBe('expired');
      expect((await queue.getJobs('expired')).map((j) => j.id)).toEqual([h.id]);
      const counts = await queue.getCounts();
      expect(counts.expired).toBe(1);
      expect(counts.completed).toBe(2);
      const events = await raw.xrange(`jobwire:{${q}}:events`, '-', '+');
      const forJob = events
        .map(([, f]) => f)
        .filter((f) => f[f.indexOf('id') + 1] === h.id)
        .map((f) => f[f.indexOf('ev') + 1]);
      expect(forJob).toEqual(['waiting', 'expired']);
      // A later finished() call still sees the outcome from the hash.
      expect(codeOf(await rejectionOf(h.finished({ timeoutMs: 2000 })))).toBe(
        'EXPIRED',
      );
    } finally {
      await queue.close();
    }
  });
});

describe('Redis unreachable', () => {
  it('rejects with RedisUnavailableError quickly, then works once Redis is up', async () => {
    const port = await freePort();
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, {
      connection: `redis://127.0.0.1:${port}`,
      connectTimeoutMs: 300,
      logger: silent,
    });
    let server: ReturnType<typeof spawn> | undefined;
    let check: Redis | undefined;
    try {
      const t0 = Date.now();
      const err = await rejectionOf(queue.enqueue('t', { n: 1 }));
      const elapsed = Date.now() - t0;
      expect(err).toBeInstanceOf(RedisUnavailableError);
      expect(codeOf(err)).toBe('REDIS_UNAVAILABLE');
      expect(elapsed).toBeLessThan(1500);
      // Every call fails the same way, none hangs.
      const again = await rejectionOf(queue.getCounts());
      expect(codeOf(again)).toBe('REDIS_UNAVAILABLE');

      // Start Redis on that port: the same queue recovers.
      server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', ''],
        { stdio: 'ignore' },
      );
      let handle: JobHandle<undefined> | undefined;
      const deadline = Date.now() + 10_000;
      while (handle === undefined) {
        try {
          handle = await queue.enqueue('t', { n: 2 });
        } catch (e) {
          expect(codeOf(e)).toBe('REDIS_UNAVAILABLE');
          if (Date.now() > deadline) throw e;
          await sleep(100);
        }
      }
      check = new Redis(`redis://127.0.0.1:${port}`);
      expect(await check.get(payloadKey(q, handle.id))).toBe('{"n":2}');
      // The failed call left nothing behind: only one job was stored.
      expect(await check.hget(`jobwire:{${q}}:counts`, 't|w')).toBe('1');
    } finally {
      await queue.close();
      await check?.quit();
      if (server && server.exitCode === null) {
        const exited = new Promise((resolve) => server!.once('exit', resolve));
        server.kill('SIGKILL');
        await exited;
      }
    }
  });
});

describe('finished()', () => {
  it('resolves to the typed result, and rejects with the failure of a failing job', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      sum: job({
        queue: q,
        payload: z.object({ xs: z.array(z.number()) }),
        result: z.object({
          total: z.number(),
          label: z.string().transform((s) => s.length),
        }),
      }),
      boom: job({
        queue: q,
        payload: z.object({ why: z.string() }),
        attempts: 3,
      }),
      crash: job({ queue: q, payload: z.object({}) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      {
        sum: (j) => ({
          total: j.data.xs.reduce((a, b) => a + b, 0),
          label: 'abc',
        }),
        boom: (j) => {
          throw new PermanentError(`no: ${j.data.why}`);
        },
        crash: () => {
          throw new TypeError('kaput');
        },
      },
      { connection: redis.url, concurrency: 3, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('sum', { xs: [1, 2, 3] });
      const result = await h.finished({ timeoutMs: 5000 });
      expectTypeOf(result).toEqualTypeOf<{ total: number; label: number }>();
      expect(result).toEqual({ total: 6, label: 3 });
      // waitForResult by name and id gives the same, typed.
      const again = await queue.waitForResult('sum', h.id, { timeoutMs: 2000 });
      expectTypeOf(again).toEqualTypeOf<{ total: number; label: number }>();
      expect(again).toEqual(result);

      const bad = await queue.enqueue('boom', { why: 'bad input' });
      expectTypeOf(bad.finished).returns.resolves.toEqualTypeOf<undefined>();
      const err = await rejectionOf(bad.finished({ timeoutMs: 5000 }));
      expect(codeOf(err)).toBe('PERMANENT');
      expect((err as Error).message).toContain('no: bad input');
      // A permanent error is not retried, even with attempts left.
      expect((await queue.getJob(bad.id))?.attemptsMade).toBe(1);

      const crashed = await queue.enqueue('crash', {});
      const err2 = await rejectionOf(crashed.finished({ timeoutMs: 5000 }));
      expect(codeOf(err2)).toBe('HANDLER_FAILED');
      expect((err2 as Error).message).toBe('kaput');
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('times out with code TIMEOUT when the job does not finish in time', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      idle: job({ queue: q, payload: z.object({}) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const h = await queue.enqueue('idle', {});
      const err = await rejectionOf(h.finished({ timeoutMs: 200 }));
      expect(codeOf(err)).toBe('TIMEOUT');
    } finally {
      await queue.close();
    }
  });
});
