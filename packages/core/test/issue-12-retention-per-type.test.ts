/**
 * Issue 12, defect 1: one job type's keep rule trimmed the queue-wide
 * completed and failed sets, so it removed other types' jobs too, and with
 * them their `jobId` dedup. A `charge` that keeps every completed job must
 * stay deduplicated however many `ping`s (keep 10) complete beside it.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  PermanentError,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function registry(queue: string) {
  return defineJobs({
    charge: job({
      queue,
      payload: z.object({ order: z.string() }),
      retention: { completed: true, failed: true },
    }),
    ping: job({
      queue,
      payload: z.object({ n: z.number().int() }),
      retention: { completed: { count: 10 }, failed: { count: 10 } },
    }),
  });
}

describe('issue 12: retention is per job type', () => {
  it("a type's keep rule never removes another type's completed or failed jobs, so their dedup lasts", async () => {
    const q = uniqueQueue('i12r');
    const reg = registry(q);
    const base = `jobwire:{${q}}:`;
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const charged: string[] = [];
    let pings = 0;
    const worker = createWorker(
      reg,
      {
        charge: (j) => {
          charged.push(j.data.order);
          if (j.data.order === 'bad') throw new PermanentError('declined');
        },
        ping: (j) => {
          pings++;
          // Every other ping fails, so both finished sets fill up.
          if (j.data.n % 2 === 1) throw new PermanentError(`ping ${j.data.n}`);
        },
      },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 4 },
    );
    try {
      const first = await queue.enqueue(
        'charge',
        { order: 'order-42' },
        { jobId: 'order-42' },
      );
      await first.finished({ timeoutMs: 5000 });
      const declined = await queue.enqueue(
        'charge',
        { order: 'bad' },
        { jobId: 'order-bad' },
      );
      await expect(declined.finished({ timeoutMs: 5000 })).rejects.toThrow(
        'declined',
      );

      await queue.enqueueBulk(
        Array.from({ length: 100 }, (_, n) => ({
          name: 'ping' as const,
          payload: { n },
        })),
      );
      await waitFor(
        async () => {
          const c = await queue.getCounts();
          return pings === 100 && c.active + c.waiting === 0;
        },
        10_000,
        '100 pings settled',
      );

      // Ping keeps its own 10 of each; the charges are untouched.
      const counts = await queue.getCounts();
      expect(counts.byType.ping?.completed).toBe(10);
      expect(counts.byType.ping?.failed).toBe(10);
      expect(counts.byType.charge?.completed).toBe(1);
      expect(counts.byType.charge?.failed).toBe(1);
      expect(await raw.zscore(`${base}completed`, 'order-42')).not.toBeNull();
      expect(await raw.zscore(`${base}failed`, 'order-bad')).not.toBeNull();
      expect(await raw.zcard(`${base}completed`)).toBe(11);
      expect(await raw.zcard(`${base}failed`)).toBe(11);
      expect((await queue.getJob('order-42'))?.state).toBe('completed');
      expect((await queue.getJobs('completed', { name: 'ping' })).length).toBe(
        10,
      );

      // Re-enqueueing the charge is a duplicate: it does not run again.
      const again = await queue.enqueue(
        'charge',
        { order: 'order-42' },
        { jobId: 'order-42' },
      );
      expect(again.duplicate).toBe(true);
      const againBad = await queue.enqueue(
        'charge',
        { order: 'bad' },
        { jobId: 'order-bad' },
      );
      expect(againBad.duplicate).toBe(true);
      await queue.enqueue('ping', { n: 1000 });
      await waitFor(() => pings === 101, 5000, 'a last ping');
      expect(charged).toEqual(['order-42', 'bad']);

      // Removing and cleaning keep the per-type index in step: a removed
      // charge is gone from retention's view too.
      await queue.remove('order-42');
      expect(await raw.zcard(`${base}c:charge`)).toBe(0);
      const cleaned = await queue.clean('failed', 0);
      expect(cleaned).toHaveLength(11);
      expect(await raw.zcard(`${base}f:charge`)).toBe(0);
      expect(await raw.zcard(`${base}f:ping`)).toBe(0);
    } finally {
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });
});
