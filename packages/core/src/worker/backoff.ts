import type { SerializableBackoff } from '../contract/options.ts';
import {
  describeThrown,
  ErrorCode,
  isInstance,
  JobwireError,
  thrownBy,
} from '../errors.ts';
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

/**
 * The wait before the next attempt of a job whose attempt `attempt` failed
 * with `error`, as a worker computes it (the test queue too, though it does
 * not wait). A backoff function gets what the handler threw when that is
 * an Error (so its `instanceof` checks work), else `error`. A backoff
 * function that throws must not lose the attempt's failure: `onThrow`
 * gets a HANDLER_FAILED error naming the job type (the thrown value as
 * `cause`), and the retry waits 0 ms, as for a return that is not a
 * finite number >= 0.
 */
export function retryDelay(
  backoff: SerializableBackoff | BackoffFunction,
  attempt: number,
  error: JobwireError,
  job: { readonly name: string; readonly id: string },
  onThrow: (err: JobwireError) => void,
): number {
  if (typeof backoff !== 'function')
    return backoffDelay(backoff, attempt, error);
  const thrown = thrownBy(error);
  const arg = isInstance(thrown, Error) ? thrown : error;
  try {
    return backoffDelay(backoff, attempt, arg);
  } catch (err) {
    onThrow(
      new JobwireError(
        ErrorCode.HANDLER_FAILED,
        `the backoff function of job type ${JSON.stringify(job.name)} threw after attempt ${String(attempt)} of job ${job.id}, so the next attempt runs without delay: ${describeThrown(err)}`,
        { cause: err },
      ),
    );
    return 0;
  }
}
