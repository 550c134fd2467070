import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkEvictionPolicy,
  connectIfLazy,
  hasEnded,
  notReachable,
  mapRedisError,
  type Logger,
} from '../redis/connection.ts';
import type { RedisClient } from '../redis/scripts/index.ts';
import { ErrorCode, JobwireError, RedisUnavailableError } from '../errors.ts';
import { isBusyReply } from '../redis/busy.ts';
import { redisRetryDelayMs } from './retry-delay.ts';

/** How long one wait for the connection lasts before it is reported. */
const CONNECT_WAIT_MS = 60_000;

/**
 * Waits until `client` is ready, connecting one created with ioredis's
 * `lazyConnect` (connectIfLazy). Resolves false, at once, when `signal`
 * aborts (the worker is closing): nothing of the wait is left behind, no
 * timer and no listener, so a closed worker never keeps Node alive.
 * Rejects with RedisUnavailableError after `timeoutMs`, and with CLOSED
 * when the client ends.
 */
export function readyUnlessAborted(
  client: RedisClient,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (client.status === 'ready') return Promise.resolve(true);
  if (hasEnded(client))
    return Promise.reject(
      new JobwireError(ErrorCode.CLOSED, 'connection is closed'),
    );
  return new Promise<boolean>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
    };
    const onReady = (): void => {
      done();
      resolve(true);
    };
    const onAbort = (): void => {
      done();
      resolve(false);
    };
    const onEnd = (): void => {
      done();
      reject(new JobwireError(ErrorCode.CLOSED, 'connection is closed'));
    };
    const timer = setTimeout(() => {
      done();
      reject(new RedisUnavailableError(notReachable(client, timeoutMs, '')));
    }, timeoutMs);
    client.once('ready', onReady);
    client.once('end', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
    connectIfLazy(client, { signal });
  });
}

/**
 * The worker's start-up check: once connected, reads the eviction policy
 * (checkEvictionPolicy). Tries until it has an answer or `signal` aborts:
 * a failed try (Redis away, BUSY) is reported once per run of failures and
 * retried. Resolves 'passed', or 'aborted'; rejects with REDIS_CONFIG when
 * `strict` and the policy may evict keys (not strict, that is a warning).
 */
export async function checkAtStart(
  client: RedisClient,
  options: {
    strict: boolean;
    logger: Logger;
    signal: AbortSignal;
    reportError: (err: unknown, context: string) => void;
  },
): Promise<'passed' | 'aborted'> {
  const { signal } = options;
  let failures = 0;
  let reported = false;
  for (;;) {
    try {
      if (!(await readyUnlessAborted(client, CONNECT_WAIT_MS, signal)))
        return 'aborted';
      await checkEvictionPolicy(client, options.strict, options.logger);
      return 'passed';
    } catch (err) {
      if (signal.aborted) return 'aborted';
      // A policy that may evict is final; so is a client that ended (one
      // the caller owns and closed): neither changes by trying again.
      if (
        err instanceof JobwireError &&
        (err.code === ErrorCode.REDIS_CONFIG || err.code === ErrorCode.CLOSED)
      )
        throw err;
      if (!reported)
        options.reportError(
          mapRedisError(err),
          'checking the eviction policy at start',
        );
      reported = true;
      const delay = redisRetryDelayMs(err, failures, 100, 2000);
      if (!isBusyReply(err)) failures++;
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return 'aborted';
      }
    }
  }
}
