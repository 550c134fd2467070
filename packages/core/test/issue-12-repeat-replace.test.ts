import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

// Issue 12, defect 2: calling repeat() again with the same key must replace
// the schedule: one pending occurrence, carrying the latest spec and
// payload, and no chain of the old spec firing beside the new one.

const redis = useRedis();

function registryFor(queue: string) {
  return defineJobs({
    tick: job({ queue, payload: z.object({ label: z.string() }) }),
  });
}

interface Run {
  id: string;
  label: string;
  /** When the handler started, by this host's clock. */
  startedAt: number;
}

/** The pending (waiting or delayed) occurrences of repeat `key`. */
async function pendingOccurrences(
  raw: Redis,
  queue: string,
  key: string,
): Promise<{ id: string; label: string }[]> {
  const base = `jobwire:{${queue}}:`;
  const delayed = await raw.zrange(`${base}delayed`, 0, '-1');
  const waiting = await raw.zrange(`${base}w:tick`, 0, '-1');
  const ids = [...delayed, ...waiting].filter((id) =>
    id.startsWith(`rpt.${key}.`),
  );
  return Promise.all(
    ids.map(async (id) => {
      const data = (await raw.get(`${base}p:${id}`)) ?? '{}';
      return { id, label: (JSON.parse(data) as { label: string }).label };
    }),
  );
}

const slotOf = (id: string) => Number(/\.(\d+)$/.exec(id)![1]);

describe('issue 12: repeat() replaces its schedule', () => {
  it('a new payload and interval replace the old ones: one pending occurrence, one chain', async () => {
    const q = uniqueQueue('rpl');
    const reg = registryFor(q);
    const key = 'beat';
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const runs: Run[] = [];
    const worker = createWorker(
      reg,
      {
        tick: (j) => {
          runs.push({ id: j.id, label: j.data.label, startedAt: Date.now() });
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await queue.repeat('tick', { label: 'old' }, { key, everyMs: 700 });
      await waitFor(() => runs.length >= 2, 5000, 'two runs of the old spec');
      await queue.repeat('tick', { label: 'new' }, { key, everyMs: 300 });
      const replacedAt = Date.now();
      // Right after the replace: exactly one pending occurrence, new payload,
      // on the new interval's grid.
      const now = await pendingOccurrences(raw, q, key);
      expect(now).toHaveLength(1);
      expect(now[0]!.label).toBe('new');
      expect(slotOf(now[0]!.id) % 300).toBe(0);

      // Sample while both chains would fire on the old code.
      for (let i = 0; i < 8; i++) {
        await sleep(250);
        const pending = await pendingOccurrences(raw, q, key);
        expect(pending, `pending at sample ${i}`).toHaveLength(1);
        expect(pending[0]!.label).toBe('new');
      }
      await queue.removeRepeat('tick', key);
      const after = runs.filter((r) => r.startedAt > replacedAt + 100);
      expect(after.length).toBeGreaterThanOrEqual(4);
      // Every run after the replace carries the new payload, on the new
      // grid, one per slot: the old 700 ms chain is gone.
      expect(after.map((r) => r.label)).toEqual(after.map(() => 'new'));
      const slots = after.map((r) => slotOf(r.id)).sort((a, b) => a - b);
      expect(new Set(slots).size).toBe(slots.length);
      for (let i = 1; i < slots.length; i++)
        expect(slots[i]! - slots[i - 1]!, `slots ${slots.join(',')}`).toBe(300);
      expect(await queue.getRepeats()).toEqual([]);
    } finally {
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });

  it('a cron spec replaced by an interval stops the cron chain', async () => {
    const q = uniqueQueue('rpl');
    const reg = registryFor(q);
    const key = 'switch';
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      // No worker: the old code kept both pending occurrences side by side.
      await queue.repeat('tick', { label: 'cron' }, { key, cron: '0 * * * *' });
      await queue.repeat('tick', { label: 'every' }, { key, everyMs: 1000 });
      const pending = await pendingOccurrences(raw, q, key);
      expect(pending).toHaveLength(1);
      expect(pending[0]!.label).toBe('every');
      expect(slotOf(pending[0]!.id) % 1000).toBe(0);
      const specs = await queue.getRepeats();
      expect(specs).toHaveLength(1);
      expect(specs[0]).toMatchObject({ key, everyMs: 1000 });
      expect((await queue.getCounts()).delayed).toBe(1);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });
});
