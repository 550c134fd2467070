/**
 * Issue 15: the event follower behind `finished()` checked for a gap (the
 * stream trimmed past its cursor) with an XINFO STREAM after every read.
 * Its reply carries the stream's first and last entries whole and a dozen
 * more fields, so at a low event rate, where each read brings one or two
 * events, the check cost more than the read: at 1,000 jobs/s it doubled
 * the Node CPU per job of the `latency` bench. The check is now an XRANGE
 * of the first entry; the gap it must still catch is in
 * issue-12-finished-settles.test.ts.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

/** Calls per command since the last CONFIG RESETSTAT. */
async function callsOf(raw: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  const info = await raw.info('commandstats');
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    calls.set(m[1]!, Number(m[2]));
  return calls;
}

describe('issue 15: the event follower reads cheaply', () => {
  it('checks for a gap with one small XRANGE per read, no XINFO STREAM', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      t: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ n: z.number() }),
      }),
    });
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      { t: (j) => ({ n: j.data.n }) },
      {
        ...fastWorkerSettings,
        connection: redis.url,
      },
    );
    try {
      await waitFor(() => worker.health().ready, 10_000, 'worker ready');
      // The follower starts with the first wait.
      await (await queue.enqueue('t', { n: -1 })).finished();
      await raw.config('RESETSTAT');
      for (let n = 0; n < 30; n++) {
        const h = await queue.enqueue('t', { n });
        expect(await h.finished({ timeoutMs: 5000 })).toEqual({ n });
      }
      const calls = await callsOf(raw);
      const reads = calls.get('xread') ?? 0;
      // One read at least per job: each waited for its own outcome.
      expect(reads).toBeGreaterThanOrEqual(30);
      expect(calls.get('xinfo|stream') ?? 0).toBe(0);
      // One XRANGE per read. A read served just before INFO (a later event
      // woke it) may not have had its XRANGE run yet: at most one behind.
      const xranges = calls.get('xrange') ?? 0;
      expect(xranges).toBeLessThanOrEqual(reads);
      expect(xranges).toBeGreaterThanOrEqual(reads - 1);
    } finally {
      await worker.close();
      await queue.close();
      raw.disconnect();
    }
  });
});
