import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../errors.ts';
import type { RepeatSpec } from '../contract/options.ts';
import type { RedisClient } from '../redis/scripts/index.ts';

/** How a job repeats: a cron expression or a fixed interval. @public */
export type RepeatOptions =
  | { key: string; cron: string; tz?: string; everyMs?: never }
  | { key: string; everyMs: number; cron?: never; tz?: never };

const KEY = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks repeat options, naming the failing field. */
export function checkRepeat(options: RepeatOptions): void {
  const bad = (path: string, message: string) =>
    new ValidationError('repeat options', [{ path, message, code: 'custom' }]);
  if (typeof options.key !== 'string' || !KEY.test(options.key)) {
    throw bad('key', 'use 1-64 letters, digits, "_" or "-"');
  }
  if (options.cron !== undefined) {
    try {
      CronExpressionParser.parse(options.cron, { tz: options.tz ?? 'UTC' });
    } catch (err) {
      throw bad(
        'cron',
        `unparseable cron expression: ${(err as Error).message}`,
      );
    }
  } else if (
    typeof options.everyMs !== 'number' ||
    !Number.isFinite(options.everyMs) ||
    options.everyMs < 100
  ) {
    throw bad('everyMs', 'must be a finite number of ms, at least 100');
  }
}

/**
 * Most cron slots a schedule stores ahead. Scripts consume them (Lua cannot
 * evaluate cron with time zones); workers refill the list on their periodic
 * check (cronSlotsLow).
 */
export const CRON_SLOTS_AHEAD = 64;

/**
 * How far ahead a stored slot list reaches (beyond it, one slot more). Rare
 * slots cost cron-parser milliseconds each (one per Feb 29 is some 20 ms,
 * since it walks the years between): a count alone would block the event
 * loop for over a second to store 64 of them, 256 years of Feb 29s.
 */
export const CRON_HORIZON_MS = 90 * 24 * 3600 * 1000;

/** Fewest slots a list holds, however far away they are. */
const CRON_SLOTS_MIN = 2;

/**
 * The cron slots strictly after `after` that a schedule stores, as the
 * comma-joined list includes/repeat.lua reads: those up to
 * CRON_HORIZON_MS ahead and the first after it, at least CRON_SLOTS_MIN
 * and at most CRON_SLOTS_AHEAD.
 */
export function cronSlots(
  spec: Pick<RepeatSpec, 'cron' | 'tz'>,
  after: number,
): string {
  const expr = CronExpressionParser.parse(spec.cron ?? '', {
    currentDate: new Date(after),
    tz: spec.tz ?? 'UTC',
  });
  const horizon = after + CRON_HORIZON_MS;
  const out: number[] = [];
  while (out.length < CRON_SLOTS_AHEAD && expr.hasNext()) {
    const slot = expr.next().getTime();
    out.push(slot);
    if (out.length >= CRON_SLOTS_MIN && slot > horizon) break;
  }
  return out.join(',');
}

/**
 * Whether a stored slot list needs a refill at `now`: fewer than
 * CRON_SLOTS_MIN slots left, or fewer than half of CRON_SLOTS_AHEAD left
 * and the last within half the horizon. A list cronSlots just made never
 * does, so a schedule of rare slots is not recomputed on every check.
 */
export function cronSlotsLow(stored: string, now: number): boolean {
  const left = stored
    .split(',')
    .map(Number)
    .filter((t) => t > now);
  if (left.length < CRON_SLOTS_MIN) return true;
  return (
    left.length < CRON_SLOTS_AHEAD / 2 &&
    left[left.length - 1]! < now + CRON_HORIZON_MS / 2
  );
}

/**
 * Redis's clock in ms. Repeat slots and their delays are computed from it,
 * like every due time, so hosts with skewed clocks compute the same slots.
 */
export async function redisNow(client: RedisClient): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
