import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../errors.ts';
import type { RepeatSpec } from '../contract/options.ts';
import type { RedisClient } from '../redis/scripts/index.ts';

/**
 * When a schedule starts and ends. Times are compared with the Redis clock,
 * like every due time.
 * @public
 */
export interface RepeatBounds {
  /**
   * No occurrence before this time. An interval's slots count from it
   * (`startAt`, `startAt + everyMs`, …) instead of from the epoch.
   */
  startAt?: Date | undefined;
  /**
   * No occurrence after this time: once the next slot would be later, the
   * schedule ends.
   */
  endAt?: Date | undefined;
  /**
   * At most this many occurrences are scheduled (one removed before it
   * ran counts); after the last, the schedule ends.
   */
  limit?: number | undefined;
}

/** How a job repeats: a cron expression or a fixed interval. @public */
export type RepeatOptions = RepeatBounds &
  (
    | {
        key: string;
        cron: string;
        tz?: string | undefined;
        everyMs?: never | undefined;
      }
    | {
        key: string;
        everyMs: number;
        cron?: never | undefined;
        tz?: never | undefined;
      }
  );

const KEY = /^[A-Za-z0-9_-]{1,64}$/;

/** The longest interval, as the longest delay (about 31.7 years). */
const MAX_EVERY_MS = 1e12;

/** Bounds past this are refused: slots stay dates every tool can print. */
const YEAR_10000_MS = Date.UTC(10000, 0, 1);

/** Enqueue options a schedule decides itself, so a repeat refuses them. */
const DECIDED_BY_SCHEDULE = ['jobId', 'delayMs', 'runAt'] as const;

/** Whether `tz` is an IANA time zone this runtime knows. */
function knownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses a repeat key that is not 1-64 letters, digits, `_` or `-`: a
 * schedule's own fields in the repeats hash are `<key>:next` and the like,
 * so a key holding ':' could name one of them.
 */
export function checkRepeatKey(key: unknown): void {
  if (typeof key !== 'string' || !KEY.test(key))
    throw new ValidationError('repeat options', [
      {
        path: 'key',
        message: 'use 1-64 letters, digits, "_" or "-"',
        code: 'custom',
      },
    ]);
}

/**
 * Checks repeat options, and that the occurrences' enqueue options leave
 * out what the schedule decides (untyped callers can pass them), naming
 * the failing field.
 */
export function checkRepeat(
  options: RepeatOptions,
  enqueueOptions?: object,
): void {
  const bad = (path: string, message: string) =>
    new ValidationError('repeat options', [{ path, message, code: 'custom' }]);
  checkRepeatKey(options.key);
  for (const field of DECIDED_BY_SCHEDULE) {
    if (
      enqueueOptions !== undefined &&
      (enqueueOptions as Record<string, unknown>)[field] !== undefined
    ) {
      throw bad(field, 'the schedule decides it: leave it out of a repeat');
    }
  }
  // Untyped callers can pass both kinds, or neither: one would be dropped
  // silently, or the refusal would name only the interval.
  if (options.cron === undefined && options.everyMs === undefined)
    throw bad('cron', 'give a cron expression (cron) or an interval (everyMs)');
  if (options.cron !== undefined && options.everyMs !== undefined)
    throw bad('everyMs', 'give either cron or everyMs, not both');
  if (options.cron === undefined && options.tz !== undefined)
    throw bad('tz', 'only a cron schedule takes a time zone');
  if (options.tz !== undefined && !knownTimeZone(options.tz)) {
    throw bad('tz', `unknown time zone ${JSON.stringify(options.tz)}`);
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
    !Number.isSafeInteger(options.everyMs) ||
    options.everyMs < 100 ||
    options.everyMs > MAX_EVERY_MS
  ) {
    // Capped as delayMs is: a slot past year 275760 is no Date, and broke
    // every listing that printed it.
    throw bad('everyMs', 'must be a whole number of ms from 100 to 1e12');
  }
  for (const field of ['startAt', 'endAt'] as const) {
    const at = options[field];
    if (
      at !== undefined &&
      !(at instanceof Date && Number.isFinite(+at) && +at < YEAR_10000_MS)
    )
      throw bad(field, 'must be a valid Date before the year 10000');
  }
  if (
    options.startAt !== undefined &&
    options.endAt !== undefined &&
    +options.endAt <= +options.startAt
  )
    throw bad('endAt', 'must be later than startAt');
  if (
    options.limit !== undefined &&
    !(
      Number.isSafeInteger(options.limit) &&
      options.limit >= 1 &&
      options.limit <= 1e9
    )
  )
    throw bad('limit', 'must be a whole number from 1 to 1e9');
}

/**
 * Cron slots a schedule stores ahead. Scripts consume them (Lua cannot
 * evaluate cron with time zones); workers refill the list when fewer than
 * half remain, on their periodic check.
 */
export const CRON_SLOTS_AHEAD = 64;

/** Longest stretch cronSlots computes before it lets the event loop run. */
const CRON_SLICE_MS = 5;

/**
 * The next `CRON_SLOTS_AHEAD` cron slots strictly after `after` (and at or
 * after the spec's `startAtMs`), as the
 * comma-joined list a schedule stores (includes/repeat.lua). A rare slot
 * costs cron-parser milliseconds (it walks the dates between: 64 slots of
 * 29 February span 256 years and take some 300 ms), so the work is cut
 * into slices of a few milliseconds with the event loop let run between
 * them: a producer's or worker's other calls and timers (lease renewals)
 * wait one slot at most (up to some 50 ms: 2100 is no leap year).
 */
export async function cronSlots(
  spec: Pick<RepeatSpec, 'cron' | 'tz' | 'startAtMs'>,
  after: number,
): Promise<string> {
  // No slot before startAt: the list starts there, however far ahead.
  const from = Math.max(after, (spec.startAtMs ?? 0) - 1);
  const expr = CronExpressionParser.parse(spec.cron ?? '', {
    currentDate: new Date(from),
    tz: spec.tz ?? 'UTC',
  });
  const out: number[] = [];
  let sliceStart = performance.now();
  while (out.length < CRON_SLOTS_AHEAD) {
    // next() throws past the last slot cron-parser can find (hasNext()
    // would find each slot twice).
    let slot: number;
    try {
      slot = expr.next().getTime();
    } catch {
      break;
    }
    out.push(slot);
    if (performance.now() - sliceStart > CRON_SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return out.join(',');
}

/**
 * Redis's clock in ms. Repeat slots and their delays are computed from it,
 * like every due time, so hosts with skewed clocks compute the same slots.
 */
export async function redisNow(client: RedisClient): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
