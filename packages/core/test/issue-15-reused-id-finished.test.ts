/**
 * finished() of a job whose custom id an earlier job used: when the new job
 * is drained (removed without an event of its own), finished() reports the
 * earlier job's outcome instead of JOB_NOT_FOUND.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();

describe('finished() of a reused jobId', () => {
  it('a drained job does not report the outcome of the earlier job of its id', async () => {
    const q = uniqueQueue('reuse');
    const jobs = defineJobs({
      t: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ n: z.number() }),
      }),
    });
    const queue = createQueue(jobs, { connection: redis.url });
    try {
      const worker = createWorker(
        jobs,
        { t: (j) => ({ n: j.data.n }) },
        {
          connection: redis.url,
          ...fastWorkerSettings,
        },
      );
      const first = await queue.enqueue(
        't',
        { n: 1 },
        { jobId: 'same', retention: { completed: false } },
      );
      expect(await first.finished()).toEqual({ n: 1 });
      await worker.close();
      const second = await queue.enqueue('t', { n: 2 }, { jobId: 'same' });
      expect(second.duplicate).toBe(false);
      const outcome = second.finished().then(
        (v) => ({ ok: true, v }),
        (e: { code?: string }) => ({ ok: false, code: e.code }),
      );
      await queue.drain();
      expect(await outcome).toEqual({ ok: false, code: 'JOB_NOT_FOUND' });
      // waitForResult, from a process that did not enqueue it, the same.
      const later = await queue.waitForResult('t', 'same').then(
        (v) => ({ ok: true, v }),
        (e: { code?: string }) => ({ ok: false, code: e.code }),
      );
      expect(later).toEqual({ ok: false, code: 'JOB_NOT_FOUND' });
    } finally {
      await queue.close();
    }
  }, 20_000);
});
