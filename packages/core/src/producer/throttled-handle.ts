import {
  ErrorCode,
  errorFromScriptCode,
  JobwireError,
  ScriptCode,
} from '../errors.ts';
import type { JobHandle } from './queue-types.ts';

/**
 * The handle of a job its type's throttle dropped: `finished()` rejects at
 * once with THROTTLED, `cancel()` as for a job that does not exist. The
 * errors are made on each call, so an unread handle leaves no rejection.
 */
export function throttledHandle(
  queue: string,
  name: string,
  id: string,
): JobHandle<never> {
  return {
    id,
    name,
    queue,
    outcome: 'throttled',
    duplicate: false,
    finished: () =>
      Promise.reject(
        new JobwireError(
          ErrorCode.THROTTLED,
          `job ${id} (${name}) was throttled: its throttle rule had accepted its limit of jobs in the window, so it was dropped and never stored`,
        ),
      ),
    cancel: () =>
      Promise.reject(
        errorFromScriptCode(ScriptCode.JOB_NOT_FOUND, {
          script: 'cancel',
          jobId: id,
        }),
      ),
  };
}
