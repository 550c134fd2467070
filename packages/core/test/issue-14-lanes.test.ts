/**
 * Issue 14, phase 2: version lanes. A job of contract version v >= 2 waits
 * in its own lane (`w:<type>@<v>`), which only workers that know version v
 * read; so a worker never leases a job of a version newer than it knows.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import type { WorkerEvents, WorkerOptions } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { JobField } from '../src/redis/job-fields.ts';
import {
  moveToActive,
  recoverStalled,
  release,
} from '../src/redis/transitions/lease.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function workerOpts(extra: WorkerOptions = {}): WorkerOptions {
  return { connection: redis.url, ...fastWorkerSettings, ...extra };
}

const v1 = z.object({ n: z.number() });
const v2 = z.object({ n: z.number(), tag: z.string().default('-') });
const v3 = z.object({ n: z.number(), tag: z.string(), extra: z.boolean() });

/** One job type `send` at versions 1, 2 and 3 (each upcasting the older). */
function contracts(queue: string, attempts = 3) {
  return {
    one: defineJobs({ send: job({ queue, payload: v1, attempts }) }),
    two: defineJobs({
      send: job({
        queue,
        version: 2,
        payload: v2,
        attempts,
        upcast: { 1: { from: v1, to: (o) => ({ n: o.n }) } },
      }),
    }),
    three: defineJobs({
      send: job({
        queue,
        version: 3,
        payload: v3,
        attempts,
        upcast: {
          1: { from: v1, to: (o) => ({ n: o.n }) },
          2: { from: v2, to: (o) => ({ ...o, tag: o.tag, extra: false }) },
        },
      }),
    }),
  };
}

/** Clients blocked in BZPOPMIN on the server (workers waiting for jobs). */
async function blockedWaits(raw: Redis): Promise<number> {
  const list = (await raw.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((l) => l.includes('cmd=bzpopmin')).length;
}

describe('version lanes (issue 14, phase 2)', () => {
  it('a version 1 worker never leases a version 2 job; a version 2 worker blocked on its lane takes it at once', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue);
    const k = queueKeys('jobwire', queue);
    const raw = new Redis(redis.url);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    const deferred: WorkerEvents['deferred'][0][] = [];
    const oldRan: number[] = [];
    // Long block timeouts: a job is found by its marker, or not in time.
    const oldWorker = createWorker(
      one,
      { send: (j) => void oldRan.push(j.data.n) },
      workerOpts({ blockTimeoutMs: 30_000 }),
    );
    oldWorker.on('deferred', (info) => deferred.push(info));
    let newWorker: { close(): Promise<unknown> } | undefined;
    try {
      const newer = await p2.enqueue('send', { n: 2 });
      // FIFO: the old worker leases this one only after the newer job's
      // place, so once it has run, it has looked past the newer job.
      const older = await p1.enqueue('send', { n: 1 });
      await older.finished({ timeoutMs: 20_000 });
      expect(oldRan).toEqual([1]);
      expect(deferred).toEqual([]);
      expect(
        await raw.hget(k.job(newer.id), JobField.newerVersionDeferrals),
      ).toBeNull();
      expect(await raw.hget(k.job(newer.id), JobField.state)).toBe('w');
      expect(await raw.zscore(k.wait('send', 2), newer.id)).not.toBeNull();
      expect(await raw.zscore(k.wait('send'), newer.id)).toBeNull();
      expect(await raw.smembers(k.lanes)).toEqual(['send@2']);

      const seen: number[] = [];
      newWorker = createWorker(
        two,
        { send: (j) => void seen.push(j.data.n) },
        workerOpts({ blockTimeoutMs: 30_000 }),
      );
      await newer.finished({ timeoutMs: 20_000 });
      // Both workers idle, blocked on their markers.
      await waitFor(
        async () => (await blockedWaits(raw)) >= 2,
        20_000,
        'both workers blocked',
      );
      const started = Date.now();
      const next = await p2.enqueue('send', { n: 3 });
      await next.finished({ timeoutMs: 20_000 });
      // Woken by m:send@2, not by the 30 s block timeout running out.
      expect(Date.now() - started).toBeLessThan(5000);
      expect(seen).toEqual([2, 3]);
      expect(oldRan).toEqual([1]);
      expect(deferred).toEqual([]);
      const events = await raw.xrange(k.events, '-', '+');
      expect(events.some(([, f]) => f.includes('newer-version'))).toBe(false);
    } finally {
      await oldWorker.close();
      await newWorker?.close();
      await p1.close();
      await p2.close();
      await raw.quit();
    }
  });

  it('a version 2 worker takes lanes 1 and 2 in priority, then FIFO, order across both', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    const order: number[] = [];
    try {
      const a = await p1.enqueue('send', { n: 1 });
      const b = await p2.enqueue('send', { n: 2 });
      const c = await p1.enqueue('send', { n: 3 });
      const d = await p2.enqueue('send', { n: 4 }, { priority: 'high' });
      const e = await p1.enqueue('send', { n: 5 }, { priority: 'high' });
      // The waiting listing merges the lanes in the order workers take them.
      const listed = await p2.getJobs('waiting', { name: 'send' });
      expect(listed.map((j) => j.id)).toEqual([d.id, e.id, a.id, b.id, c.id]);
      expect((await p2.getJobs('waiting')).map((j) => j.id)).toEqual(
        listed.map((j) => j.id),
      );
      const worker = createWorker(
        two,
        { send: (j) => void order.push(j.data.n) },
        workerOpts({ concurrency: 1, prefetch: 0 }),
      );
      try {
        await waitFor(() => order.length === 5, 20_000, 'all five jobs');
      } finally {
        await worker.close();
      }
      expect(order).toEqual([4, 5, 1, 2, 3]);
    } finally {
      await p1.close();
      await p2.close();
    }
  });

  it('promote, remove, drain, retry, release and stall recovery of a version 2 job use its lane; counts stay true', async () => {
    const queue = uniqueQueue();
    const { two } = contracts(queue, 1);
    const k = queueKeys('jobwire', queue);
    const raw = new Redis(redis.url);
    const p2 = createQueue(two, { connection: redis.url });
    const lane2 = k.wait('send', 2);
    /** The counts hash agrees with the lanes, and nothing is left in lane 1. */
    const consistent = async (waiting: number) => {
      const counts = await p2.getCounts({ queue });
      expect(counts.byType.send?.waiting ?? 0).toBe(waiting);
      expect(await raw.zcard(lane2)).toBe(waiting);
      expect(await raw.zcard(k.wait('send'))).toBe(0);
    };
    const lease = (known: number, leaseMs = 30_000) =>
      moveToActive(raw, k, 1000, {
        leaseMs,
        tokenPrefix: `t${Math.random()}`,
        total: 10,
        immediate: 10,
        quotas: [['send', 10]],
        known: new Map([['send', known]]),
      });
    try {
      // promote: from delayed into lane 2.
      const delayed = await p2.enqueue('send', { n: 1 }, { delayMs: 60_000 });
      await consistent(0);
      await p2.promote(delayed.id);
      await consistent(1);
      expect(await raw.zscore(lane2, delayed.id)).not.toBeNull();
      // remove
      await p2.remove(delayed.id);
      await consistent(0);
      // remove, of a version 2 job that a producer from before lanes
      // stored in lane 1: it is found there, no entry is left behind.
      const legacy = await p2.enqueue('send', { n: 8 });
      const score = await raw.zscore(lane2, legacy.id);
      await raw.zrem(lane2, legacy.id);
      await raw.zadd(k.wait('send'), score!, legacy.id);
      await p2.remove(legacy.id);
      await consistent(0);
      // drain: every lane.
      for (let n = 0; n < 3; n++) await p2.enqueue('send', { n });
      await consistent(3);
      expect(await p2.drain({ queue })).toBe(3);
      await consistent(0);

      // A worker of version 1 (by script) leases nothing from lane 2...
      const h = await p2.enqueue('send', { n: 7 });
      expect((await lease(1)).jobs).toEqual([]);
      await consistent(1);
      // ...nor records itself as a reader (it knows version 1 only).
      expect(await raw.hgetall(k.readers)).toEqual({});
      // release: back to lane 2 at its place.
      const first = await lease(2);
      expect(first.jobs.map((j) => j.id)).toEqual([h.id]);
      await consistent(0);
      expect(await release(raw, k, 1000, first.jobs[0]!)).toBe(1);
      await consistent(1);
      // stall recovery: the lease runs out, the check puts it back in lane 2.
      const stalled = await lease(2, 1);
      expect(stalled.jobs.map((j) => j.id)).toEqual([h.id]);
      await sleep(20);
      expect(await recoverStalled(raw, k, 1000, 5, 1)).toEqual({
        requeued: 1,
        failed: 0,
        cancelled: 0,
      });
      await consistent(1);

      // retry: a failed job goes back to lane 2.
      const worker = createWorker(
        two,
        {
          send: () => {
            throw new Error('boom');
          },
        },
        workerOpts(),
      );
      try {
        await expect(h.finished({ timeoutMs: 20_000 })).rejects.toThrow();
      } finally {
        await worker.close();
      }
      expect((await p2.getCounts({ queue })).byType.send?.failed).toBe(1);
      await consistent(0);
      await p2.retry(h.id);
      await consistent(1);
      expect(await raw.zscore(lane2, h.id)).not.toBeNull();
      // And a reader of version 2 finds it there.
      const again = await lease(2);
      expect(again.jobs.map((j) => j.id)).toEqual([h.id]);
      await consistent(0);
    } finally {
      await p2.close();
      await raw.quit();
    }
  });

  it('leasing an unversioned type makes the same calls as before lanes: no SMEMBERS, no readers write', async () => {
    const queue = uniqueQueue();
    const { one, two } = contracts(queue);
    const k = queueKeys('jobwire', queue);
    const raw = new Redis(redis.url);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    /** Redis commands run per name while `fn` runs (INFO commandstats). */
    const callsDuring = async (fn: () => Promise<unknown>) => {
      await raw.config('RESETSTAT');
      await fn();
      const info = await raw.info('commandstats');
      const calls: Record<string, number> = {};
      for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g))
        calls[m[1]!] = Number(m[2]);
      return calls;
    };
    const lease = (known: number) =>
      moveToActive(raw, k, 1000, {
        leaseMs: 30_000,
        tokenPrefix: `t${known}`,
        total: 10,
        immediate: 10,
        quotas: [['send', 10]],
        known: new Map([['send', known]]),
      });
    try {
      for (let n = 0; n < 5; n++) await p1.enqueue('send', { n });
      // A lane 2 exists too: a version 1 reader must not look it up.
      await p2.enqueue('send', { n: 9 });
      const v1 = await callsDuring(() => lease(1));
      expect(v1.smembers).toBeUndefined();
      // Lane 1 twice (the second finds it empty), and the delayed head.
      expect(v1.zrange).toBe(2 + 1);
      expect(v1.zrem).toBe(1);
      expect(v1.zcard).toBe(1);
      expect(v1.hset).toBe(5); // one per leased job
      expect(await raw.exists(k.readers)).toBe(0);
      // A version 2 reader pays one SMEMBERS and one HSET per call, plus
      // its second lane's reads.
      for (let n = 0; n < 5; n++) await p1.enqueue('send', { n });
      const v2 = await callsDuring(() => lease(2));
      expect(v2.smembers).toBe(1);
      expect(v2.zrange).toBe(2 * 2 + 1);
      expect(v2.zrem).toBe(2);
      expect(v2.zcard).toBe(2);
      expect(v2.hset).toBe(6 + 1);
      expect(await raw.hkeys(k.readers)).toEqual(['send@2']);
    } finally {
      await p1.close();
      await p2.close();
      await raw.quit();
    }
  });

  it('getWaitingByVersion reports a lane above every live reader as no-reader, with the newest reader', async () => {
    const queue = uniqueQueue();
    const { one, two, three } = contracts(queue);
    const k = queueKeys('jobwire', queue);
    const raw = new Redis(redis.url);
    const p2 = createQueue(two, { connection: redis.url });
    const p3 = createQueue(three, { connection: redis.url });
    const oldWorker = createWorker(one, { send: () => {} }, workerOpts());
    let worker2: { close(): Promise<unknown> } | undefined;
    try {
      await p2.enqueue('send', { n: 1 });
      // Only a version 1 worker runs: nobody reads version 2.
      expect(await p2.getWaitingByVersion({ queue })).toEqual({
        send: [{ version: 2, waiting: 1, reason: 'no-reader' }],
      });
      worker2 = createWorker(two, { send: () => {} }, workerOpts());
      await waitFor(
        async () => (await raw.zcard(k.wait('send', 2))) === 0,
        20_000,
        'the version 2 worker to take its job',
      );
      await p3.enqueue('send', { n: 2, tag: 't', extra: true });
      await p3.enqueue('send', { n: 3, tag: 't', extra: true });
      expect(await p3.getWaitingByVersion()).toEqual({
        send: [
          { version: 3, waiting: 2, reason: 'no-reader', newestReader: 2 },
        ],
      });
      // A reader seen longer ago than the window does not count.
      await sleep(50);
      expect(
        await p3.getWaitingByVersion({ queue, readerWindowMs: 1 }),
      ).toEqual({ send: [{ version: 3, waiting: 2, reason: 'no-reader' }] });
      // Version 1 jobs waiting (the v1 worker is gone) carry no reason.
      await oldWorker.close();
      await worker2.close();
      worker2 = undefined;
      const p1 = createQueue(one, { connection: redis.url });
      await p1.enqueue('send', { n: 4 });
      await p1.close();
      const lanes = await p3.getWaitingByVersion({ queue });
      expect(lanes.send).toEqual([
        { version: 1, waiting: 1 },
        { version: 3, waiting: 2, reason: 'no-reader', newestReader: 2 },
      ]);
    } finally {
      await oldWorker.close();
      await worker2?.close();
      await p2.close();
      await p3.close();
      await raw.quit();
    }
  });
});
