/**
 * Found by an outside review of scheduling: declaring a repeat again with
 * the very same spec, as every process does at start-up (the docs' own
 * example), removed the pending occurrence and scheduled the first slot
 * after now. When that occurrence was overdue (no worker free, workers
 * being deployed), its slot was skipped: for a daily cron, a whole day.
 * Now an identical declaration keeps the pending occurrence, due or not;
 * a changed one still replaces it.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

function registry(q: string) {
  return defineJobs({
    tick: job({ queue: q, payload: z.object({ n: z.string() }) }),
  });
}

describe('declaring a repeat again', () => {
  it('with the same spec keeps an overdue occurrence; a changed spec replaces it', async () => {
    const q = uniqueQueue('redeclare');
    const queue = createQueue(registry(q), { connection: redis.url });
    try {
      const spec = { key: 'daily', everyMs: 400 };
      const first = await queue.repeat('tick', { n: 'daily' }, spec);
      const due = (await queue.getJob(first.id))!.dueAt!;
      // No worker: the slot passes and the occurrence is overdue.
      await sleep(Math.max(0, due - Date.now()) + 500);
      expect((await queue.getJob(first.id))?.state).toBe('delayed');

      const again = await queue.repeat('tick', { n: 'daily' }, spec);
      expect(again.id).toBe(first.id);
      expect((await queue.getJob(first.id))?.state).toBe('delayed');
      const events = await raw.xrange(`jobwire:{${q}}:events`, '-', '+');
      expect(events.filter(([, f]) => f.includes('removed'))).toEqual([]);
      expect(await queue.getCounts()).toMatchObject({ delayed: 1 });

      // A changed payload is a new spec: the old occurrence goes.
      const changed = await queue.repeat('tick', { n: 'nightly' }, spec);
      expect(changed.id).not.toBe(first.id);
      expect(await queue.getJob(first.id)).toBeUndefined();
      expect(await queue.getCounts()).toMatchObject({ delayed: 1 });
    } finally {
      await queue.close();
    }
  });
});
