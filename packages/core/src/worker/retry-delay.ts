/**
 * How long a worker waits before it retries a Redis call that failed.
 * Redis answers BUSY to every command while a Lua script runs past
 * `busy-reply-threshold`, and answers normally the moment it ends: what
 * matters is noticing that end, so BUSY is retried at a short fixed
 * interval (a BUSY reply costs Redis next to nothing) instead of by a
 * ladder that could sleep past the script's end by up to its last step.
 */
import { BUSY_RETRY_MS, isBusyReply } from '../redis/busy.ts';

/**
 * The wait before retry `attempt` (0 for the first) of a call that failed
 * with `err`: BUSY_RETRY_MS for BUSY, else `firstMs` doubling up to `maxMs`.
 */
export function redisRetryDelayMs(
  err: unknown,
  attempt: number,
  firstMs: number,
  maxMs: number,
): number {
  if (isBusyReply(err)) return BUSY_RETRY_MS;
  return Math.min(firstMs * 2 ** attempt, maxMs);
}
