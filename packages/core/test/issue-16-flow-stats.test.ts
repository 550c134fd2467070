/**
 * Issue 16, observable: getFlowStats reads what waits on a limit, per type
 * and per key, from the flow layout. The state is written straight into
 * Redis (helpers/flow-layout.ts), so these tests hold the reader to the
 * layout whatever the runtime does.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { FLOW_KEY_SAMPLE } from '../src/ops/flow-stats.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { seedFlowType, tenantSeed } from './helpers/flow-layout.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();
let raw: Redis;

beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

function queueFor(name: string) {
  const registry = defineJobs({
    send: job({ queue: name, payload: z.object({ n: z.number() }) }),
  });
  return createQueue(registry, { connection: redis.url });
}

async function withQueue(
  fn: (q: ReturnType<typeof queueFor>, name: string) => Promise<void>,
) {
  const name = uniqueQueue('flow');
  const q = queueFor(name);
  try {
    await fn(q, name);
  } finally {
    await q.close();
  }
}

describe('getFlowStats (issue 16)', () => {
  it('lists per key the waiting and active jobs and what each waits on', async () => {
    await withQueue(async (q, name) => {
      await seedFlowType(raw, name, tenantSeed);
      const stats = await q.getFlowStats({ queue: name });
      expect(Object.keys(stats)).toEqual(['send']);
      const send = stats.send!;
      expect(send).toMatchObject({
        queue: name,
        rules: {
          rateLimit: { limit: 5, perMs: 1000, keyed: true },
          concurrency: { limit: 2 },
        },
        throttled: 12,
        debounced: 4,
        keyCounts: { total: 3, concurrency: 1, rate: 1, turn: 1, exact: true },
        throttledKeys: [
          { key: 'acme', dropped: 9 },
          { key: 'globex', dropped: 3 },
        ],
      });
      // A keyed rate limit has no type-wide window.
      expect(send.rate).toBeUndefined();
      // Most waiting first; acme's waiting sums both version lanes.
      expect(send.keys.map((k) => [k.key, k.waiting, k.active, k.why])).toEqual(
        [
          ['acme', 40, 2, 'concurrency'],
          ['globex', 7, 1, 'rate'],
          ['initech', 3, 0, 'turn'],
        ],
      );
      const globex = send.keys[1]!;
      expect(globex.freesInMs).toBeGreaterThan(50_000);
      expect(globex.freesInMs).toBeLessThanOrEqual(60_000);
      // Per-key window: only the starts within the last second.
      expect(globex.rateUsed).toBe(5);
      expect(send.keys[2]!.rateUsed).toBe(1);
      expect(send.keys[0]!.freesInMs).toBeUndefined();
    });
  });

  it('reports a type-wide rate window: the starts within perMs, capped, and when it frees', async () => {
    await withQueue(async (q, name) => {
      await seedFlowType(raw, name, {
        type: 'send',
        rules: { rateLimit: { limit: 3, perMs: 2000, keyed: false } },
        // 3 within the window (the oldest 1500 ms ago), 1 long gone.
        typeStarts: [100, 900, 1500, 2500],
      });
      const { send } = await q.getFlowStats();
      expect(send?.rate).toMatchObject({
        used: 3,
        limit: 3,
        perMs: 2000,
        capped: true,
      });
      // The oldest start leaves the window 500 ms after the seed.
      expect(send!.rate!.freesInMs).toBeLessThanOrEqual(500);
      expect(send!.rate!.freesInMs).toBeGreaterThanOrEqual(0);
      expect(send!.keys).toEqual([]);

      await raw.zremrangebyrank(
        `${queueKeys('jobwire', name).base}rl:send`,
        -1,
        -1,
      );
      const after = (await q.getFlowStats()).send!.rate!;
      expect(after).toMatchObject({ used: 2, capped: false });
      expect(after.freesInMs).toBeUndefined();
    });
  });

  it('tolerates missing and malformed state, and lists types known only from their counters', async () => {
    await withQueue(async (q, name) => {
      expect(await q.getFlowStats({ queue: name })).toEqual({});
      const base = queueKeys('jobwire', name).base;
      // A rule written by some other version, and a parked hash of the
      // wrong type: neither throws.
      await seedFlowType(raw, name, { type: 'send', rules: 'not json' });
      await raw.set(`${base}gp:send`, 'oops');
      await seedFlowType(raw, name, { type: 'digest', throttled: 2 });
      await raw.hset(`${base}flow-stats`, 'quiet|debounced', '0');
      const stats = await q.getFlowStats({ queue: name });
      expect(Object.keys(stats).sort()).toEqual(['digest', 'send']);
      expect(stats.send).toMatchObject({
        rules: {},
        throttled: 0,
        debounced: 0,
        keys: [],
        keyCounts: { total: 0, exact: true },
      });
      expect(stats.digest).toMatchObject({ rules: {}, throttled: 2 });
      // `type` narrows to one type.
      expect(Object.keys(await q.getFlowStats({ type: 'digest' }))).toEqual([
        'digest',
      ]);
    });
  });

  it('drops keys with no waiting job (a ring entry the lease has not met yet)', async () => {
    await withQueue(async (q, name) => {
      await seedFlowType(raw, name, tenantSeed);
      await raw.zadd(`${queueKeys('jobwire', name).base}gr:send`, 99, 'ghost');
      const send = (await q.getFlowStats()).send!;
      expect(send.keys.map((k) => k.key)).not.toContain('ghost');
      expect(send.keyCounts.total).toBe(3);
    });
  });

  it('bounds the work: past the sample the counts are upper bounds, and only the top keys are listed', async () => {
    await withQueue(async (q, name) => {
      const keys: Record<string, { waiting: number; state: 'turn' }> = {};
      const n = FLOW_KEY_SAMPLE + 200;
      for (let i = 0; i < n; i++)
        keys[`k${String(i).padStart(5, '0')}`] = { waiting: 1, state: 'turn' };
      // One deep key at the back of the ring.
      keys.deep = { waiting: 5, state: 'turn' };
      await seedFlowType(raw, name, {
        type: 'send',
        rules: { concurrency: { limit: 1 } },
        keys,
      });
      const send = (await q.getFlowStats()).send!;
      expect(send.keyCounts).toMatchObject({ total: n + 1, exact: false });
      expect(send.keys).toHaveLength(50);
      expect(send.keys[0]!.waiting).toBe(1);
      const few = (await q.getFlowStats({ keys: 3 })).send!;
      expect(few.keys.map((k) => k.key)).toEqual([
        'k00000',
        'k00001',
        'k00002',
      ]);
    });
  });
});
