import { ErrorCode, JobwireError } from './errors.ts';

/** The longest delay Node's timers take; a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A time that must be positive and fit a Node timer (INVALID_OPTION
 * otherwise): 2**32 ms would run a stall check every millisecond.
 */
export function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `${name} must be a positive number of ms up to ${String(MAX_TIMER_MS)}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * A setting that must be a whole number of at least `min` (INVALID_OPTION
 * otherwise): a count, where 1.5 or -1 would loop, never trim or never
 * stop rather than fail.
 */
export function wholeNumber(value: number, name: string, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `${name} must be a whole number >= ${String(min)}, got ${String(value)}`,
    );
  }
  return value;
}
