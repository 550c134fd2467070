/**
 * Issue 12, defect 10: finished() could wait for ever.
 * - The event follower had no gap detection: once the stream was trimmed
 *   past its cursor, the outcomes in between were skipped, and a waiter
 *   for a job enqueued after the follower started never read the job hash.
 * - drain() and removeRepeat() wrote no event, so a waiter on a drained
 *   job (or on a repeat's removed occurrence) waited for ever.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { rejectionOf } from './helpers/assert.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep } from './helpers/wait.ts';

const redis = useRedis();

function registry(q: string) {
  return defineJobs({
    work: job({
      queue: q,
      payload: z.object({ n: z.number() }),
      result: z.object({ n: z.number() }),
    }),
  });
}

// Completes a job as the complete script does, then buries its `completed`
// event under other entries and trims the stream, all in one step: a
// follower that was behind by more than the retained log.
const COMPLETE_AND_TRIM = `
local jk = KEYS[1] .. 'j:' .. ARGV[1]
local now = redis.call('TIME')[1] * 1000
redis.call('ZREM', KEYS[1] .. 'w:work', ARGV[1])
redis.call('HSET', jk, 's', 'c', 'f', now, 'a', 1, 'r', ARGV[2])
redis.call('ZADD', KEYS[1] .. 'completed', now, ARGV[1])
redis.call('HINCRBY', KEYS[1] .. 'counts', 'work|w', -1)
redis.call('HINCRBY', KEYS[1] .. 'counts', 'work|c', 1)
redis.call('XADD', KEYS[1] .. 'events', '*', 'ev', 'completed', 'id', ARGV[1], 'n', 'work', 'r', ARGV[2])
for i = 1, 300 do
  redis.call('XADD', KEYS[1] .. 'events', '*', 'ev', 'progress', 'id', 'other', 'n', 'work', 'pg', i)
end
redis.call('XTRIM', KEYS[1] .. 'events', 'MAXLEN', 10)
return 1`;

describe('issue 12: finished() always settles', () => {
  it('reads the job hash when the event stream was trimmed past the follower', async () => {
    const q = uniqueQueue();
    const k = queueKeys('jobwire', q);
    const raw = new Redis(redis.url);
    const queue = createQueue(registry(q), { connection: redis.url });
    try {
      const h = await queue.enqueue('work', { n: 7 });
      const waiting = h.finished({ timeoutMs: 4000 });
      await sleep(200);
      await raw.eval(COMPLETE_AND_TRIM, 1, k.base, h.id, '{"n":7}');
      expect(await waiting).toEqual({ n: 7 });
      // A wait that starts after the gap reads the hash as well.
      expect(await h.finished({ timeoutMs: 2000 })).toEqual({ n: 7 });
    } finally {
      raw.disconnect();
      await queue.close();
    }
  });

  it('rejects waiters on drained jobs, those waiting before and after the drain', async () => {
    const q = uniqueQueue();
    const queue = createQueue(registry(q), { connection: redis.url });
    try {
      const a = await queue.enqueue('work', { n: 1 });
      const b = await queue.enqueue('work', { n: 2 }, { delayMs: 60_000 });
      const before = rejectionOf(a.finished({ timeoutMs: 3000 }));
      await sleep(200);
      expect(await queue.drain({ queue: q, delayed: true })).toBe(2);
      expect(await before).toMatchObject({ code: 'JOB_NOT_FOUND' });
      expect(await rejectionOf(b.finished({ timeoutMs: 3000 }))).toMatchObject({
        code: 'JOB_NOT_FOUND',
      });
    } finally {
      await queue.close();
    }
  });

  it('rejects a waiter on the pending occurrence of a removed repeat', async () => {
    const q = uniqueQueue();
    const queue = createQueue(registry(q), { connection: redis.url });
    try {
      const h = await queue.repeat(
        'work',
        { n: 3 },
        { key: 'hourly', everyMs: 3_600_000 },
      );
      const waiting = rejectionOf(h.finished({ timeoutMs: 3000 }));
      await sleep(200);
      expect(await queue.removeRepeat('work', 'hourly')).toBe(true);
      expect(await waiting).toMatchObject({ code: 'JOB_NOT_FOUND' });
    } finally {
      await queue.close();
    }
  });
});
