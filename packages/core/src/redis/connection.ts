import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { defaults } from '../defaults.ts';
import {
  ErrorCode,
  JobwireError,
  RedisOutOfMemoryError,
  RedisUnavailableError,
} from '../errors.ts';
import { registerScripts, type RedisClient } from './scripts/index.ts';
import { trackForTests } from '../testing/track-open.ts';

/** Where a logger's messages go. @public */
export interface Logger {
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

/** The default logger: warnings and errors to stderr, prefixed `[jobwire]`. */
export const consoleLogger: Logger = {
  warn: (m, meta) => console.warn(`[jobwire] ${m}`, meta ?? ''),
  error: (m, meta) => console.error(`[jobwire] ${m}`, meta ?? ''),
};

/** Host-style connection settings. @public */
export interface RedisConnectionSettings {
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  /** TLS options passed to `tls.connect`; `{}` enables TLS with defaults. */
  tls?: RedisOptions['tls'];
}

/**
 * A Redis URL (`redis://` or `rediss://`), host settings, or an ioredis
 * client (Cluster included) that you own and close yourself.
 * @public
 */
export type ConnectionInput = string | RedisConnectionSettings | RedisClient;

/** Connection options shared by queues, workers and event readers. @public */
export interface ConnectionOptions {
  /** @defaultValue 'redis://127.0.0.1:6379' */
  connection?: ConnectionInput;
  /** Key prefix. @defaultValue 'jobwire' */
  prefix?: string;
  /** How long a call waits for Redis to be reachable. @defaultValue 1000 */
  connectTimeoutMs?: number;
  /** How long a single command may take. @defaultValue 5000 */
  commandTimeoutMs?: number;
  /** Refuse to start unless `maxmemory-policy` is `noeviction`. @defaultValue false */
  strictRedisConfig?: boolean;
  /** @defaultValue warnings and errors to stderr */
  logger?: Logger;
}

/** A client plus whether jobwire created it (and so must close it). */
export interface Connection {
  client: RedisClient;
  owned: boolean;
}

function isClient(input: ConnectionInput): input is RedisClient {
  return input instanceof Redis || input instanceof Cluster;
}

/**
 * Opens a connection. Owned clients fail fast: no offline queue, so a call
 * made while Redis is down is refused at once instead of waiting unbounded,
 * and in-flight commands are not silently resent after a reconnect.
 */
export function openConnection(
  options: ConnectionOptions,
  role: 'command' | 'blocking',
  logger: Logger,
): Connection {
  const input = options.connection ?? 'redis://127.0.0.1:6379';
  let client: RedisClient;
  let owned = true;
  if (isClient(input)) {
    if (role === 'command') {
      client = input;
      owned = false;
    } else {
      client = (input as Redis).duplicate();
    }
  } else {
    const common: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectTimeout: Math.max(
        options.connectTimeoutMs ?? defaults.connectTimeoutMs,
        1000,
      ),
      retryStrategy: (times) => Math.min(50 * 2 ** times, 1000),
      ...(role === 'command'
        ? {
            commandTimeout:
              options.commandTimeoutMs ?? defaults.commandTimeoutMs,
          }
        : {}),
    };
    client =
      typeof input === 'string'
        ? new Redis(input, common)
        : new Redis({ ...common, ...input });
  }
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    // ioredis reports every failed reconnect; one line per 5 s is enough.
    const now = Date.now();
    if (now - lastLogged > 5000) {
      lastLogged = now;
      logger.warn(`redis connection error (${role}): ${err.message}`);
    }
  });
  registerScripts(client);
  if (owned) {
    // A Cluster stops at status 'close' after disconnect(); 'end' fires for both.
    let ended = false;
    client.once('end', () => (ended = true));
    trackForTests('redis', role, () => !ended && client.status !== 'end');
  }
  return { client, owned };
}

const readyWaits = new WeakMap<RedisClient, Promise<void>>();

/** One shared 'ready' listener per client, however many callers wait. */
function nextReady(client: RedisClient): Promise<void> {
  let wait = readyWaits.get(client);
  if (wait === undefined) {
    wait = new Promise<void>((resolve) => {
      client.once('ready', () => {
        readyWaits.delete(client);
        resolve();
      });
    });
    readyWaits.set(client, wait);
  }
  return wait;
}

/** Waits until the client is ready, or fails with RedisUnavailableError. */
export async function ensureReady(
  client: RedisClient,
  timeoutMs: number,
): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'end') {
    throw new JobwireError(ErrorCode.CLOSED, 'connection is closed');
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RedisUnavailableError(
            `Redis not reachable within ${timeoutMs} ms (connectTimeoutMs); status ${client.status}`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([nextReady(client), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Maps an ioredis failure to a typed error; other errors pass through. */
export function mapRedisError(err: unknown): unknown {
  if (err instanceof JobwireError || !(err instanceof Error)) return err;
  const msg = err.message;
  if (msg.startsWith('OOM')) return new RedisOutOfMemoryError({ cause: err });
  // A key of the wrong type, or a script that failed on one: the data is
  // not what jobwire wrote (edited by hand, or another program's key), and
  // Redis itself is fine, so this is never REDIS_UNAVAILABLE.
  if (/^WRONGTYPE|user_script|Error running script/.test(msg)) {
    return new JobwireError(
      ErrorCode.CORRUPT_JOB,
      `Redis refused the operation because a key holds data jobwire did not write: ${msg}`,
      { cause: err },
    );
  }
  if (
    /Command timed out|Connection is closed|isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|MaxRetriesPerRequest|LOADING|Reached the max retries/i.test(
      msg,
    ) ||
    err.name === 'MaxRetriesPerRequestError'
  ) {
    return new RedisUnavailableError(
      `Redis unavailable: ${msg} (a write in flight may or may not have been applied)`,
      { cause: err },
    );
  }
  return err;
}

/** Runs `fn` once Redis is ready, mapping connection failures to typed errors. */
export async function withRedis<TResult>(
  client: RedisClient,
  timeoutMs: number,
  fn: () => Promise<TResult>,
): Promise<TResult> {
  await ensureReady(client, timeoutMs);
  try {
    return await fn();
  } catch (err) {
    throw mapRedisError(err);
  }
}

/**
 * Warns (or, strict, throws) when Redis may evict keys: an evicted job hash
 * is a lost job. Carries on when CONFIG is disabled, as on managed Redis.
 */
export async function checkEvictionPolicy(
  client: RedisClient,
  strict: boolean,
  logger: Logger,
): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await client.call(
      'CONFIG',
      'GET',
      'maxmemory-policy',
    )) as string[];
    policy = reply[1];
  } catch (err) {
    logger.warn(
      `could not verify eviction policy (CONFIG GET failed: ${(err as Error).message}); make sure maxmemory-policy is noeviction`,
    );
    return;
  }
  if (policy !== undefined && policy !== 'noeviction') {
    const message = `Redis maxmemory-policy is "${policy}"; jobwire needs "noeviction", or Redis may evict job data under memory pressure`;
    if (strict) throw new JobwireError(ErrorCode.REDIS_CONFIG, message);
    logger.warn(message);
  }
}

/** Closes a connection jobwire owns; leaves a caller's client open. */
export async function closeConnection(conn: Connection): Promise<void> {
  if (!conn.owned) return;
  if (conn.client.status === 'end') return;
  if (conn.client.status !== 'ready') {
    // Never connected (or reconnecting): nothing to flush, so no QUIT.
    conn.client.disconnect();
    return;
  }
  try {
    await conn.client.quit();
  } catch {
    conn.client.disconnect();
  }
}
