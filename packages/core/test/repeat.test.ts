import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  ValidationError,
} from '../src/index.ts';
import type { Worker } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { scanKeys } from './helpers/redis-keys.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function registryFor(queue: string) {
  return defineJobs({
    tick: job({ queue, payload: z.object({ label: z.string() }) }),
  });
}

interface Run {
  id: string;
  at: number;
  label: string;
}

function slotsOf(runs: Run[], key: string): number[] {
  const re = new RegExp(`^rpt\\.${key}\\.(\\d+)$`);
  return runs.map((r) => {
    const m = re.exec(r.id);
    expect(m, `occurrence id ${r.id}`).not.toBeNull();
    return Number(m![1]);
  });
}

function expectUniqueConsecutive(slots: number[], step: number): void {
  expect(new Set(slots).size).toBe(slots.length);
  const sorted = [...slots].sort((x, y) => x - y);
  for (let i = 1; i < sorted.length; i++) {
    expect(sorted[i]! - sorted[i - 1]!, `slots ${sorted.join(',')}`).toBe(step);
  }
  for (const s of sorted) expect(s % step).toBe(0);
}

describe('repeat', () => {
  it('everyMs: two producers and two workers run each 500 ms slot exactly once', async () => {
    const q = uniqueQueue('rpt');
    const reg = registryFor(q);
    const key = 'every500';
    const runs: Run[] = [];
    const q1 = createQueue(reg, { connection: redis.url });
    const q2 = createQueue(reg, { connection: redis.url });
    const workers: Worker<typeof reg.jobs>[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        workers.push(
          createWorker(
            reg,
            {
              tick: (j) => {
                runs.push({ id: j.id, at: Date.now(), label: j.data.label });
              },
            },
            { connection: redis.url, ...fastWorkerSettings },
          ),
        );
      }
      const [h1, h2] = await Promise.all([
        q1.repeat('tick', { label: 'p1' }, { key, everyMs: 500 }),
        q2.repeat('tick', { label: 'p2' }, { key, everyMs: 500 }),
      ]);
      expect(h1.id).toMatch(new RegExp(`^rpt\\.${key}\\.\\d+$`));
      expect(h2.id).toMatch(new RegExp(`^rpt\\.${key}\\.\\d+$`));
      await sleep(2600);
      expect(await q1.removeRepeat('tick', key)).toBe(true);
      await sleep(100);
      const snapshot = [...runs];
      const slots = slotsOf(snapshot, key);
      expect(snapshot.length).toBeGreaterThanOrEqual(4);
      expect(snapshot.length).toBeLessThanOrEqual(7);
      expectUniqueConsecutive(slots, 500);
      // No occurrence ran before its slot (same host clock; small slack).
      snapshot.forEach((r, i) =>
        expect(r.at).toBeGreaterThanOrEqual(slots[i]! - 50),
      );
      // Every run is recorded once in Redis as completed.
      const counts = await q1.getCounts();
      expect(counts.completed).toBe(snapshot.length);
      expect(counts.failed).toBe(0);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await q1.close();
      await q2.close();
    }
  });

  it('the first occurrence runs at its slot even while workers are blocked (not after blockTimeoutMs)', async () => {
    const q = uniqueQueue('rpt');
    const reg = registryFor(q);
    const key = 'ontime';
    const runs: Run[] = [];
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      {
        tick: (j) => {
          runs.push({ id: j.id, at: Date.now(), label: j.data.label });
        },
      },
      { connection: redis.url, ...fastWorkerSettings, blockTimeoutMs: 3000 },
    );
    try {
      // Let the idle worker settle into its blocking wait.
      await sleep(300);
      await queue.repeat('tick', { label: 't' }, { key, everyMs: 500 });
      await waitFor(() => runs.length >= 1, 5000, 'first occurrence');
      await queue.removeRepeat('tick', key);
      const [slot] = slotsOf(runs.slice(0, 1), key);
      // Well under the 3000 ms block timeout: the new delayed job must wake
      // (or re-time) the blocked worker.
      expect(runs[0]!.at - slot!).toBeLessThan(1000);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('a delayed job enqueued while workers are blocked runs when due, not after blockTimeoutMs', async () => {
    const q = uniqueQueue('dly');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    let ranAt = 0;
    const worker = createWorker(
      reg,
      {
        tick: () => {
          ranAt = Date.now();
        },
      },
      { connection: redis.url, ...fastWorkerSettings, blockTimeoutMs: 3000 },
    );
    try {
      await sleep(300);
      const t0 = Date.now();
      await queue.enqueue('tick', { label: 'd' }, { delayMs: 200 });
      await waitFor(() => ranAt > 0, 5000, 'delayed job to run');
      expect(ranAt - t0).toBeGreaterThanOrEqual(150);
      expect(ranAt - t0).toBeLessThan(1200);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('a retry with a short backoff runs when due, not after blockTimeoutMs', async () => {
    const q = uniqueQueue('bko');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    const attempts: number[] = [];
    const worker = createWorker(
      reg,
      {
        tick: async (j) => {
          attempts.push(Date.now());
          if (j.attempt === 1) {
            // Long enough for the fetch loop to be in its blocking wait.
            await sleep(300);
            throw new Error('first attempt fails');
          }
        },
      },
      {
        connection: redis.url,
        ...fastWorkerSettings,
        concurrency: 2,
        blockTimeoutMs: 3000,
      },
    );
    try {
      const h = await queue.enqueue(
        'tick',
        { label: 'r' },
        { attempts: 2, backoff: { type: 'fixed', delayMs: 200 } },
      );
      await h.finished({ timeoutMs: 8000 });
      expect(attempts).toHaveLength(2);
      // Failed at attempts[0] + 300, due 200 ms later.
      const gap = attempts[1]! - attempts[0]!;
      expect(gap).toBeGreaterThanOrEqual(450);
      expect(gap).toBeLessThan(1500);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('cron with seconds runs about once per second, one run per slot', async () => {
    const q = uniqueQueue('cron');
    const reg = registryFor(q);
    const key = 'everysec';
    const runs: Run[] = [];
    const queue = createQueue(reg, { connection: redis.url });
    const worker = createWorker(
      reg,
      {
        tick: (j) => {
          runs.push({ id: j.id, at: Date.now(), label: j.data.label });
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await queue.repeat(
        'tick',
        { label: 'c' },
        { key, cron: '*/1 * * * * *' },
      );
      await sleep(3300);
      await queue.removeRepeat('tick', key);
      const snapshot = [...runs];
      expect(snapshot.length).toBeGreaterThanOrEqual(2);
      expect(snapshot.length).toBeLessThanOrEqual(4);
      expectUniqueConsecutive(slotsOf(snapshot, key), 1000);
      expect(snapshot.every((r) => r.label === 'c')).toBe(true);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('getRepeats lists specs; removeRepeat stops occurrences and removes the pending one', async () => {
    const q = uniqueQueue('rpt');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const runs: Run[] = [];
    const worker = createWorker(
      reg,
      {
        tick: (j) => {
          runs.push({ id: j.id, at: Date.now(), label: j.data.label });
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await queue.repeat('tick', { label: 'x' }, { key: 'fast', everyMs: 300 });
      await queue.repeat(
        'tick',
        { label: 'y' },
        { key: 'hourly', cron: '0 * * * *', tz: 'Europe/Paris' },
      );
      const specs = await queue.getRepeats();
      expect(specs).toHaveLength(2);
      expect(specs[0]).toMatchObject({
        key: 'fast',
        name: 'tick',
        everyMs: 300,
      });
      expect(JSON.parse(specs[0]!.data)).toEqual({ label: 'x' });
      expect(specs[1]).toMatchObject({
        key: 'hourly',
        name: 'tick',
        cron: '0 * * * *',
        tz: 'Europe/Paris',
      });
      // The hourly one is pending as a delayed job.
      expect((await queue.getCounts()).delayed).toBeGreaterThanOrEqual(1);

      await waitFor(() => runs.length >= 2, 5000, 'two runs of fast');
      expect(await queue.removeRepeat('tick', 'fast')).toBe(true);
      expect(await queue.removeRepeat('tick', 'hourly')).toBe(true);
      expect(await queue.removeRepeat('tick', 'hourly')).toBe(false);
      expect(await queue.getRepeats()).toEqual([]);
      await sleep(100);
      const after = runs.length;
      const counts = await queue.getCounts();
      expect(counts.delayed).toBe(0);
      expect(counts.waiting).toBe(0);
      expect(await raw.zcard(`jobwire:{${q}}:delayed`)).toBe(0);
      await sleep(1000);
      expect(runs.length).toBe(after);
      expect((await queue.getCounts()).delayed).toBe(0);
    } finally {
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });

  it('rejects an invalid cron or interval with a ValidationError naming the field, writing nothing', async () => {
    const q = uniqueQueue('rpt');
    const reg = registryFor(q);
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      const bad = await queue
        .repeat('tick', { label: 'x' }, { key: 'k1', cron: 'not a cron' })
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(ValidationError);
      expect((bad as ValidationError).code).toBe(ErrorCode.VALIDATION_FAILED);
      expect((bad as ValidationError).issues.map((i) => i.path)).toEqual([
        'cron',
      ]);

      for (const everyMs of [0, -500, Number.NaN]) {
        const e = await queue
          .repeat('tick', { label: 'x' }, { key: 'k2', everyMs })
          .catch((err: unknown) => err);
        expect(e).toBeInstanceOf(ValidationError);
        expect((e as ValidationError).issues.map((i) => i.path)).toEqual([
          'everyMs',
        ]);
      }
      const badKey = await queue
        .repeat('tick', { label: 'x' }, { key: 'has space', everyMs: 500 })
        .catch((e: unknown) => e);
      expect(badKey).toBeInstanceOf(ValidationError);
      expect((badKey as ValidationError).issues.map((i) => i.path)).toEqual([
        'key',
      ]);

      expect(await scanKeys(raw, `jobwire:{${q}}:*`)).toEqual([]);
      expect(await queue.getRepeats()).toEqual([]);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });
});

describe('repeat slots and clock skew', () => {
  it('computes slots from the Redis clock, not a skewed client clock', async () => {
    const queue = uniqueQueue();
    const reg = registryFor(queue);
    const q = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const runs: Run[] = [];
    let worker: Worker<typeof reg.jobs> | undefined;
    // Only Date is faked: this host's clock runs 300 s ahead of Redis.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 300_000 });
    try {
      await q.repeat('tick', { label: 'skew' }, { key: 'skew', everyMs: 500 });
      worker = createWorker(
        reg,
        {
          tick: (j) => void runs.push({ id: j.id, at: 0, label: j.data.label }),
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      await waitFor(() => runs.length >= 3, 5000, 'three occurrences');
      const [seconds] = await raw.time();
      const redisMs = Number(seconds) * 1000;
      const slots = slotsOf(runs, 'skew');
      expectUniqueConsecutive(slots, 500);
      // Without Redis time the slots would sit 300 s in the future and
      // never run; with it they are within a couple of seconds of Redis.
      for (const s of slots) expect(Math.abs(s - redisMs)).toBeLessThan(3000);
    } finally {
      vi.useRealTimers();
      await worker?.close();
      await q.close();
      await raw.quit();
    }
  });
});
