/**
 * Property-based tests (fast-check) against a real redis-server:
 * (a) invalid payloads never reach Redis and always fail with a
 *     ValidationError whose issues name the offending path;
 * (b) valid payloads reach the handler exactly as `schema.parse` would
 *     produce them;
 * (c) random interleavings of enqueue, complete, fail, stall, retry and
 *     remove keep the invariants of harness/invariants.ts, and lose nothing.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Redis } from 'ioredis';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
  PermanentError,
  ValidationError,
} from '../../src/index.ts';
import type { Queue, Worker } from '../../src/index.ts';
import { persistentKeys } from '../helpers/redis-keys.ts';
import { uniqueQueue, useRedis } from '../helpers/redis-server.ts';
import { checkInvariants } from './harness/invariants.ts';
import { report } from './harness/report.ts';
import { PREFIX, quietLogger, until } from './harness/scenario.ts';

const redis = useRedis();
let admin: Redis;
beforeAll(() => {
  admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});
afterAll(() => {
  admin.disconnect();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// A non-trivial contract: nested objects, arrays, unicode strings, numbers,
// optional fields, enums, a default and a transform.

const STATUS = ['new', 'paid', 'shipped', 'cancelled'] as const;

const orderSchema = z.object({
  id: z.string().min(1).max(40),
  qty: z.number().int().min(1).max(1000),
  price: z.number().min(0).max(1e6),
  status: z.enum(STATUS),
  note: z.string().max(200).optional(),
  tags: z.array(z.string().max(20)).max(5),
  customer: z.object({
    name: z.string().min(1),
    email: z.email(),
    address: z
      .object({ city: z.string(), zip: z.string().regex(/^\d{5}$/) })
      .optional(),
  }),
  lines: z
    .array(
      z.object({
        sku: z.string().min(1),
        n: z.number().int().positive(),
        gift: z.boolean().optional(),
      }),
    )
    .min(1)
    .max(10),
  channel: z.enum(['web', 'shop']).default('web'),
  coupon: z
    .string()
    .optional()
    .transform((c) => c?.trim().toUpperCase()),
});

function fuzzRegistry(queue: string) {
  return defineJobs({
    order: job({ queue, payload: orderSchema }),
  });
}

const text = (max: number, min = 0) =>
  fc.oneof(
    fc.string({ unit: 'grapheme', minLength: min, maxLength: max }),
    fc.string({ unit: 'binary', minLength: min, maxLength: max }),
  );

/** Values that satisfy `orderSchema`, extra (stripped) keys included. */
const validOrder = fc
  .record(
    {
      id: text(40, 1),
      qty: fc.integer({ min: 1, max: 1000 }),
      price: fc.oneof(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer({ min: 0, max: 1e6 }),
      ),
      status: fc.constantFrom(...STATUS),
      note: text(200),
      tags: fc.array(text(20), { maxLength: 5 }),
      customer: fc.record(
        {
          name: text(30, 1),
          email: fc.constantFrom(
            'a@example.com',
            'jörg.müller@example.org',
            'x+tag@sub.example.co',
          ),
          address: fc.record({
            city: text(30),
            zip: fc.stringMatching(/^\d{5}$/),
          }),
        },
        { requiredKeys: ['name', 'email'] },
      ),
      lines: fc.array(
        fc.record(
          {
            sku: text(12, 1),
            n: fc.integer({ min: 1, max: 1e9 }),
            gift: fc.boolean(),
          },
          { requiredKeys: ['sku', 'n'] },
        ),
        { minLength: 1, maxLength: 10 },
      ),
      channel: fc.constantFrom('web' as const, 'shop' as const),
      coupon: text(12),
      legacyField: fc.jsonValue(),
    },
    {
      requiredKeys: [
        'id',
        'qty',
        'price',
        'status',
        'tags',
        'customer',
        'lines',
      ],
    },
    // Length limits count UTF-16 units, generators count graphemes.
  )
  .filter((o) => orderSchema.safeParse(o).success);

type Order = z.input<typeof orderSchema>;

const nonJson = fc.constantFrom<unknown>(
  Buffer.from('abc'),
  new Uint8Array([1, 2]),
  10n,
  new Date(0),
  NaN,
  Infinity,
  null,
  undefined,
  [undefined],
  new Map(),
);

/** A path of `orderSchema` and values that can never be valid there. */
const mutations: [string, fc.Arbitrary<unknown>][] = [
  ['id', fc.oneof(fc.constantFrom<unknown>('', 7, true), nonJson)],
  ['qty', fc.constantFrom<unknown>(0, -1, 1.5, 1001, NaN, '5', null, 10n)],
  ['price', fc.constantFrom<unknown>(-0.01, NaN, Infinity, '1', 1e7)],
  [
    'status',
    fc.oneof(
      fc.string().filter((s) => !(STATUS as readonly string[]).includes(s)),
      fc.constant<unknown>(7),
    ),
  ],
  [
    'note',
    fc.constantFrom<unknown>(5, null, 'x'.repeat(201), Buffer.from('n')),
  ],
  ['tags', fc.constantFrom<unknown>('a', {}, 3, new Date(0))],
  ['tags.0', fc.constantFrom<unknown>(1, null, undefined, 'x'.repeat(21))],
  ['customer', fc.constantFrom<unknown>('someone', [], null)],
  ['customer.email', fc.constantFrom<unknown>('not-an-email', 5, '')],
  ['customer.name', fc.constantFrom<unknown>('', 7, null)],
  ['customer.address.zip', fc.constantFrom<unknown>('abc', '1234', 12345)],
  ['lines', fc.constantFrom<unknown>([], 'lines', null)],
  ['lines.0.n', fc.constantFrom<unknown>(0, -3, 2.5, '1', 1.5)],
  ['lines.0.sku', fc.constantFrom<unknown>('', 1, Buffer.from('s'))],
  ['channel', fc.constantFrom<unknown>('fax', 1, null)],
  ['coupon', fc.constantFrom<unknown>(1, false, new Uint8Array([1]))],
];
const REQUIRED = ['id', 'qty', 'price', 'status', 'tags', 'customer', 'lines'];

/** Sets `value` at dotted `path` of a deep copy (creating objects/arrays). */
function setPath(order: Order, path: string, value: unknown): unknown {
  const copy = structuredClone(order) as Record<string, unknown>;
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof at[k] !== 'object' || at[k] === null)
      at[k] = /^\d+$/.test(keys[keys.indexOf(k) + 1] ?? '') ? [] : {};
    at = at[k] as Record<string, unknown>;
  }
  const last = keys.at(-1)!;
  if (path === 'customer.address.zip') at.city = 'Paris';
  if (path === 'lines.0.n' || path === 'lines.0.sku') {
    at.sku ??= 'S';
    at.n ??= 1;
  }
  at[last] = value;
  return copy;
}

const invalidOrder: fc.Arbitrary<{ payload: unknown; path: string | null }> =
  fc.oneof(
    // One field made invalid.
    fc
      .tuple(validOrder, fc.constantFrom(...mutations))
      .chain(([order, [path, bad]]) =>
        bad.map((v) => ({ payload: setPath(order, path, v), path })),
      ),
    // One required field missing.
    fc.tuple(validOrder, fc.constantFrom(...REQUIRED)).map(([order, key]) => {
      const copy = { ...order } as Record<string, unknown>;
      delete copy[key];
      return { payload: copy as unknown, path: key };
    }),
    // Anything at all that the schema refuses (path unknown in advance).
    fc
      .anything({ withBigInt: true, withDate: true, withTypedArray: true })
      .filter((v) => !orderSchema.safeParse(v).success)
      .map((payload) => ({ payload, path: null })),
  );

describe('fuzz: payload validation and round trips', () => {
  it('(a) invalid payloads never reach Redis and fail with a ValidationError naming the path', async () => {
    const queue = uniqueQueue('fz');
    const q = createQueue(fuzzRegistry(queue), {
      connection: redis.url,
      logger: quietLogger,
    });
    try {
      // Make the queue exist, so "unchanged" compares something.
      const seed = await q.enqueue('order', {
        id: 'seed',
        qty: 1,
        price: 1,
        status: 'new',
        tags: [],
        customer: { name: 'n', email: 'a@example.com' },
        lines: [{ sku: 's', n: 1 }],
      });
      expect(seed.duplicate).toBe(false);
      const before = await persistentKeys(admin);
      const counter = await admin.get(`${PREFIX}:{${queue}}:id`);
      let runs = 0;
      let bulk = 0;
      await fc.assert(
        fc.asyncProperty(
          invalidOrder,
          fc.boolean(),
          async ({ payload, path }, asBulk) => {
            runs++;
            let err: unknown;
            try {
              if (asBulk) {
                bulk++;
                await q.enqueueBulk([
                  {
                    name: 'order',
                    payload: seedPayload(),
                  },
                  { name: 'order', payload: payload as Order },
                ]);
              } else {
                await q.enqueue('order', payload as Order);
              }
            } catch (e) {
              err = e;
            }
            expect(err).toBeInstanceOf(ValidationError);
            const v = err as ValidationError;
            expect(v.code).toBe(ErrorCode.VALIDATION_FAILED);
            expect(v.issues.length).toBeGreaterThan(0);
            for (const i of v.issues) {
              expect(typeof i.path).toBe('string');
              expect(i.message.length).toBeGreaterThan(0);
            }
            if (path !== null)
              expect(v.issues.map((i) => i.path)).toContain(path);
            if (asBulk) expect(v.subject).toContain('item 1');
          },
        ),
        { numRuns: 300 },
      );
      const after = await persistentKeys(admin);
      expect(after).toEqual(before);
      expect(await admin.get(`${PREFIX}:{${queue}}:id`)).toBe(counter);
      report(
        'FUZZ-a',
        { runs, bulk, keysChanged: after.length - before.length },
        true,
      );
    } finally {
      await q.close();
    }
  });

  it('(b) valid payloads reach the handler as schema.parse would produce them', async () => {
    const queue = uniqueQueue('fz');
    const registry = fuzzRegistry(queue);
    const q = createQueue(registry, {
      connection: redis.url,
      logger: quietLogger,
    });
    const seen = new Map<string, unknown>();
    const w = createWorker(
      registry,
      {
        order: (j) => {
          seen.set(j.id, j.data);
        },
      },
      {
        connection: redis.url,
        concurrency: 8,
        logger: quietLogger,
        blockTimeoutMs: 200,
      },
    );
    try {
      let jobs = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(validOrder, { minLength: 1, maxLength: 6 }),
          async (orders) => {
            const handles = await q.enqueueBulk(
              orders.map((payload) => ({ name: 'order' as const, payload })),
            );
            await Promise.all(
              handles.map((h) => h.finished({ timeoutMs: 10_000 })),
            );
            handles.forEach((h, i) => {
              jobs++;
              // JSON has no negative zero: -0 arrives as 0 (documented).
              const expected = orderSchema.parse(
                JSON.parse(JSON.stringify(orders[i])),
              );
              expect(seen.get(h.id)).toStrictEqual(expected);
              expect(orderSchema.parse(orders[i])).toEqual(expected);
            });
          },
        ),
        { numRuns: 50 },
      );
      // The one number JSON changes: -0 arrives as 0 (JSON.stringify(-0)
      // is "0"). Documented rather than refused: numerically equal.
      const minus = await q.enqueue('order', { ...seedPayload(), price: -0 });
      await minus.finished({ timeoutMs: 10_000 });
      const price = (seen.get(minus.id) as { price: number }).price;
      expect(Object.is(price, 0)).toBe(true);
      report('FUZZ-b', { runs: 50, jobs, negativeZeroArrivesAs: price }, true);
    } finally {
      await w.close();
      await q.close();
    }
  });
});

function seedPayload(): Order {
  return {
    id: 'ok',
    qty: 2,
    price: 3.5,
    status: 'paid',
    tags: ['x'],
    customer: { name: 'n', email: 'a@example.com' },
    lines: [{ sku: 's', n: 1 }],
  };
}

// ---------------------------------------------------------------------------
// (c) Random interleavings against the real scripts.

const behaviours = ['ok', 'fail', 'permanent', 'slow'] as const;
type Behaviour = (typeof behaviours)[number];

const opRegistry = (queue: string) =>
  defineJobs({
    op: job({
      queue,
      payload: z.object({ n: z.number().int(), b: z.enum(behaviours) }),
      result: z.object({ n: z.number().int() }),
      // Keep everything, so "nothing lost" is exact; fast retries.
      retention: { completed: true, failed: true },
      backoff: { type: 'fixed', delayMs: 20 },
    }),
  });

type Action =
  | {
      kind: 'enqueue';
      b: Behaviour;
      priority: 'low' | 'normal' | 'critical';
      delayMs: number;
      attempts: number;
      jobId: string | null;
    }
  | { kind: 'bulk'; bs: Behaviour[] }
  | { kind: 'work'; ms: number; concurrency: number }
  | { kind: 'stall'; concurrency: number; thenWaitMs: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'retry'; pick: number }
  | { kind: 'remove'; pick: number }
  | { kind: 'promote'; pick: number };

/** Timings of (c): leases expire fast once a worker freezes. */
const OP_LEASE_MS = 150;
const OP_CHECK_MS = 50;

const behaviour = fc.constantFrom(...behaviours);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('enqueue' as const),
      b: behaviour,
      priority: fc.constantFrom(
        'low' as const,
        'normal' as const,
        'critical' as const,
      ),
      delayMs: fc.constantFrom(0, 0, 50, 400),
      attempts: fc.integer({ min: 1, max: 3 }),
      jobId: fc.option(fc.constantFrom('k1', 'k2'), { freq: 2 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('bulk' as const),
      bs: fc.array(behaviour, { minLength: 1, maxLength: 6 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('work' as const),
      ms: fc.integer({ min: 20, max: 150 }),
      concurrency: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('stall' as const),
      concurrency: fc.integer({ min: 1, max: 3 }),
      // Past the lease, the next worker's stall check takes the jobs over.
      thenWaitMs: fc.constantFrom(0, OP_LEASE_MS + 2 * OP_CHECK_MS),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('wait' as const),
      ms: fc.integer({ min: 10, max: 250 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('retry' as const),
      pick: fc.nat(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('remove' as const),
      pick: fc.nat(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('promote' as const),
      pick: fc.nat(),
    }),
  },
);

interface RunStats {
  enqueued: number;
  duplicates: number;
  /** Late writes of thawed workers refused because the job was taken over. */
  lateRefused: number;
  /** Jobs frozen workers held, and `stalled` events recorded. */
  frozenJobs: number;
  stalledJobs: number;
  stalledWorkers: number;
  removed: number;
  retried: number;
  refusedActions: number;
}

async function runActions(
  actions: readonly Action[],
  stats: RunStats,
): Promise<void> {
  // checkInvariants reads the whole server as one queue's.
  await admin.flushall();
  const queue = uniqueQueue('fz');
  const base = `${PREFIX}:{${queue}}:`;
  const registry = opRegistry(queue);
  const q: Queue<ReturnType<typeof opRegistry>['jobs']> = createQueue(
    registry,
    { connection: redis.url, logger: quietLogger },
  );
  const ids = new Set<string>();
  const removed = new Set<string>();
  const frozen: Promise<void>[] = [];
  const thaw = new AbortController();
  let n = 0;
  const workerOptions = {
    connection: redis.url,
    leaseMs: OP_LEASE_MS,
    stallCheckIntervalMs: OP_CHECK_MS,
    blockTimeoutMs: 100,
    maxStalls: 2,
    logger: quietLogger,
  };
  const normalWorker = (concurrency: number): Worker<typeof registry.jobs> =>
    createWorker(
      registry,
      {
        op: async (j) => {
          if (j.data.b === 'slow') await sleep(30);
          if (j.data.b === 'fail') throw new Error(`fail ${j.data.n}`);
          if (j.data.b === 'permanent')
            throw new PermanentError(`permanent ${j.data.n}`);
          return { n: j.data.n };
        },
      },
      { ...workerOptions, concurrency },
    );
  const pickId = (pick: number): string | undefined => {
    const all = [...ids];
    return all.length === 0 ? undefined : all[pick % all.length];
  };
  /** Runs a maintenance action; a refusal must be a typed state error. */
  const maintenance = async (fn: () => Promise<void>): Promise<boolean> => {
    try {
      await fn();
      return true;
    } catch (err) {
      expect(err).toBeInstanceOf(JobwireError);
      expect([ErrorCode.JOB_NOT_FOUND, ErrorCode.JOB_NOT_IN_STATE]).toContain(
        (err as JobwireError).code,
      );
      stats.refusedActions++;
      return false;
    }
  };
  try {
    for (const a of actions) {
      switch (a.kind) {
        case 'enqueue': {
          const existed =
            a.jobId !== null &&
            (await admin.exists(`${base}j:${a.jobId}`)) === 1;
          const h = await q.enqueue(
            'op',
            { n: n++, b: a.b },
            {
              priority: a.priority,
              attempts: a.attempts,
              ...(a.delayMs > 0 ? { delayMs: a.delayMs } : {}),
              ...(a.jobId !== null ? { jobId: a.jobId } : {}),
            },
          );
          // A custom id is a duplicate exactly while its hash exists.
          expect(h.duplicate).toBe(existed);
          if (h.duplicate) stats.duplicates++;
          else {
            stats.enqueued++;
            removed.delete(h.id);
          }
          ids.add(h.id);
          break;
        }
        case 'bulk': {
          const hs = await q.enqueueBulk(
            a.bs.map((b) => ({ name: 'op' as const, payload: { n: n++, b } })),
          );
          for (const h of hs) ids.add(h.id);
          stats.enqueued += hs.length;
          break;
        }
        case 'work': {
          const w = normalWorker(a.concurrency);
          await sleep(a.ms);
          // Past a short deadline, running jobs are handed back.
          await w.close({ deadlineMs: 20 });
          break;
        }
        case 'stall': {
          // A worker that takes jobs, then freezes: its handlers never
          // return until the end of the run and close() stops its lease
          // renewals and fetching, like a process that died with jobs
          // leased. Another worker's stall check must recover them.
          const w = createWorker(
            registry,
            {
              op: async (j) => {
                await new Promise<void>((resolve) => {
                  if (thaw.signal.aborted) resolve();
                  thaw.signal.addEventListener('abort', () => resolve(), {
                    once: true,
                  });
                });
                return { n: j.data.n };
              },
            },
            { ...workerOptions, concurrency: a.concurrency },
          );
          await until(
            () => w.running > 0,
            150,
            'frozen worker took a job',
          ).catch(() => {});
          w.on('leaseLost', () => stats.lateRefused++);
          w.on('error', () => {});
          stats.frozenJobs += w.running;
          frozen.push(w.close({ deadlineMs: 60_000 }));
          stats.stalledWorkers++;
          await sleep(a.thenWaitMs);
          break;
        }
        case 'wait':
          await sleep(a.ms);
          break;
        case 'retry': {
          const id = pickId(a.pick);
          if (id !== undefined && (await maintenance(() => q.retry(id))))
            stats.retried++;
          break;
        }
        case 'remove': {
          const id = pickId(a.pick);
          if (id !== undefined && (await maintenance(() => q.remove(id)))) {
            removed.add(id);
            stats.removed++;
          }
          break;
        }
        case 'promote': {
          const id = pickId(a.pick);
          if (id !== undefined) await maintenance(() => q.promote(id));
          break;
        }
      }
      // Invariants hold between any two actions, not just at the end.
      expect(await checkInvariants(redis.url, PREFIX, queue)).toEqual([]);
    }
    // Thaw the frozen workers: their late completions are refused when the
    // job was taken over, accepted when nobody took it yet.
    thaw.abort();
    await Promise.all(frozen);
    // Drain with a worker that runs every behaviour as told.
    const drain = normalWorker(4);
    try {
      await until(
        async () => {
          const c = await q.getCounts();
          return c.waiting + c.active + c.delayed === 0;
        },
        8000,
        'everything finished',
      );
    } finally {
      await drain.close({ deadlineMs: 1000 });
    }
    expect(await checkInvariants(redis.url, PREFIX, queue)).toEqual([]);
    const log = await admin.xrange(`${base}events`, '-', '+');
    stats.stalledJobs += log.filter(([, f]) => f[1] === 'stalled').length;
    // Nothing lost: every id is finished, or gone because it was removed.
    for (const id of ids) {
      const f = [
        ...(await admin.hmget(`${base}j:${id}`, 's', 'r')),
        await admin.get(`${base}p:${id}`),
      ];
      if (removed.has(id)) {
        expect(f[0]).toBe(null);
        continue;
      }
      expect(['c', 'f'], `job ${id}`).toContain(f[0]);
      if (f[0] === 'c') {
        const data = JSON.parse(f[2]!) as { n: number; b: Behaviour };
        expect(JSON.parse(f[1]!)).toEqual({ n: data.n });
      }
    }
  } finally {
    thaw.abort();
    await Promise.all(frozen);
    await q.close();
  }
}

describe('fuzz: interleavings keep the invariants', () => {
  it('(c) enqueue, complete, fail, stall, retry, remove in random order', async () => {
    const stats: RunStats = {
      enqueued: 0,
      duplicates: 0,
      lateRefused: 0,
      frozenJobs: 0,
      stalledJobs: 0,
      stalledWorkers: 0,
      removed: 0,
      retried: 0,
      refusedActions: 0,
    };
    const numRuns = 25;
    await fc.assert(
      fc.asyncProperty(
        fc.array(action, { minLength: 3, maxLength: 12 }),
        (actions) => runActions(actions, stats),
      ),
      { numRuns, endOnFailure: true },
    );
    report('FUZZ-c', { runs: numRuns, ...stats }, true);
  }, 60_000);
});
