import { defaults } from './defaults.ts';
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

/** The names of the numeric defaults. */
type NumericDefault = {
  [K in keyof typeof defaults]: (typeof defaults)[K] extends number ? K : never;
}[keyof typeof defaults];

/** Options that may set some numeric defaults. */
type NumericOptions = { readonly [K in NumericDefault]?: number | undefined };

/** Option `name` (a time in ms), else its default; checked by {@link positive}. */
export function timeOption(
  options: NumericOptions,
  name: NumericDefault,
): number {
  return positive(options[name] ?? defaults[name], name);
}

/** Option `name` (a count), else its default; checked by {@link wholeNumber}. */
export function countOption(
  options: NumericOptions,
  name: NumericDefault,
  min: number,
): number {
  return wholeNumber(options[name] ?? defaults[name], name, min);
}
