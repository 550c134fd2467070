/**
 * Two iterators of one QueueEvents shared its queue of events: each got
 * some of them, so two `for await` loops over one reader each missed
 * events, though the docs promise the iterator every event. A reader has
 * one iterator now: a second is refused with INVALID_OPTION, and the first
 * still gets every event.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueEvents, ErrorCode, type QueueEvent } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { waitFor } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;

beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

describe('QueueEvents iterators', () => {
  it('a second iterator is refused; the first gets every event', async () => {
    const q = uniqueQueue('ev-iter');
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
    });
    try {
      const got: QueueEvent[] = [];
      const first = (async () => {
        for await (const e of events) got.push(e);
      })();
      expect(() => events[Symbol.asyncIterator]()).toThrow(
        expect.objectContaining({
          code: ErrorCode.INVALID_OPTION,
          message: expect.stringContaining('createQueueEvents') as string,
        }),
      );
      for (let i = 0; i < 10; i++)
        await raw.xadd(
          `jobwire:{${q}}:events`,
          '*',
          'ev',
          'waiting',
          'id',
          `j${i}`,
          'n',
          'work',
        );
      await waitFor(() => got.length === 10, 5000, 'ten events');
      expect(got.map((e) => e.jobId)).toEqual(
        Array.from({ length: 10 }, (_, i) => `j${i}`),
      );
      await events.close();
      await first;
      // Closed (as a loop's end closes it): a new loop ends at once.
      for await (const e of events) got.push(e);
      expect(got).toHaveLength(10);
    } finally {
      await events.close();
    }
  });
});
