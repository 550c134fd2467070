import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { CRON_SLOTS_AHEAD, cronSlots } from '../src/producer/repeat.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

// A cron's slots are computed by the client (cron-parser) and stored 64
// ahead. A rare cron's slots are far apart, and cron-parser walks the dates
// between: 64 slots of 29 February span 256 years and took over a second,
// all of it in one turn of the event loop, holding up every other call and
// timer of the producer or worker computing them.

const redis = useRedis();
const after = Date.UTC(2026, 11, 1, 10, 30);

describe('cron slots of a rare cron', () => {
  it('lets the event loop run while it computes them, and still stores 64', async () => {
    const order: string[] = [];
    // Queued before the computation starts: a computation that never yields
    // settles first (its promise resolves in a microtask, before any
    // setImmediate callback), one that yields lets this run in between.
    setImmediate(() => order.push('other work'));
    const slots = await cronSlots({ cron: '0 0 29 2 *', tz: 'UTC' }, after);
    order.push('slots');
    expect(order).toEqual(['other work', 'slots']);
    const times = slots.split(',').map(Number);
    expect(times).toHaveLength(CRON_SLOTS_AHEAD);
    expect(new Date(times[0]!).toISOString().slice(0, 10)).toBe('2028-02-29');
    for (const t of times) {
      expect(new Date(t).getUTCMonth()).toBe(1);
      expect(new Date(t).getUTCDate()).toBe(29);
    }
  });

  it('computes the same slots for a frequent cron as before', async () => {
    const slots = (await cronSlots({ cron: '*/5 * * * *', tz: 'UTC' }, after))
      .split(',')
      .map(Number);
    expect(slots).toHaveLength(CRON_SLOTS_AHEAD);
    slots.forEach((t, i) => expect(t).toBe(after + (i + 1) * 5 * 60 * 1000));
  });

  it('queue.repeat() of a 29 February cron stores 64 slots and its next occurrence', async () => {
    const q = uniqueQueue('rare');
    const reg = defineJobs({
      leap: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      await queue.repeat('leap', { n: 1 }, { key: 'leap', cron: '0 0 29 2 *' });
      const stored = await raw.hget(`jobwire:{${q}}:repeats`, 'leap:slots');
      expect(stored!.split(',')).toHaveLength(CRON_SLOTS_AHEAD);
      const delayed = await raw.zrange(`jobwire:{${q}}:delayed`, '0', '-1');
      expect(delayed).toHaveLength(1);
      const slot = Number(/^rpt\.leap\.(\d+)$/.exec(delayed[0]!)![1]);
      expect(new Date(slot).getUTCMonth()).toBe(1);
      expect(new Date(slot).getUTCDate()).toBe(29);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });
});
