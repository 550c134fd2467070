/**
 * Issue 12, defect 13: the stall check decoded fields that a hand-written
 * or legacy job hash may lack, and a Lua error does not roll back the
 * writes made before it. One malformed hash aborted the check halfway: the
 * job was left out of every state set, and the jobs after it waited for the
 * next check.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

describe('issue 12: a malformed job hash in the stall check', () => {
  it('fails the malformed job with CORRUPT_JOB and recovers the others in the same check', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      work: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const k = queueKeys('jobwire', q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const ran: number[] = [];
    const errors: Error[] = [];
    try {
      // A well-formed job, moved by hand into active with a lapsed lease.
      const good = await queue.enqueue('work', { n: 1 });
      await raw.zrem(k.wait('work'), good.id);
      await raw.hset(k.job(good.id), 's', 'a', 'tk', 'gone:1');
      await raw.zadd(k.active, 2, good.id);
      await raw.hincrby(k.counts, 'work|w', -1);
      await raw.hincrby(k.counts, 'work|a', 1);
      // A legacy hash: no priority, no options, a stall count that is not a
      // number. Its lease lapsed first, so the check meets it first.
      await raw.hset(k.job('legacy'), 'n', 'work', 's', 'a', 'tk', 'old:1');
      await raw.hset(k.job('legacy'), 'sc', 'x');
      await raw.zadd(k.active, 1, 'legacy');
      await raw.hincrby(k.counts, 'work|a', 1);

      const worker = createWorker(
        reg,
        {
          work: (j) => {
            ran.push(j.data.n);
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      worker.on('error', (e) => errors.push(e));
      try {
        await waitFor(() => ran.length === 1, 5000, 'the good job to run');
        await waitFor(
          async () => (await raw.hget(k.job('legacy'), 's')) === 'f',
          5000,
          'the legacy job to fail',
        );
        await sleep(fastWorkerSettings.stallCheckIntervalMs * 2);
      } finally {
        await worker.close();
      }
      expect(errors).toEqual([]);
      expect(ran).toEqual([1]);
      const legacy = await queue.getJob('legacy', { queue: q });
      expect(legacy?.state).toBe('failed');
      expect(legacy?.errors.at(-1)?.code).toBe('CORRUPT_JOB');
      expect(await raw.zscore(k.failed, 'legacy')).not.toBe(null);
      expect(await raw.zcard(k.active)).toBe(0);
      const counts = await queue.getCounts({ queue: q });
      expect(counts).toMatchObject({ active: 0, failed: 1, completed: 1 });
    } finally {
      raw.disconnect();
      await queue.close();
    }
  });
});
