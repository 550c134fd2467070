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

/** The first slot strictly after `after` (ms since the epoch). */
export function nextSlot(
  spec: Pick<RepeatSpec, 'cron' | 'tz' | 'everyMs'>,
  after: number,
): number {
  if (spec.cron !== undefined) {
    const expr = CronExpressionParser.parse(spec.cron, {
      currentDate: new Date(after),
      tz: spec.tz ?? 'UTC',
    });
    return expr.next().getTime();
  }
  const every = spec.everyMs ?? 60_000;
  // Interval slots are aligned to multiples of everyMs, so every process
  // computes the same slot, and the slot id deduplicates.
  return (Math.floor(after / every) + 1) * every;
}

/** The deterministic job id of one occurrence; duplicates collapse on it. */
export function occurrenceId(key: string, slot: number): string {
  return `rpt.${key}.${slot}`;
}

/** The slot of an occurrence id, or undefined for other ids. */
export function slotOf(id: string): number | undefined {
  const m = /^rpt\..+\.(\d+)$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

/**
 * Redis's clock in ms. Repeat slots and their delays are computed from it,
 * like every due time, so hosts with skewed clocks compute the same slots.
 */
export async function redisNow(client: RedisClient): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
