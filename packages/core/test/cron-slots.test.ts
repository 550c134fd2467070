/**
 * Cron slot lists: bounded by count and by a horizon, so a rare schedule
 * (yearly, 29 February) does not walk decades of calendar on the event
 * loop, and still always holds the slot after the one a script takes.
 */
import { describe, expect, it } from 'vitest';
import {
  CRON_HORIZON_MS,
  CRON_SLOTS_AHEAD,
  cronSlots,
  needsCronSlots,
} from '../src/producer/repeat.ts';

const NOW = Date.UTC(2026, 11, 1);
const slots = (cron: string) => cronSlots({ cron }, NOW).split(',').map(Number);

describe('cron slot lists', () => {
  it('stores 64 slots of a frequent schedule', () => {
    const s = slots('*/5 * * * *');
    expect(s).toHaveLength(CRON_SLOTS_AHEAD);
    expect(s[0]).toBe(NOW + 5 * 60_000);
  });

  it('stores two slots of a schedule rarer than the horizon, however far', () => {
    expect(slots('0 0 29 2 *')).toEqual([
      Date.UTC(2028, 1, 29),
      Date.UTC(2032, 1, 29),
    ]);
    expect(slots('0 0 1 1 *')).toEqual([
      Date.UTC(2027, 0, 1),
      Date.UTC(2028, 0, 1),
    ]);
  });

  it('stops at the horizon beyond the first two slots', () => {
    const s = slots('0 0 1 * *');
    expect(s.length).toBeGreaterThan(2);
    expect(s.at(-1)!).toBeLessThanOrEqual(NOW + CRON_HORIZON_MS);
    expect(s).toHaveLength(13);
  });

  it('refills a list running low, and not a short list that reaches far', () => {
    const frequent = cronSlots({ cron: '* * * * *' }, NOW);
    expect(needsCronSlots(frequent, NOW)).toBe(false);
    // 40 of the 64 minutes have passed: 24 left.
    expect(needsCronSlots(frequent, NOW + 40 * 60_000)).toBe(true);
    const yearly = cronSlots({ cron: '0 0 1 1 *' }, NOW);
    expect(needsCronSlots(yearly, NOW)).toBe(false);
    // Past the first slot, one left, within half the horizon: refill.
    expect(needsCronSlots(yearly, Date.UTC(2027, 0, 2))).toBe(true);
    expect(needsCronSlots('', NOW)).toBe(true);
  });
});
