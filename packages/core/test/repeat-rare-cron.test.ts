import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import {
  CRON_HORIZON_MS,
  CRON_SLOTS_AHEAD,
  cronSlots,
  cronSlotsLow,
} from '../src/producer/repeat.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

// A cron's slots are computed by the client and stored ahead. Storing a
// fixed 64 of them made repeat() of a rare cron block the event loop for
// over a second (64 Feb 29s span 256 years, and cron-parser walks them).

const redis = useRedis();
const DAY = 24 * 3600 * 1000;
const after = Date.UTC(2026, 11, 1, 10, 30);
const slotsOf = (cron: string, at = after) =>
  cronSlots({ cron, tz: 'UTC' }, at).split(',').map(Number);

describe('cron slots stored ahead', () => {
  it('stores two slots of a rare cron, not 64', () => {
    const slots = slotsOf('0 0 29 2 *');
    expect(slots.map((t) => new Date(t).toISOString().slice(0, 10))).toEqual([
      '2028-02-29',
      '2032-02-29',
    ]);
  });

  it('stores up to 64 slots of a frequent cron, and a horizon of a weekly one', () => {
    const frequent = slotsOf('*/5 * * * *');
    expect(frequent).toHaveLength(CRON_SLOTS_AHEAD);
    expect(frequent[0]).toBe(after + 5 * 60 * 1000);

    const weekly = slotsOf('0 9 * * 1');
    // Every Monday within 90 days, then the first one after them.
    expect(weekly.slice(0, -1).every((t) => t <= after + CRON_HORIZON_MS)).toBe(
      true,
    );
    expect(weekly.at(-1)!).toBeGreaterThan(after + CRON_HORIZON_MS);
    expect(weekly).toHaveLength(14);
    for (let i = 1; i < weekly.length; i++)
      expect(weekly[i]! - weekly[i - 1]!).toBe(7 * DAY);
  });

  it('a list just made is not refilled on the next check; a spent one is', () => {
    for (const cron of [
      '*/5 * * * *',
      '0 * * * *',
      '0 9 * * 1',
      '0 0 31 * *',
      '0 0 1 1 *',
      '0 0 29 2 *',
    ]) {
      const stored = cronSlots({ cron, tz: 'UTC' }, after);
      expect(cronSlotsLow(stored, after + 1000), cron).toBe(false);
    }
    // Feb 29: after the first slot is used, one is left: refill.
    const leap = slotsOf('0 0 29 2 *');
    expect(cronSlotsLow(leap.join(','), leap[0]!)).toBe(true);
    // Weekly: refilled once its last slot is within half the horizon.
    const weekly = slotsOf('0 9 * * 1');
    const last = weekly.at(-1)!;
    expect(
      cronSlotsLow(weekly.join(','), last - CRON_HORIZON_MS / 2 - DAY),
    ).toBe(false);
    expect(
      cronSlotsLow(weekly.join(','), last - CRON_HORIZON_MS / 2 + DAY),
    ).toBe(true);
    // Every five minutes: refilled when fewer than half the 64 are left.
    const frequent = slotsOf('*/5 * * * *');
    expect(cronSlotsLow(frequent.join(','), frequent[31]! - 1)).toBe(false);
    expect(cronSlotsLow(frequent.join(','), frequent[32]!)).toBe(true);
    expect(cronSlotsLow('', after)).toBe(true);
  });

  it('queue.repeat() of a Feb 29 cron stores two slots and schedules the next one', async () => {
    const q = uniqueQueue('rare');
    const reg = defineJobs({
      leap: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      await queue.repeat('leap', { n: 1 }, { key: 'leap', cron: '0 0 29 2 *' });
      const stored = await raw.hget(`jobwire:{${q}}:repeats`, 'leap:slots');
      const slots = stored!.split(',').map(Number);
      expect(slots).toHaveLength(2);
      for (const t of slots) expect(new Date(t).getUTCDate()).toBe(29);
      // The pending occurrence waits in `delayed` for the first of them,
      // or the one before it when the first was taken at once.
      const delayed = await raw.zrange(`jobwire:{${q}}:delayed`, 0, -1);
      expect(delayed).toHaveLength(1);
      expect(delayed[0]).toMatch(/^rpt\.leap\.\d+$/);
      expect(new Date(Number(delayed[0]!.split('.')[2])).getUTCMonth()).toBe(1);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });
});
