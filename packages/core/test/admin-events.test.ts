/**
 * The events that drain() and removeRepeat() write (docs/guarantees.md,
 * clause 40): a drain writes one `drained` event per step, with the number
 * of jobs that step removed, and never one event per job (a drain of a big
 * queue would flood the log and push other outcomes out of it);
 * removeRepeat() writes `removed` for the pending occurrence it deletes.
 * Read from the raw stream, so the exact fields are checked.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();

let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(() => raw.disconnect());

function registry(q: string) {
  return defineJobs({
    work: job({ queue: q, payload: z.object({ n: z.number() }) }),
  });
}

/** The events written after stream id `after`, as field lists. */
async function eventsAfter(stream: string, after: string): Promise<string[][]> {
  const entries = await raw.xrange(stream, `(${after}`, '+');
  return entries.map(([, fields]) => fields);
}

/** The id of the newest event (0-0 when none). */
async function lastEventId(stream: string): Promise<string> {
  const [last] = await raw.xrevrange(stream, '+', '-', 'COUNT', 1);
  return last?.[0] ?? '0-0';
}

describe('the events of drain() and removeRepeat()', () => {
  it('drain() writes one drained event per step of up to 1,000 jobs, with its count, and no event per job', async () => {
    const q = uniqueQueue();
    const k = queueKeys('jobwire', q);
    const queue = createQueue(registry(q), { connection: redis.url });
    try {
      const waiting = Array.from({ length: 2300 }, (_, n) => ({
        name: 'work' as const,
        payload: { n },
      }));
      for (let i = 0; i < waiting.length; i += 500)
        await queue.enqueueBulk(waiting.slice(i, i + 500));
      await queue.enqueueBulk(
        Array.from({ length: 3 }, (_, n) => ({
          name: 'work' as const,
          payload: { n: 5000 + n },
          options: { delayMs: 3_600_000 },
        })),
      );
      expect(await raw.zcard(k.delayed)).toBe(3);
      const before = await lastEventId(k.events);
      expect(await queue.drain({ queue: q, delayed: true })).toBe(2303);
      // Steps of 1,000: 1,000 waiting, 1,000 waiting, then the last 300
      // waiting and the 3 delayed jobs in one step.
      expect(await eventsAfter(k.events, before)).toEqual([
        ['ev', 'drained', 'id', '', 'n', '', 'count', '1000'],
        ['ev', 'drained', 'id', '', 'n', '', 'count', '1000'],
        ['ev', 'drained', 'id', '', 'n', '', 'count', '303'],
      ]);
      // A drain that finds nothing writes nothing.
      const after = await lastEventId(k.events);
      expect(await queue.drain({ queue: q, delayed: true })).toBe(0);
      expect(await eventsAfter(k.events, after)).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('removeRepeat() writes removed for the pending occurrence it deletes, and nothing when there is none', async () => {
    const q = uniqueQueue();
    const k = queueKeys('jobwire', q);
    const queue = createQueue(registry(q), { connection: redis.url });
    try {
      const h = await queue.repeat(
        'work',
        { n: 1 },
        { key: 'hourly', everyMs: 3_600_000 },
      );
      expect((await queue.getJob(h.id, { queue: q }))?.state).toBe('delayed');
      const before = await lastEventId(k.events);
      expect(await queue.removeRepeat('work', 'hourly')).toBe(true);
      expect(await eventsAfter(k.events, before)).toEqual([
        ['ev', 'removed', 'id', h.id, 'n', 'work'],
      ]);
      expect(await raw.exists(k.job(h.id))).toBe(0);
      // Removing it again finds no schedule and writes no event.
      const after = await lastEventId(k.events);
      expect(await queue.removeRepeat('work', 'hourly')).toBe(false);
      expect(await eventsAfter(k.events, after)).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
