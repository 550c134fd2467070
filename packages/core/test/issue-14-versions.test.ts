import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
} from '../src/index.ts';
import type { WorkerEvents, WorkerOptions } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { JobField } from '../src/redis/job-fields.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function workerOpts(extra: WorkerOptions = {}): WorkerOptions {
  return { connection: redis.url, ...fastWorkerSettings, ...extra };
}

// Version 1 sent to one address; version 2 sends to a list, with a subject.
const v1 = z.object({ to: z.email() });
const v2 = z.object({
  to: z.array(z.email()).min(1),
  subject: z.string().default('(none)'),
});

/** The same job type as version 1 (no history) and version 2 (upcasting). */
function contracts(
  queue: string,
  toV2: (old: z.output<typeof v1>) => z.input<typeof v2> = (old) => ({
    to: [old.to],
  }),
) {
  return {
    one: defineJobs({ send: job({ queue, payload: v1, attempts: 3 }) }),
    two: defineJobs({
      send: job({
        queue,
        version: 2,
        payload: v2,
        attempts: 3,
        upcast: { 1: { from: v1, to: toV2 } },
      }),
    }),
  };
}

describe('versioned job types (issue 14, phase 1)', () => {
  it('stores the contract version on each job', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      const a = await p1.enqueue('send', { to: 'a@example.com' });
      const b = await p2.enqueue('send', { to: ['b@example.com'] });
      const k = queueKeys('jobwire', queue);
      expect(await raw.hget(k.job(a.id), JobField.version)).toBe('1');
      expect(await raw.hget(k.job(b.id), JobField.version)).toBe('2');
    } finally {
      await raw.quit();
      await p1.close();
      await p2.close();
    }
  });

  it('a version 2 worker upcasts a version 1 job, validates it, then runs the handler', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    const seen: z.output<typeof v2>[] = [];
    const worker = createWorker(
      two,
      {
        send: (j) => {
          seen.push(j.data);
        },
      },
      workerOpts(),
    );
    try {
      const old = await p1.enqueue('send', { to: 'old@example.com' });
      const cur = await p2.enqueue('send', {
        to: ['new@example.com'],
        subject: 'hi',
      });
      await old.finished({ timeoutMs: 10_000 });
      await cur.finished({ timeoutMs: 10_000 });
      expect(seen).toContainEqual({
        to: ['old@example.com'],
        subject: '(none)',
      });
      expect(seen).toContainEqual({ to: ['new@example.com'], subject: 'hi' });
    } finally {
      await worker.close();
      await p1.close();
      await p2.close();
    }
  });

  it('an upcaster that throws fails the job at once with UPCAST_FAILED, its error recorded', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue, () => {
      throw new Error('no address book entry');
    });
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    let ran = 0;
    const worker = createWorker(two, { send: () => void ran++ }, workerOpts());
    try {
      const h = await p1.enqueue('send', { to: 'old@example.com' });
      const err = await h.finished({ timeoutMs: 10_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JobwireError);
      expect((err as JobwireError).code).toBe(ErrorCode.UPCAST_FAILED);
      const info = await p2.getJob(h.id);
      expect(info?.state).toBe('failed');
      // Final at once: retrying runs the same function on the same data.
      expect(info?.attemptsMade).toBe(1);
      expect(info?.errors).toHaveLength(1);
      expect(info?.errors[0]?.code).toBe('UPCAST_FAILED');
      expect(info?.errors[0]?.message).toMatch(
        /upcaster from version 1 to 2 threw on payload of send job .*: no address book entry/,
      );
      expect(info?.errors[0]?.stack).toContain('no address book entry');
      // The stored payload is untouched: the job can be retried after a fix.
      expect(info?.data).toEqual({ to: 'old@example.com' });
      expect(ran).toBe(0);
    } finally {
      await worker.close();
      await p1.close();
      await p2.close();
    }
  });

  it('an upcast result the current schema rejects fails with VALIDATION_FAILED naming the upcast', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue, () => ({ to: [] }));
    const p1 = createQueue(one, { connection: redis.url });
    const worker = createWorker(two, { send: () => undefined }, workerOpts());
    try {
      const h = await p1.enqueue('send', { to: 'old@example.com' });
      const err = (await h
        .finished({ timeoutMs: 10_000 })
        .catch((e: unknown) => e)) as JobwireError;
      expect(err.code).toBe(ErrorCode.VALIDATION_FAILED);
      expect(err.message).toMatch(/upcast from version 1 to 2/);
    } finally {
      await worker.close();
      await p1.close();
    }
  });

  it('a version 2 job a producer from before version lanes stored in lane 1: a version 1 worker hands it back unrun, promotion routes it to its lane, a version 2 worker runs it', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue);
    const p2 = createQueue(two, { connection: redis.url });
    const raw = new Redis(redis.url);
    const k = queueKeys('jobwire', queue);
    const deferred: WorkerEvents['deferred'][0][] = [];
    let oldRan = 0;
    let oldWorker: { close(): Promise<unknown> } | undefined;
    let newWorker: { close(): Promise<unknown> } | undefined;
    try {
      const h = await p2.enqueue('send', { to: ['new@example.com'] });
      // Where a phase-1 producer put it: lane 1, shared by every version.
      const score = await raw.zscore(k.wait('send', 2), h.id);
      expect(score).not.toBeNull();
      await raw.zrem(k.wait('send', 2), h.id);
      await raw.zadd(k.wait('send'), score!, h.id);
      const w = createWorker(
        one,
        { send: () => void oldRan++ },
        workerOpts({ newerVersionDelayMs: 200 }),
      );
      oldWorker = w;
      w.on('deferred', (info) => deferred.push(info));
      await waitFor(() => deferred.length > 0, 10_000, 'the deferral');
      expect(deferred[0]).toMatchObject({
        id: h.id,
        name: 'send',
        version: 2,
        knownVersion: 1,
        reason: 'newer-version',
      });
      // The old worker's own promotion moves it to lane 2, which it never
      // reads: it is not handed back a second time.
      await waitFor(
        async () => (await raw.zscore(k.wait('send', 2), h.id)) !== null,
        10_000,
        'the promotion into lane 2',
      );
      expect(await raw.zscore(k.wait('send'), h.id)).toBeNull();
      await w.close();
      expect(deferred).toHaveLength(1);
      const info = await p2.getJob(h.id);
      expect(info?.state).toBe('waiting');
      expect(info?.attemptsMade).toBe(0);
      expect(info?.errors).toEqual([]);
      expect(oldRan).toBe(0);
      expect(await raw.hget(k.job(h.id), JobField.newerVersionDeferrals)).toBe(
        '1',
      );
      expect(await raw.hget(k.job(h.id), JobField.token)).toBeNull();

      const seen: unknown[] = [];
      newWorker = createWorker(
        two,
        { send: (j) => void seen.push(j.data) },
        workerOpts(),
      );
      await h.finished({ timeoutMs: 20_000 });
      expect(seen).toEqual([{ to: ['new@example.com'], subject: '(none)' }]);
    } finally {
      await oldWorker?.close();
      await newWorker?.close();
      await p2.close();
      await raw.quit();
    }
  });

  it('newerVersionDelayMs must be positive', () => {
    const { one } = contracts(uniqueQueue());
    expect(() =>
      createWorker(
        one,
        { send: () => {} },
        workerOpts({ newerVersionDelayMs: 0 }),
      ),
    ).toThrow(/newerVersionDelayMs/);
  });

  it('getJob({ upcast: true }) gives the data a handler of this version gets', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue);
    const broken = contracts(queue, () => {
      throw new Error('boom');
    }).two;
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    const pBroken = createQueue(broken, { connection: redis.url });
    try {
      const h = await p1.enqueue('send', { to: 'old@example.com' });
      const plain = await p2.getJob(h.id);
      expect(plain?.data).toEqual({ to: 'old@example.com' });
      expect(plain?.dataVersion).toBeUndefined();
      const up = await p2.getJob(h.id, { upcast: true });
      expect(up?.data).toEqual({ to: ['old@example.com'], subject: '(none)' });
      expect(up?.version).toBe(1);
      expect(up?.dataVersion).toBe(2);
      // A reader on version 1 gets it as stored, in version 1.
      const same = await p1.getJob(h.id, { upcast: true });
      expect(same?.data).toEqual({ to: 'old@example.com' });
      expect(same?.dataVersion).toBe(1);
      // A newer job is left as stored for an older reader.
      const n = await p2.enqueue('send', { to: ['n@example.com'] });
      const older = await p1.getJob(n.id, { upcast: true });
      expect(older?.data).toEqual({ to: ['n@example.com'] });
      expect(older?.dataVersion).toBe(2);
      // A failing upcaster is reported, not thrown.
      const bad = await pBroken.getJob(h.id, { upcast: true });
      expect(bad?.data).toEqual({ to: 'old@example.com' });
      expect(bad?.dataVersion).toBe(1);
      expect(bad?.upcastError?.code).toBe('UPCAST_FAILED');
    } finally {
      await p1.close();
      await p2.close();
      await pBroken.close();
    }
  });
});

describe('job(): the upcast map', () => {
  const bad = (spec: () => unknown) => {
    try {
      spec();
    } catch (err) {
      return (err as JobwireError).message;
    }
    return 'no error';
  };
  const o = (n: number) => z.object({ n: z.literal(n) });

  it('accepts a chain that ends at the version before the current one', () => {
    const def = job({
      version: 3,
      payload: o(3),
      upcast: {
        1: { from: o(1), to: () => ({ n: 2 as const }) },
        2: { from: o(2), to: () => ({ n: 3 as const }) },
      },
    });
    expect([...def.upcast.keys()]).toEqual([1, 2]);
    expect(job({ payload: o(1) }).upcast.size).toBe(0);
  });

  it('refuses a step from the current version or later', () => {
    expect(
      bad(() =>
        job({
          version: 2,
          payload: o(2),
          upcast: { 2: { from: o(2), to: () => ({ n: 2 }) } } as never,
        }),
      ),
    ).toMatch(/keys must be versions from 1 to 1 .*got 2/);
  });

  it('refuses a chain that stops short of the current version, or has a gap', () => {
    expect(
      bad(() =>
        job({
          version: 3,
          payload: o(3),
          upcast: { 1: { from: o(1), to: () => ({ n: 2 }) } } as never,
        }),
      ),
    ).toMatch(/must end with a step from version 2/);
    expect(
      bad(() =>
        job({
          version: 4,
          payload: o(4),
          upcast: {
            1: { from: o(1), to: () => ({ n: 2 }) },
            3: { from: o(3), to: () => ({ n: 4 }) },
          } as never,
        }),
      ),
    ).toMatch(/has a gap: no step from version 2/);
  });

  it('refuses a step without a zod schema or a function', () => {
    expect(
      bad(() =>
        job({
          version: 2,
          payload: o(2),
          upcast: { 1: { from: { n: 1 }, to: () => ({ n: 2 }) } } as never,
        }),
      ),
    ).toMatch(/1 must be \{ from: <version 1 payload schema>/);
  });
});
