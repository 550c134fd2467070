import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

// Issue 12, defect 3: a repeat chain must not die silently. The next
// occurrence is scheduled by the script that takes, expires or removes the
// current one, and a worker's repair pass recreates a missing one.

const redis = useRedis();

function registryFor(queue: string) {
  return defineJobs({
    tick: job({ queue, payload: z.object({ label: z.string() }) }),
  });
}

/** Ids of the pending (waiting or delayed) occurrences of repeat `key`. */
async function pendingIds(
  raw: Redis,
  queue: string,
  key: string,
): Promise<string[]> {
  const base = `jobwire:{${queue}}:`;
  return [
    ...(await raw.zrange(`${base}delayed`, 0, '-1')),
    ...(await raw.zrange(`${base}w:tick`, 0, '-1')),
  ].filter((id) => id.startsWith(`rpt.${key}.`));
}

describe('issue 12: a repeat chain survives', () => {
  it('an occurrence that expires while the queue is paused: runs resume after resume', async () => {
    const q = uniqueQueue('chn');
    const reg = registryFor(q);
    const key = 'exp';
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const runs: string[] = [];
    const worker = createWorker(
      reg,
      { tick: (j) => void runs.push(j.id) },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await queue.repeat(
        'tick',
        { label: 'x' },
        { key, everyMs: 1000 },
        { expireAfterMs: 300 },
      );
      await waitFor(() => runs.length >= 1, 5000, 'a first run');
      await queue.pause();
      await sleep(2000);
      const before = runs.length;
      await queue.resume();
      // The pending occurrence expired during the pause; the old code lost
      // the chain there (zero runs after resume, while getRepeats listed it).
      await waitFor(() => runs.length >= before + 2, 5000, 'runs after resume');
      expect((await queue.getCounts()).expired).toBeGreaterThanOrEqual(1);
      expect(await pendingIds(raw, q, key)).toHaveLength(1);
      expect(await queue.getRepeats()).toHaveLength(1);
    } finally {
      await queue.removeRepeat('tick', key);
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });

  it('removing or draining the pending occurrence skips a slot, not the schedule', async () => {
    const q = uniqueQueue('chn');
    const reg = registryFor(q);
    const key = 'rm';
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      // No worker: nothing but the removal itself may schedule the next one.
      const first = await queue.repeat(
        'tick',
        { label: 'x' },
        { key, everyMs: 60_000 },
      );
      expect(await pendingIds(raw, q, key)).toEqual([first.id]);

      await queue.remove(first.id);
      const afterRemove = await pendingIds(raw, q, key);
      expect(afterRemove).toHaveLength(1);
      expect(afterRemove[0]).not.toBe(first.id);

      await queue.promote(afterRemove[0]!);
      expect(await queue.drain({ delayed: true })).toBe(1);
      const afterDrain = await pendingIds(raw, q, key);
      expect(afterDrain).toHaveLength(1);
      expect(afterDrain[0]).not.toBe(afterRemove[0]);
      // The replacement is delayed, and a drain with delayed jobs leaves
      // the schedule's pending occurrence alone: the drain ends.
      expect(await queue.drain({ delayed: true })).toBe(0);
      expect(await pendingIds(raw, q, key)).toEqual(afterDrain);
      const counts = await queue.getCounts();
      expect(counts.delayed + counts.waiting).toBe(1);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });

  it("a worker's repair pass recreates a pending occurrence lost outside any script", async () => {
    const q = uniqueQueue('chn');
    const reg = registryFor(q);
    const key = 'lost';
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const runs: string[] = [];
    try {
      const first = await queue.repeat(
        'tick',
        { label: 'x' },
        { key, everyMs: 500 },
      );
      // The pending occurrence vanishes the way a failed or partial write
      // would leave it: the schedule is listed, nothing will run.
      const base = `jobwire:{${q}}:`;
      await raw.zrem(`${base}delayed`, first.id);
      await raw.del(`${base}j:${first.id}`, `${base}p:${first.id}`);
      await raw.hincrby(`${base}counts`, 'tick|d', -1);
      expect(await pendingIds(raw, q, key)).toEqual([]);

      const worker = createWorker(
        reg,
        { tick: (j) => void runs.push(j.id) },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await waitFor(() => runs.length >= 2, 5000, 'runs after the repair');
        expect(await pendingIds(raw, q, key)).toHaveLength(1);
      } finally {
        await worker.close();
      }
    } finally {
      await queue.removeRepeat('tick', key);
      await queue.close();
      await raw.quit();
    }
  });

  it('a cron schedule whose stored slots ran out is refilled by the repair pass', async () => {
    const q = uniqueQueue('chn');
    const reg = registryFor(q);
    const key = 'cron';
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const runs: string[] = [];
    try {
      await queue.repeat('tick', { label: 'c' }, { key, cron: '* * * * * *' });
      // No stored slot after the pending one: taking it cannot schedule the
      // next, so the chain goes on only through the repair pass's refill.
      await raw.hset(`jobwire:{${q}}:repeats`, `${key}:slots`, '');
      const worker = createWorker(
        reg,
        { tick: (j) => void runs.push(j.id) },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await waitFor(() => runs.length >= 3, 6000, 'three cron runs');
        const slots = runs.map((id) => Number(/\.(\d+)$/.exec(id)![1]));
        expect(new Set(slots).size).toBe(slots.length);
        for (const s of slots) expect(s % 1000).toBe(0);
        expect(await pendingIds(raw, q, key)).toHaveLength(1);
      } finally {
        await worker.close();
      }
    } finally {
      await queue.removeRepeat('tick', key);
      await queue.close();
      await raw.quit();
    }
  });
});
