import { ErrorCode, JobwireError } from './errors.ts';

/** A setting that must be a positive number (INVALID_OPTION otherwise). */
export function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `${name} must be a positive number, got ${String(value)}`,
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
