/**
 * Redis answers BUSY to every command while a Lua script runs past
 * `busy-reply-threshold`, and answers normally the moment it ends. A
 * command refused with BUSY was not run, so it can be sent again as it
 * was; what matters is noticing the script's end soon, hence a short fixed
 * interval between tries.
 */
import { ErrorCode, JobwireError } from '../errors.ts';

/** The retry interval while Redis answers BUSY. */
export const BUSY_RETRY_MS = 100;

/** Whether a call failed only because a script was running in Redis. */
export function isBusyReply(err: unknown): boolean {
  if (err instanceof JobwireError) return err.code === ErrorCode.REDIS_BUSY;
  return err instanceof Error && err.message.startsWith('BUSY ');
}

/**
 * Runs `call`, and again every BUSY_RETRY_MS while it fails with BUSY, for
 * at most `waitMs`; then the last BUSY error stands. Only for a call of one
 * command (or one pipeline refused whole): a BUSY on a later command of a
 * call would repeat the commands before it.
 */
export function retryWhileBusy<TResult>(
  waitMs: number,
  call: () => Promise<TResult>,
): Promise<TResult> {
  // Every enqueue passes here: the common case costs one catch handler.
  return call().catch((err: unknown) => {
    if (!isBusyReply(err)) throw err;
    return retryUntil(Date.now() + waitMs, call, err);
  });
}

async function retryUntil<TResult>(
  deadline: number,
  call: () => Promise<TResult>,
  last: unknown,
): Promise<TResult> {
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw last;
    await new Promise((r) => setTimeout(r, Math.min(BUSY_RETRY_MS, left)));
    try {
      return await call();
    } catch (err) {
      if (!isBusyReply(err)) throw err;
      last = err;
    }
  }
}
