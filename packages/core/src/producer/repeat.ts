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
 * Cron slots a schedule stores ahead. Scripts consume them (Lua cannot
 * evaluate cron with time zones); workers refill the list on their periodic
 * check (`needsCronSlots`).
 */
export const CRON_SLOTS_AHEAD = 64;

/**
 * How far ahead a slot list reaches, beyond its first two slots. cron-parser
 * walks the calendar to find rare slots: 64 yearly slots would block the
 * event loop for 100 ms or more (a 29 February schedule: over 0.5 s), for
 * slots decades away.
 */
export const CRON_HORIZON_MS = 400 * 24 * 3600 * 1000;

/**
 * The next cron slots strictly after `after`, as the comma-joined list a
 * schedule stores (includes/repeat.lua): up to `CRON_SLOTS_AHEAD`, and
 * none past `CRON_HORIZON_MS` ahead except the first two, so a schedule
 * always has the slot after the one it takes.
 */
export function cronSlots(
  spec: Pick<RepeatSpec, 'cron' | 'tz'>,
  after: number,
): string {
  const expr = CronExpressionParser.parse(spec.cron ?? '', {
    currentDate: new Date(after),
    tz: spec.tz ?? 'UTC',
  });
  const out: number[] = [];
  while (out.length < CRON_SLOTS_AHEAD && expr.hasNext()) {
    const slot = expr.next().getTime();
    if (out.length >= 2 && slot > after + CRON_HORIZON_MS) break;
    out.push(slot);
  }
  return out.join(',');
}

/**
 * Whether a stored slot list should be refilled at `now`: fewer than half
 * of `CRON_SLOTS_AHEAD` left, and the last of them less than half the
 * horizon ahead (a yearly schedule keeps two slots and refills once a year).
 */
export function needsCronSlots(stored: string, now: number): boolean {
  const left = stored
    .split(',')
    .filter((s) => s !== '' && Number(s) > now)
    .map(Number);
  if (left.length >= CRON_SLOTS_AHEAD / 2) return false;
  const last = left.length === 0 ? now : Math.max(...left);
  return left.length < 2 || last - now < CRON_HORIZON_MS / 2;
}

/**
 * Redis's clock in ms. Repeat slots and their delays are computed from it,
 * like every due time, so hosts with skewed clocks compute the same slots.
 */
export async function redisNow(client: RedisClient): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
