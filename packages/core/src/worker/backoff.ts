import type { SerializableBackoff } from '../contract/options.ts';
import type { BackoffFunction } from '../types.ts';

/**
 * The wait before attempt `attempt + 1`, after attempt `attempt` (1-based)
 * failed. Exponential doubles per attempt; jitter spreads the delay by up to
 * ±jitter×delay so retries of many jobs do not stampede.
 */
export function backoffDelay(
  backoff: SerializableBackoff | BackoffFunction,
  attempt: number,
  error: Error,
  random: () => number = Math.random,
): number {
  if (typeof backoff === 'function') {
    const d = backoff(attempt, error);
    return Number.isFinite(d) && d >= 0 ? Math.round(d) : 0;
  }
  const base =
    backoff.type === 'fixed'
      ? backoff.delayMs
      : backoff.delayMs * 2 ** (attempt - 1);
  const capped = Math.min(base, backoff.maxDelayMs ?? 3_600_000);
  const jitter = backoff.jitter ?? 0;
  const spread = capped * jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(capped + spread));
}
