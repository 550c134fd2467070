/**
 * Found by an outside review of the event reader (2026-12-02): a
 * QueueEvents whose position had been trimmed away by `maxEvents` (resumed
 * from an old offset, or fallen behind) went on from the oldest event kept
 * and was never told that events were lost. It now emits 'gap' with its
 * position and the oldest event kept, in order: after the last event
 * before the loss, before the first after it. A reader that lost nothing
 * is told nothing.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  defineJobs,
  job,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;

beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

function registryFor(queue: string) {
  return defineJobs({
    work: job({ queue, payload: z.object({ n: z.number() }) }),
  });
}

type Seen = { gap: { offset: string; oldest: string } } | { event: string };

describe('QueueEvents gap', () => {
  it('a reader resumed from an offset trimmed away by maxEvents is told, before the first event it gets', async () => {
    const q = uniqueQueue('rev-gap');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url, maxEvents: 100 });
    try {
      await queue.enqueueBulk(
        Array.from({ length: 10 }, (_, n) => ({
          name: 'work' as const,
          payload: { n },
        })),
      );
      // A first reader saves the offset of the fifth event it handled.
      const first = createQueueEvents({
        connection: redis.url,
        queue: q,
        from: '0',
      });
      let seen = 0;
      let saved = '';
      first.on('event', () => {
        if (++seen === 5) saved = first.offset;
      });
      await waitFor(() => saved !== '', 5000, 'five events');
      await first.close();

      // Much later: the log has been trimmed far past it.
      for (let i = 0; i < 5; i++) {
        await queue.enqueueBulk(
          Array.from({ length: 200 }, (_, n) => ({
            name: 'work' as const,
            payload: { n },
          })),
        );
      }
      const key = `jobwire:{${q}}:events`;
      const [oldest] = (await raw.xrange(key, '-', '+', 'COUNT', 1))[0]!;
      const kept = await raw.xlen(key);

      const resumed = createQueueEvents({
        connection: redis.url,
        queue: q,
        from: saved,
      });
      const log: Seen[] = [];
      let offsetAtGap = '';
      resumed.on('gap', (gap) => {
        offsetAtGap = resumed.offset;
        log.push({ gap });
      });
      resumed.on('event', (e) => log.push({ event: e.offset }));
      try {
        await waitFor(
          () => log.length >= kept + 1,
          5000,
          'the gap and every kept event',
        );
        await sleep(200);
      } finally {
        await resumed.close();
      }
      expect(log[0]).toEqual({ gap: { offset: saved, oldest } });
      expect(offsetAtGap).toBe(saved);
      expect(log[1]).toEqual({ event: oldest });
      expect(log.slice(1).every((x) => 'event' in x)).toBe(true);
      expect(log).toHaveLength(kept + 1);
    } finally {
      await queue.close();
    }
  });

  it('a reader that falls behind is told where it lost events, in order, also through its iterator', async () => {
    const q = uniqueQueue('rev-gap2');
    const key = `jobwire:{${q}}:events`;
    const add = async (
      from: number,
      n: number,
      maxLen: number,
    ): Promise<void> => {
      const p = raw.pipeline();
      for (let i = from; i < from + n; i++)
        p.xadd(
          key,
          'MAXLEN',
          '~',
          String(maxLen),
          '*',
          'ev',
          'waiting',
          'id',
          `j${i}`,
          'n',
          'work',
        );
      await p.exec();
    };
    await add(0, 1500, 100_000);
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
    });
    const log: (
      | { gap: { offset: string; oldest: string }; at: string }
      | { id: string; offset: string }
    )[] = [];
    events.on('gap', (gap) => log.push({ gap, at: events.offset }));
    const it = events[Symbol.asyncIterator]();
    try {
      // The consumer stalls: the reader reads ahead, then waits for it...
      await sleep(500);
      // ...while 1,000 more are written and the log is cut to about 100.
      await add(1500, 1000, 100);
      for (let last = ''; last !== 'j2499';) {
        const e = (await it.next()).value as { jobId: string; offset: string };
        log.push({ id: e.jobId, offset: e.offset });
        last = e.jobId;
      }
    } finally {
      await events.close();
    }
    const at = log.findIndex((x) => 'gap' in x);
    expect(log.filter((x) => 'gap' in x)).toHaveLength(1);
    const before = log.slice(0, at) as { id: string; offset: string }[];
    const gap = log[at] as {
      gap: { offset: string; oldest: string };
      at: string;
    };
    const after = log.slice(at + 1) as { id: string; offset: string }[];
    // Events before the gap: j0, j1, ... in order, at least what was read ahead.
    expect(before.length).toBeGreaterThanOrEqual(1000);
    expect(before.map((e) => e.id)).toEqual(before.map((_, i) => `j${i}`));
    // The gap sits between the last event read and the oldest one kept.
    expect(gap.gap.offset).toBe(before.at(-1)!.offset);
    expect(gap.at).toBe(before.at(-1)!.offset);
    expect(gap.gap.oldest).toBe(after[0]!.offset);
    const firstKept = Number(after[0]!.id.slice(1));
    expect(firstKept).toBeGreaterThan(before.length);
    expect(after.map((e) => e.id)).toEqual(
      after.map((_, i) => `j${firstKept + i}`),
    );
  });

  it('no gap for a reader that loses nothing: from 0 on a trimmed log, from $ on a new log, one that keeps up', async () => {
    const q = uniqueQueue('rev-nogap');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url, maxEvents: 100 });
    // Before the log exists.
    const fresh = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '$',
    });
    const gaps: string[] = [];
    let freshSeen = 0;
    fresh.on('gap', () => gaps.push('fresh'));
    fresh.on('event', () => freshSeen++);
    try {
      await fresh.ready();
      await queue.enqueueBulk(
        Array.from({ length: 30 }, (_, n) => ({
          name: 'work' as const,
          payload: { n },
        })),
      );
      await waitFor(() => freshSeen === 30, 5000, 'the new events');
      for (let i = 0; i < 5; i++) {
        await queue.enqueueBulk(
          Array.from({ length: 50 }, (_, n) => ({
            name: 'work' as const,
            payload: { n },
          })),
        );
        await waitFor(
          () => freshSeen === 30 + 50 * (i + 1),
          5000,
          'the reader to keep up',
        );
      }
      // The log has been trimmed; a reader from '0' wants what it keeps.
      const all = createQueueEvents({
        connection: redis.url,
        queue: q,
        from: '0',
      });
      let allSeen = 0;
      all.on('gap', () => gaps.push('all'));
      all.on('event', () => allSeen++);
      const kept = await raw.xlen(`jobwire:{${q}}:events`);
      await waitFor(() => allSeen === kept, 5000, 'the kept events');
      await sleep(200);
      await all.close();
      expect(gaps).toEqual([]);
    } finally {
      await fresh.close();
      await queue.close();
    }
  });
});
