/**
 * Issue 12, defect 4: a graceful close() stopped renewing leases while it
 * waited for running jobs. With a 1 s lease and a 5 s deadline, another
 * worker's stall check took over a running job, and the closing worker then
 * lost its lease at completion: a duplicate run on a rolling deploy.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

describe('issue 12: close() keeps renewing leases', () => {
  it('a job that outlives its lease while the worker closes runs once, and its completion holds', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      work: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ by: z.string() }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const runs: string[] = [];
    const lost: string[] = [];
    const handler = (by: string) => async () => {
      runs.push(by);
      // Three leases long: only renewals keep it.
      await sleep(fastWorkerSettings.leaseMs * 3);
      return { by };
    };
    const a = createWorker(
      reg,
      { work: handler('a') },
      { connection: redis.url, ...fastWorkerSettings },
    );
    a.on('leaseLost', (e) => lost.push(e.id));
    let b: ReturnType<typeof createWorker<typeof reg.jobs>> | undefined;
    try {
      const h = await queue.enqueue('work', { n: 1 });
      await waitFor(() => runs.length === 1, 5000, 'a to start the job');
      // The other worker of the deploy: idle, running its stall check.
      b = createWorker(
        reg,
        { work: handler('b') },
        { connection: redis.url, ...fastWorkerSettings },
      );
      await a.close({ deadlineMs: 5000 });
      expect(await h.finished({ timeoutMs: 5000 })).toEqual({ by: 'a' });
      // Time for a stray re-delivery to show.
      await sleep(fastWorkerSettings.leaseMs + 500);
      expect(runs).toEqual(['a']);
      expect(lost).toEqual([]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('completed');
      expect(info?.stalls).toBe(0);
    } finally {
      await a.close();
      await b?.close();
      await queue.close();
    }
  });
});
