import { ErrorCode, TimeoutError } from '../errors.ts';

/** Codes that fail a job at once: retrying cannot help. */
export const FINAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.PERMANENT,
  ErrorCode.VALIDATION_FAILED,
  ErrorCode.CORRUPT_JOB,
  ErrorCode.UNKNOWN_JOB_TYPE,
  ErrorCode.NOT_JSON,
]);

/**
 * Runs the handler; on timeout, aborts its signal and fails the attempt
 * without waiting for a handler that ignores the signal.
 */
export async function withTimeout<TResult>(
  fn: () => TResult | Promise<TResult>,
  timeoutMs: number,
  controller: AbortController,
): Promise<TResult> {
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(controller.signal.reason as Error);
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  if (timeoutMs > 0) {
    timer = setTimeout(
      () => controller.abort(new TimeoutError(timeoutMs)),
      timeoutMs,
    );
  }
  try {
    return await Promise.race([Promise.resolve().then(fn), aborted]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
