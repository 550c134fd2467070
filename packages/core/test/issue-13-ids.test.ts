/**
 * Issue 13, item 10: ids were per-queue counters. With two queues
 * `getJob(handle.id)` found the same id in both and refused to guess, and a
 * Redis that lost its data restarted the counter and handed old ids to new
 * jobs. Ids now come from the producer: unique across queues and restarts.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  defineJobs,
  ErrorCode,
  job,
  type JobwireError,
} from '../src/index.ts';
import { JobIdSource } from '../src/producer/job-id.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { enqueue, type EnqueueJob } from '../src/redis/transitions/enqueue.ts';
import { startRedis, uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();

function twoQueues() {
  const [qa, qb] = [uniqueQueue(), uniqueQueue()];
  const reg = defineJobs({
    a: job({ queue: qa, payload: z.object({ n: z.number() }) }),
    b: job({ queue: qb, payload: z.object({ s: z.string() }) }),
  });
  return { qa, qb, reg };
}

describe('issue 13: ids unique across queues and after data loss', () => {
  it('getJob finds a job by its id alone among two queues', async () => {
    const { qa, qb, reg } = twoQueues();
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const ja = await queue.enqueue('a', { n: 1 });
      const jb = await queue.enqueue('b', { s: 'x' });
      expect(ja.id).not.toBe(jb.id);
      expect(ja.id).toMatch(/^[a-z][0-9a-z]{16,}$/);
      expect(await queue.getJob(ja.id)).toMatchObject({ name: 'a', queue: qa });
      expect(await queue.getJob(jb.id)).toMatchObject({ name: 'b', queue: qb });
      // The maintenance actions find it the same way.
      await queue.remove(jb.id);
      expect(await queue.getJob(jb.id)).toBeUndefined();
      expect((await queue.getJob(ja.id))?.name).toBe('a');
    } finally {
      await queue.close();
    }
  });

  it('refuses to guess only for a custom jobId used in two queues, and dedups custom ids', async () => {
    const { qb, reg } = twoQueues();
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const first = await queue.enqueue('a', { n: 1 }, { jobId: 'order-7' });
      const again = await queue.enqueue('a', { n: 2 }, { jobId: 'order-7' });
      expect(first).toMatchObject({ id: 'order-7', duplicate: false });
      expect(again).toMatchObject({ id: 'order-7', duplicate: true });
      expect((await queue.getJob('order-7'))?.data).toEqual({ n: 1 });
      await queue.enqueue('b', { s: 'x' }, { jobId: 'order-7' });
      const err = await queue.getJob('order-7').catch((e: unknown) => e);
      expect((err as JobwireError).code).toBe(ErrorCode.INVALID_OPTION);
      expect((err as Error).message).toContain('custom jobId');
      expect((await queue.getJob('order-7', { queue: qb }))?.name).toBe('b');
    } finally {
      await queue.close();
    }
  });

  it('never reuses an id after Redis restarts empty (FLUSHALL, then a fresh server on the same port)', async () => {
    await using server = await startRedis();
    const { reg } = twoQueues();
    const queue = createQueue(reg, { connection: server.url });
    const admin = new Redis(server.url);
    try {
      const seen = new Set<string>();
      const round = async () => {
        const handles = await queue.enqueueBulk(
          Array.from({ length: 50 }, (_, n) => ({
            name: 'a' as const,
            payload: { n },
          })),
        );
        handles.push(await queue.enqueue('b', { s: 'x' }));
        for (const h of handles) {
          expect(seen.has(h.id), `id ${h.id} handed out twice`).toBe(false);
          seen.add(h.id);
        }
      };
      await round();
      await admin.flushall();
      await round();
      await server.kill9();
      await server.restart();
      expect(await admin.dbsize()).toBe(0);
      await round();
      expect(seen.size).toBe(153);
    } finally {
      admin.disconnect();
      await queue.close();
    }
  });

  it('reads a job stored under an old numeric id', async () => {
    const { qa, reg } = twoQueues();
    const client = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    try {
      // What the counter-based script wrote: a job whose id is a number.
      await enqueue(client, queueKeys('jobwire', qa), 100, [
        {
          id: '7',
          generated: false,
          name: 'a',
          dataJson: '{"n":7}',
          priority: 0,
          delayMs: 0,
          settings: {
            optionsJson: '{"at":1,"to":0,"kc":[1,0],"kf":[1,0]}',
            expireAfterMs: 0,
            version: 1,
            fingerprint: '',
            debounceMs: 0,
            throttleLimit: 0,
            throttlePeriodMs: 0,
            settingsRef: undefined,
          },
        },
      ]);
      expect(await queue.getJob('7')).toMatchObject({
        id: '7',
        queue: qa,
        data: { n: 7 },
      });
    } finally {
      client.disconnect();
      await queue.close();
    }
  });

  it('a re-sent enqueue of a generated id writes once and reports the job created', async () => {
    const client = new Redis(redis.url);
    try {
      const k = queueKeys('jobwire', uniqueQueue());
      const job: EnqueueJob = {
        id: new JobIdSource().next(),
        generated: true,
        name: 't',
        dataJson: '{}',
        priority: 0,
        delayMs: 0,
        settings: {
          optionsJson: '{"at":1,"to":0,"kc":[1,0],"kf":[1,0]}',
          expireAfterMs: 0,
          version: 1,
          fingerprint: '',
          debounceMs: 0,
          throttleLimit: 0,
          throttlePeriodMs: 0,
          settingsRef: undefined,
        },
      };
      const first = await enqueue(client, k, 100, [job]);
      const resent = await enqueue(client, k, 100, [job]);
      expect(first).toEqual([{ id: job.id, created: true }]);
      expect(resent).toEqual([{ id: job.id, created: true }]);
      expect(await client.zcard(k.wait('t'))).toBe(1);
      expect(await client.hget(k.counts, 't|w')).toBe('1');
    } finally {
      client.disconnect();
    }
  });
});

describe('JobIdSource', () => {
  it('makes short, URL-safe, distinct ids even when the clock stands still or steps back', () => {
    let now = 1_800_000_000_000;
    const source = new JobIdSource(() => now, 12345);
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      ids.add(source.next());
      if (i === 1000) now -= 60_000; // an NTP step back
    }
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[a-z][0-9a-z]{16,18}$/);
    expect(new JobIdSource(() => now, 1).next()).toHaveLength(17);
    // Another process draws another tag: same millisecond, other ids.
    const other = new JobIdSource(() => now, 54321);
    expect(ids.has(other.next())).toBe(false);
  });
});
