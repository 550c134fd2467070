/**
 * Issue 14, phase 2, as a user meets it: version lanes under busy,
 * paused and repeating workers (found by review, each test failed on the
 * code before its fix).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import type { WorkerOptions } from '../src/index.ts';
import { queueKeys, type QueueKeys } from '../src/redis/keys.ts';
import { JobField } from '../src/redis/job-fields.ts';
import { moveToActive } from '../src/redis/transitions/lease.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function workerOpts(extra: WorkerOptions = {}): WorkerOptions {
  return { connection: redis.url, ...fastWorkerSettings, ...extra };
}

const v1 = z.object({ n: z.number() });
const v2 = z.object({ n: z.number(), tag: z.string().default('-') });

/** One job type `send` at version 2, upcasting version 1. */
function contractV2(queue: string) {
  return defineJobs({
    send: job({
      queue,
      version: 2,
      payload: v2,
      upcast: { 1: { from: v1, to: (o) => ({ n: o.n }) } },
    }),
  });
}

/** The Redis clock, ms. */
async function redisNow(raw: Redis): Promise<number> {
  const [s, us] = await raw.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** When a worker that knows version 2 of `send` last said it reads it. */
async function readerAt(raw: Redis, k: QueueKeys): Promise<number> {
  return Number((await raw.hget(k.readers, 'send@2')) ?? -1);
}

/**
 * The window that leaves out the reader note made at `before` (and every
 * earlier one), but counts any made a second or more after it.
 */
async function windowAfter(raw: Redis, before: number): Promise<number> {
  return (await redisNow(raw)) - before - 1;
}

describe('version lanes under review (issue 14, phase 2)', () => {
  it('a version 2 worker busy with a long job still counts as a reader of version 2', async () => {
    const queue = uniqueQueue();
    const two = contractV2(queue);
    const k = queueKeys('jobwire', queue);
    const raw = new Redis(redis.url);
    const producer = createQueue(two, { connection: redis.url });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let started = 0;
    // Every slot taken by one long job: the worker makes no leasing call.
    const worker = createWorker(
      two,
      {
        send: async () => {
          started++;
          await gate;
        },
      },
      workerOpts({ concurrency: 1, prefetch: 0 }),
    );
    try {
      await producer.enqueue('send', { n: 1 });
      await waitFor(() => started === 1, 20_000, 'the long job to start');
      const leasedAt = await readerAt(raw, k);
      expect(leasedAt).toBeGreaterThan(0);
      await producer.enqueue('send', { n: 2 });
      // The busy worker keeps saying it reads version 2...
      await waitFor(
        async () => (await readerAt(raw, k)) >= leasedAt + 1500,
        20_000,
        'the busy worker to renew its reader note',
      );
      expect(started).toBe(1);
      // ...so the job waiting behind its long one is not reported as
      // waiting for a newer worker, even with a window that leaves out
      // the worker's last leasing call.
      expect(
        await producer.getWaitingByVersion({
          queue,
          readerWindowMs: await windowAfter(raw, leasedAt),
        }),
      ).toEqual({ send: [{ version: 2, waiting: 1 }] });
    } finally {
      open();
      await worker.close();
      await producer.close();
      await raw.quit();
    }
  });

  it('a version 2 worker of a paused queue, or paused itself, still counts as a reader of version 2', async () => {
    const queue = uniqueQueue();
    const two = contractV2(queue);
    const k = queueKeys('jobwire', queue);
    const raw = new Redis(redis.url);
    const producer = createQueue(two, { connection: redis.url });
    const worker = createWorker(two, { send: () => {} }, workerOpts());
    try {
      await waitFor(
        async () => (await readerAt(raw, k)) > 0,
        20_000,
        'the worker to lease once',
      );
      // The queue paused: the worker's calls lease nothing, and waiting
      // jobs wait for the resume, not for a newer worker.
      await producer.pause({ queue });
      const pausedAt = await redisNow(raw);
      await producer.enqueue('send', { n: 1 });
      await waitFor(
        async () => (await readerAt(raw, k)) >= pausedAt + 1500,
        20_000,
        'a reader note while the queue is paused',
      );
      expect(
        await producer.getWaitingByVersion({
          queue,
          readerWindowMs: await windowAfter(raw, pausedAt),
        }),
      ).toEqual({ send: [{ version: 2, waiting: 1 }] });
      // The worker paused itself: it makes no call at all.
      worker.pause();
      const workerPausedAt = await redisNow(raw);
      await waitFor(
        async () => (await readerAt(raw, k)) >= workerPausedAt + 1500,
        20_000,
        'a reader note while the worker is paused',
      );
      expect(
        await producer.getWaitingByVersion({
          queue,
          readerWindowMs: await windowAfter(raw, workerPausedAt),
        }),
      ).toEqual({ send: [{ version: 2, waiting: 1 }] });
    } finally {
      await worker.close();
      await producer.close();
      await raw.quit();
    }
  });

  it('a repeat schedule keeps the version it was declared with until a newer producer declares it again', async () => {
    const queue = uniqueQueue();
    const one = defineJobs({ send: job({ queue, payload: v1 }) });
    const two = contractV2(queue);
    const k = queueKeys('jobwire', queue);
    const raw = new Redis(redis.url);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    const pending = async () => {
      const id = (await raw.hget(k.repeats, 'r:next'))!;
      return { id, version: await raw.hget(k.job(id), JobField.version) };
    };
    const leaseAsV2 = () =>
      moveToActive(raw, k, 1000, {
        leaseMs: 30_000,
        tokenPrefix: `t${Math.random()}`,
        total: 10,
        immediate: 10,
        quotas: [['send', 10]],
        known: new Map([['send', 2]]),
      });
    try {
      await p1.repeat('send', { n: 1 }, { key: 'r', everyMs: 3_600_000 });
      const first = await pending();
      expect(first.version).toBe('1');
      // A version 2 worker runs it (upcast), and the next occurrence the
      // schedule makes is still a version 1 job, in lane 1.
      await p2.promote(first.id);
      expect((await leaseAsV2()).jobs.map((j) => [j.id, j.version])).toEqual([
        [first.id, 1],
      ]);
      const second = await pending();
      expect(second.id).not.toBe(first.id);
      expect(second.version).toBe('1');
      // Declared again by a version 2 producer: version 2, in its lane.
      await p2.repeat('send', { n: 2 }, { key: 'r', everyMs: 3_600_000 });
      const third = await pending();
      expect(third.version).toBe('2');
      await p2.promote(third.id);
      expect(await raw.zscore(k.wait('send', 2), third.id)).not.toBeNull();
      expect(await raw.zcard(k.wait('send'))).toBe(0);
    } finally {
      await p1.close();
      await p2.close();
      await raw.quit();
    }
  });

  it('a version 2 job past its expiry waits unexpired beside version 1 workers; the first version 2 worker expires it unrun', async () => {
    const queue = uniqueQueue();
    const one = defineJobs({ send: job({ queue, payload: v1 }) });
    const two = contractV2(queue);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    const oldRan: number[] = [];
    const newRan: number[] = [];
    const oldWorker = createWorker(
      one,
      { send: (j) => void oldRan.push(j.data.n) },
      workerOpts(),
    );
    let newWorker: { close(): Promise<unknown> } | undefined;
    try {
      const stale = await p2.enqueue('send', { n: 2 }, { expireAfterMs: 1 });
      // A version 1 job enqueued later: once it ran, the old worker has
      // leased past the version 2 job's place, and left it alone.
      await (
        await p1.enqueue('send', { n: 1 })
      ).finished({
        timeoutMs: 20_000,
      });
      expect(oldRan).toEqual([1]);
      expect((await p2.getJob(stale.id))?.state).toBe('waiting');
      newWorker = createWorker(
        two,
        { send: (j) => void newRan.push(j.data.n) },
        workerOpts(),
      );
      await waitFor(
        async () => (await p2.getJob(stale.id))?.state === 'expired',
        20_000,
        'the version 2 worker to expire the job',
      );
      expect(newRan).toEqual([]);
      const counts = (await p2.getCounts({ queue })).byType.send;
      expect([counts?.waiting, counts?.expired]).toEqual([0, 1]);
    } finally {
      await oldWorker.close();
      await newWorker?.close();
      await p1.close();
      await p2.close();
    }
  });
});
