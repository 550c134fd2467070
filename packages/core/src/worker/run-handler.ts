import {
  ErrorCode,
  handlerFailure,
  PayloadTooLargeError,
  TimeoutError,
} from '../errors.ts';
import { MAX_TIMER_MS } from '../option-checks.ts';

/** Codes that fail a job at once: retrying cannot help. */
export const FINAL_CODES: ReadonlySet<string> = new Set([
  ErrorCode.PERMANENT,
  ErrorCode.VALIDATION_FAILED,
  ErrorCode.CORRUPT_JOB,
  ErrorCode.UNKNOWN_JOB_TYPE,
  ErrorCode.NOT_JSON,
  ErrorCode.PAYLOAD_TOO_LARGE,
  ErrorCode.UPCAST_FAILED,
  ErrorCode.CANCELLED,
]);

/**
 * Refuses a result JSON, progress JSON or log line over `maxResultBytes`:
 * each is kept in the job, and a result or progress value in the event
 * log too.
 */
export function assertResultSize(
  stored: string,
  limit: number,
  subject: string,
): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: short results need no count.
  if (stored.length * 3 <= limit) return;
  const size = Buffer.byteLength(stored, 'utf8');
  if (size > limit)
    throw new PayloadTooLargeError(limit, size, subject, 'maxResultBytes');
}

/**
 * A job's abort signal, made only when the handler reads it: most handlers
 * never do, and an AbortController per job is a measurable share of a
 * worker's CPU. Aborting before the signal exists still reaches it.
 */
export class JobAbort {
  private controller: AbortController | undefined;
  private listener: ((reason: unknown) => void) | undefined;
  aborted = false;
  reason: unknown;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.listener?.(reason);
  }

  /** The one internal listener: withTimeout's race. */
  onAbort(listener: ((reason: unknown) => void) | undefined): void {
    this.listener = listener;
  }
}

/** Whether `value` is a thenable; false for one whose `then` getter throws. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  if (value === null) return false;
  if (typeof value !== 'object' && typeof value !== 'function') return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}

/**
 * Runs the handler; on timeout, aborts its signal and fails the attempt
 * without waiting for a handler that ignores the signal. A handler that
 * returns without a promise is done at once: no timer, no race.
 *
 * What the handler throws or rejects with comes out as
 * {@link handlerFailure} makes it (HANDLER_FAILED unless a PermanentError);
 * the job's own abort reason (its TimeoutError, CancelledError,
 * ShutdownError, LeaseLostError) comes out as it is.
 */
export async function withTimeout<TResult>(
  fn: () => TResult | Promise<TResult>,
  timeoutMs: number,
  abort: JobAbort,
): Promise<TResult> {
  if (abort.aborted) throw abort.reason;
  let result: TResult | Promise<TResult>;
  try {
    result = fn();
    if (!isPromiseLike(result)) return result;
  } catch (thrown) {
    throw handlerFailure(thrown);
  }
  const pending = result;
  return new Promise<TResult>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      if (timer) clearTimeout(timer);
      abort.onAbort(undefined);
    };
    abort.onAbort((reason) => {
      settle();
      reject(reason as Error);
    });
    if (timeoutMs > 0) {
      // Enqueue refuses more than MAX_TIMER_MS, which Node would fire after
      // 1 ms; a job stored before that check waits the longest timer instead.
      timer = setTimeout(
        () => abort.abort(new TimeoutError(timeoutMs)),
        Math.min(timeoutMs, MAX_TIMER_MS),
      );
    }
    const failed = (thrown: unknown) => {
      settle();
      reject(handlerFailure(thrown));
    };
    try {
      pending.then((value) => {
        settle();
        resolve(value);
      }, failed);
    } catch (thrown) {
      // A thenable whose `then` throws.
      failed(thrown);
    }
  });
}
