/**
 * A call made just after the producer's connection dropped waits for the
 * reconnect, as producing.md promises ("rejects if Redis cannot be reached
 * within connectTimeoutMs"). ioredis still reads `ready` for a moment after
 * its socket closed, and refuses a command then, unsent ("Stream isn't
 * writeable…"): jobwire passed that on as REDIS_UNAVAILABLE at once, though
 * Redis was back within milliseconds (an outside review saw it on 5 of 6
 * kills).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();
const quiet: Logger = { warn: () => {}, error: () => {} };

describe('a call right after the connection dropped', () => {
  it('waits for the reconnect instead of failing unsent', async () => {
    const jobs = defineJobs({
      note: job({
        queue: uniqueQueue('unsent'),
        payload: z.object({ n: z.number() }),
      }),
    });
    const queue = createQueue(jobs, {
      connection: redis.url,
      connectTimeoutMs: 5000,
      logger: quiet,
    });
    const admin = new Redis(redis.url);
    try {
      await queue.enqueue('note', { n: -1 });
      const failures: string[] = [];
      for (let n = 0; n < 10; n++) {
        // Every connection but this one: the queue's.
        await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
        try {
          await queue.enqueue('note', { n });
        } catch (err) {
          failures.push(`${n}: ${(err as Error).message}`);
        }
      }
      expect(failures).toEqual([]);
      expect((await queue.getCounts()).waiting).toBe(11);
    } finally {
      await queue.close();
      admin.disconnect();
    }
  });
});
