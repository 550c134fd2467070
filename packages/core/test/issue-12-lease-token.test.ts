/**
 * Issue 12, defect 12: a lease token was `<worker id>:<deliveries>`, and the
 * delivery count restarts when a job id is created again. A stale run of a
 * re-created id then held the new run's token (its late completion was
 * accepted for the new job), and, with running jobs keyed by id, the stale
 * run's cleanup removed the newer run from the worker's map, so the newer
 * run was no longer renewed.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

describe('issue 12: lease tokens are unique per lease', () => {
  it('a stale run of a re-created job id neither completes the new job nor untracks its run', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      work: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ n: z.number() }),
      }),
    });
    const k = queueKeys('jobwire', q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const gates = new Map<number, () => void>();
    const tokens = new Map<number, string | null>();
    const lost: string[] = [];
    const worker = createWorker(
      reg,
      {
        work: async (j) => {
          tokens.set(j.data.n, await raw.hget(k.job(j.id), 'tk'));
          await new Promise<void>((resolve) => gates.set(j.data.n, resolve));
          return { n: j.data.n };
        },
      },
      {
        connection: redis.url,
        ...fastWorkerSettings,
        // Long enough that no renewal runs while the test rebuilds the job.
        leaseMs: 10_000,
        concurrency: 2,
      },
    );
    worker.on('leaseLost', (e) => lost.push(`${e.id}:${e.during}`));
    try {
      await queue.enqueue('work', { n: 1 }, { jobId: 'x' });
      await waitFor(() => gates.has(1), 5000, 'run 1 to start');
      // Run 1's lease ends elsewhere: another worker took the job over after
      // a stall and completed it with keep 0 (its hash deleted), and the
      // producer then created job id x again.
      await raw.zrem(k.active, 'x');
      await raw.del(k.job('x'), k.payload('x'));
      await raw.hincrby(k.counts, 'work|a', -1);
      const again = await queue.enqueue('work', { n: 2 }, { jobId: 'x' });
      await waitFor(() => gates.has(2), 5000, 'run 2 to start');
      expect(tokens.get(2)).not.toBe(tokens.get(1));

      // The stale run ends first: refused, and run 2 stays tracked.
      gates.get(1)!();
      await waitFor(() => lost.length > 0, 5000, 'run 1 to be refused');
      await sleep(100);
      expect(worker.running).toBe(1);
      gates.get(2)!();
      expect(await again.finished({ timeoutMs: 5000 })).toEqual({ n: 2 });
      expect(lost).toEqual(['x:completion']);
    } finally {
      for (const open of gates.values()) open();
      await worker.close();
      raw.disconnect();
      await queue.close();
    }
  });
});
