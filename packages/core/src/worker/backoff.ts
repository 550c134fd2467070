import type { SerializableBackoff } from '../contract/options.ts';
import {
  describeThrown,
  ErrorCode,
  isInstance,
  JobwireError,
  thrownBy,
} from '../errors.ts';
import type { BackoffFunction } from '../types.ts';
import { isPromiseLike } from './run-handler.ts';

/**
 * The wait before attempt `attempt + 1`, after attempt `attempt` (1-based)
 * failed, by a serializable rule. Exponential doubles per attempt; jitter
 * spreads the delay by up to ±jitter×delay so retries of many jobs do not
 * stampede.
 */
export function backoffDelay(
  backoff: SerializableBackoff,
  attempt: number,
  random: () => number = Math.random,
): number {
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
 * function that throws, or returns anything but a finite number >= 0 (a
 * promise, say: it must answer synchronously), must not lose the
 * attempt's failure: the retry waits 0 ms and `onThrow` gets a
 * HANDLER_FAILED error naming the job type and what went wrong.
 */
export function retryDelay(
  backoff: SerializableBackoff | BackoffFunction,
  attempt: number,
  error: JobwireError,
  job: { readonly name: string; readonly id: string },
  onThrow: (err: JobwireError) => void,
): number {
  if (typeof backoff !== 'function') return backoffDelay(backoff, attempt);
  const thrown = thrownBy(error);
  const arg = isInstance(thrown, Error) ? thrown : error;
  const what = `the backoff function of job type ${JSON.stringify(job.name)}`;
  const after = `after attempt ${String(attempt)} of job ${job.id}, so the next attempt runs without delay`;
  let delay: unknown;
  try {
    delay = backoff(attempt, arg);
  } catch (err) {
    onThrow(
      new JobwireError(
        ErrorCode.HANDLER_FAILED,
        `${what} threw ${after}: ${describeThrown(err)}`,
        { cause: err },
      ),
    );
    return 0;
  }
  if (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0)
    return Math.round(delay);
  onThrow(
    new JobwireError(
      ErrorCode.HANDLER_FAILED,
      `${what} returned ${describeReturn(delay)} ${after}: it must return the delay in ms, a finite number >= 0, synchronously`,
    ),
  );
  return 0;
}

/** Names a backoff function's unusable return; settles a promise's rejection. */
function describeReturn(value: unknown): string {
  if (isPromiseLike(value)) {
    // Nobody awaits it: its rejection must not end the process.
    try {
      value.then(undefined, () => {});
    } catch {
      /* a thenable whose then throws: nothing to settle */
    }
    return 'a promise';
  }
  if (typeof value === 'number') return String(value);
  return value === null ? 'null' : `a ${typeof value}`;
}
