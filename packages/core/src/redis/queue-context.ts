import { ErrorCode, JobwireError } from '../errors.ts';
import { timeOption } from '../option-checks.ts';
import { defaults } from '../defaults.ts';
import type { JobRegistry } from '../contract/define.ts';
import type { ConnectionOptions, Logger } from './connection.ts';
import { consoleLogger, withRedis } from './connection.ts';
import { retryWhileBusy } from './busy.ts';
import { assertSafeName } from '../contract/define.ts';
import { queueKeys, type QueueKeys } from './keys.ts';
import type { RedisClient } from './scripts/index.ts';

/** What every producer-side module needs: the client, settings and keys. */
export interface QueueContext {
  readonly registry: JobRegistry;
  readonly client: RedisClient;
  readonly prefix: string;
  readonly connectTimeoutMs: number;
  /** Also how long a call keeps retrying while Redis answers BUSY. */
  readonly commandTimeoutMs: number;
  readonly maxEvents: number;
  readonly logger: Logger;
  keys(queue: string): QueueKeys;
}

/**
 * Runs `fn`, one command or script call, once the context's client is ready,
 * and sends it again while Redis answers BUSY: a call refused with BUSY ran
 * nothing. Gives up with `RedisBusyError` after `commandTimeoutMs`.
 */
export function withRedisPastBusy<TResult>(
  ctx: Pick<QueueContext, 'client' | 'connectTimeoutMs' | 'commandTimeoutMs'>,
  fn: () => Promise<TResult>,
): Promise<TResult> {
  return withRedis(ctx.client, ctx.connectTimeoutMs, () =>
    retryWhileBusy(ctx.commandTimeoutMs, fn),
  );
}

export function makeKeyCache(prefix: string): (queue: string) => QueueKeys {
  const cache = new Map<string, QueueKeys>();
  return (queue) => {
    let k = cache.get(queue);
    if (k === undefined) {
      assertSafeName(queue, 'queue name');
      k = queueKeys(prefix, queue);
      cache.set(queue, k);
    }
    return k;
  };
}

export function resolveCommon(options: ConnectionOptions): {
  prefix: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  logger: Logger;
} {
  const prefix = options.prefix ?? defaults.prefix;
  // Braces would break the {queue} hash tag; keep prefixes plain.
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) {
    throw new JobwireError(
      ErrorCode.INVALID_NAME,
      `key prefix ${JSON.stringify(prefix)} is not allowed: use 1-64 letters, digits, "_", "-", "." or ":"`,
    );
  }
  return {
    prefix,
    connectTimeoutMs: timeOption(options, 'connectTimeoutMs'),
    commandTimeoutMs: timeOption(options, 'commandTimeoutMs'),
    logger: options.logger ?? consoleLogger,
  };
}
