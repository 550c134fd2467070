import { setTimeout as delay } from 'node:timers/promises';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { defaults } from '../defaults.ts';
import {
  ErrorCode,
  JobwireError,
  RedisBusyError,
  RedisOutOfMemoryError,
  RedisUnavailableError,
  type OptionHint,
} from '../errors.ts';
import { isBusyReply } from './busy.ts';
import { registerScripts, type RedisClient } from './scripts/index.ts';
import {
  clusterCannotServe,
  ensureSlotServed,
  isCluster,
} from './cluster-slots.ts';
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
  host?: string | undefined;
  port?: number | undefined;
  db?: number | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** TLS options passed to `tls.connect`; `{}` enables TLS with defaults. */
  tls?: RedisOptions['tls'] | undefined;
}

/**
 * A Redis URL (`redis://` or `rediss://`), host settings, or an ioredis
 * client (Cluster included) that you own and close yourself.
 * @public
 */
export type ConnectionInput = string | RedisConnectionSettings | RedisClient;

/** Connection options shared by queues, workers and event readers. @public */
export interface ConnectionOptions {
  /** @defaultValue `process.env.REDIS_URL`, else 'redis://127.0.0.1:6379' */
  connection?: ConnectionInput | undefined;
  /** Key prefix. @defaultValue 'jobwire' */
  prefix?: string | undefined;
  /** How long a call waits for Redis to be reachable. @defaultValue 1000 */
  connectTimeoutMs?: number | undefined;
  /** How long a single command may take. @defaultValue 5000 */
  commandTimeoutMs?: number | undefined;
  /** Refuse to start unless `maxmemory-policy` is `noeviction`. @defaultValue false */
  strictRedisConfig?: boolean | undefined;
  /** @defaultValue warnings and errors to stderr */
  logger?: Logger | undefined;
}

/** A client plus whether jobwire created it (and so must close it). */
export interface Connection {
  client: RedisClient;
  owned: boolean;
}

function isClient(input: ConnectionInput): input is RedisClient {
  return input instanceof Redis || input instanceof Cluster;
}

/** Clients being closed: their last connection errors are not news. */
const closing = new WeakSet<RedisClient>();

/**
 * Each client's last connection error: a wrong password or an untrusted
 * certificate leaves the client reconnecting, and "not reachable" alone
 * would hide why.
 */
const lastErrors = new WeakMap<RedisClient, string>();

/**
 * The Redis used when no `connection` is given: `REDIS_URL` when set (as
 * Sidekiq and most hosting platforms have it), else the local default.
 */
export function defaultRedisUrl(): string {
  const url = process.env.REDIS_URL;
  return url !== undefined && url !== '' ? url : 'redis://127.0.0.1:6379';
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
  const input = options.connection ?? defaultRedisUrl();
  let client: RedisClient;
  let owned = true;
  if (isClient(input)) {
    // Keys are built inside the scripts too, where ioredis cannot add the
    // prefix: half a queue's keys would be prefixed and jobs would be lost.
    const o = input.options as {
      keyPrefix?: string;
      redisOptions?: { keyPrefix?: string };
    };
    if ((o.keyPrefix ?? o.redisOptions?.keyPrefix ?? '') !== '') {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `the ioredis client given as connection has keyPrefix ${JSON.stringify(o.keyPrefix ?? o.redisOptions?.keyPrefix)}, which jobwire cannot honour inside its Lua scripts: pass a client without keyPrefix and use jobwire's prefix option`,
      );
    }
    if (role === 'command') {
      client = input;
      owned = false;
    } else {
      // A duplicate is jobwire's, and connects at once as jobwire's own
      // connections do, even when the caller's client is lazy.
      client = duplicateOf(input);
      connectIfLazy(client);
    }
  } else {
    const common: RedisOptions = {
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
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
  // Only the errors since the client was last ready count.
  client.on('ready', () => lastErrors.delete(client));
  client.on('error', (err: Error) => {
    if (closing.has(client)) return;
    lastErrors.set(client, err.message);
    // ioredis reports every failed reconnect; one line per 5 s is enough.
    const now = Date.now();
    if (now - lastLogged > 5000) {
      lastLogged = now;
      logger.warn(`redis connection error (${role}): ${err.message}`);
    }
  });
  registerScripts(client);
  watchEnd(client);
  if (owned) trackForTests('redis', role, () => !hasEnded(client));
  return { client, owned };
}

/**
 * How long ioredis lets a socket it ends close by itself before it destroys
 * it, on jobwire's own clients (ioredis's default is 2000). disconnect() of
 * a client between reconnect attempts starts that timer on the socket that
 * already failed, which never closes again: the timer ran out in full and
 * held the process for 2 s after close(). Nothing waits on a cut socket.
 */
const DISCONNECT_TIMEOUT_MS = 100;

/** A connection of jobwire's own with the settings of the caller's client. */
function duplicateOf(input: RedisClient): RedisClient {
  const own = { disconnectTimeout: DISCONNECT_TIMEOUT_MS };
  return isCluster(input)
    ? input.duplicate([], { redisOptions: own })
    : input.duplicate(own);
}

/** Clients that emitted 'end' and have not started connecting since. */
const endedClients = new WeakSet<RedisClient>();
const watchedClients = new WeakSet<RedisClient>();

/** Records when `client` ends, once per client however often it is passed. */
function watchEnd(client: RedisClient): void {
  if (watchedClients.has(client)) return;
  watchedClients.add(client);
  client.on('end', () => endedClients.add(client));
  client.on('connecting', () => endedClients.delete(client));
}

/**
 * Whether `client` has ended for good. A Cluster is not always at status
 * 'end' then: after disconnect() each of its nodes' ends sets it back to
 * 'close' (and one disconnected while reconnecting stays 'disconnecting'),
 * and it emits no second 'end', so a wait for one would last its timeout.
 */
export function hasEnded(client: RedisClient): boolean {
  if (client.status === 'end') return true;
  return (
    endedClients.has(client) &&
    (client.status === 'close' || client.status === 'disconnecting')
  );
}

/**
 * Connects a client created with ioredis's `lazyConnect` that is still
 * waiting (status 'wait') for its first command: jobwire waits for 'ready'
 * before it sends anything, so such a client never connected. With
 * `deferred`, a microtask later and only if `signal` has not aborted: a
 * caller who calls `client.connect()` right after handing the client over
 * connects it first (ioredis rejects a second connect()).
 */
export function connectIfLazy(
  client: RedisClient,
  deferred?: { signal: AbortSignal },
): void {
  if (client.status !== 'wait') return;
  const connect = (): void => {
    if (client.status !== 'wait' || deferred?.signal.aborted === true) return;
    // A failure reaches the client's 'error' listeners, and its waiters
    // through the timeout's message (last error).
    client.connect().catch(() => {});
  };
  if (deferred === undefined) connect();
  else queueMicrotask(connect);
}

/** The error of a wait whose client was closed. */
function closedError(): JobwireError {
  return new JobwireError(ErrorCode.CLOSED, 'connection is closed');
}

/**
 * One wait per client for its next 'ready' (or its end), shared by every
 * caller waiting at once: a listener per caller went past Node's 10 and
 * warned (MaxListenersExceededWarning) with a few hundred calls on a queue
 * still connecting. Removed with its listeners once no caller is left.
 */
interface ReadyWait {
  /** Resolves at 'ready'; rejects with CLOSED at 'end'. */
  readonly settled: Promise<void>;
  callers: number;
  stop(): void;
}

const readyWaits = new WeakMap<RedisClient, ReadyWait>();

function sharedReadyWait(client: RedisClient): ReadyWait {
  const existing = readyWaits.get(client);
  if (existing !== undefined) return existing;
  let onReady = (): void => {};
  let onEnd = (): void => {};
  const stop = (): void => {
    client.off('ready', onReady);
    client.off('end', onEnd);
    if (readyWaits.get(client) === wait) readyWaits.delete(client);
  };
  const settled = new Promise<void>((resolve, reject) => {
    onReady = () => {
      stop();
      resolve();
    };
    // Ended while waiting (closed): fail at once. The callers' timers
    // would otherwise outlive the close and hold the process.
    onEnd = () => {
      stop();
      reject(closedError());
    };
  });
  // Every caller awaits it; none may be left when it rejects.
  settled.catch(() => {});
  const wait: ReadyWait = { settled, callers: 0, stop };
  client.on('ready', onReady);
  client.on('end', onEnd);
  readyWaits.set(client, wait);
  return wait;
}

/** `; last error: …` for a client that reported one, else ''. */
function lastErrorOf(client: RedisClient): string {
  const last = lastErrors.get(client);
  return last === undefined ? '' : `; last error: ${last}`;
}

/**
 * The text of a wait for `client` that ran out after `timeoutMs`, with the
 * option that bounds it (`bound`, '' for none) and the last error; a wait
 * bounded by connectTimeoutMs carries it as a hint too, so a front end (the
 * CLI) can give its own advice without reading the text.
 */
export function notReachable(
  client: RedisClient,
  timeoutMs: number,
  bound: '' | ' (connectTimeoutMs)',
): { message: string; hint?: OptionHint } {
  const state = `; status ${client.status}${lastErrorOf(client)}`;
  const message = `Redis not reachable within ${timeoutMs} ms${bound}${state}`;
  if (bound === '') return { message };
  const problem = `Redis not reachable within ${timeoutMs} ms${state}`;
  return { message, hint: { option: 'connectTimeoutMs', problem } };
}

/** Waits until the client is ready, or fails with RedisUnavailableError. */
export async function ensureReady(
  client: RedisClient,
  timeoutMs: number,
): Promise<void> {
  if (client.status === 'ready') return;
  if (hasEnded(client)) throw closedError();
  connectIfLazy(client);
  const wait = sharedReadyWait(client);
  wait.callers++;
  let timer: NodeJS.Timeout | undefined;
  const failure = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RedisUnavailableError(
            notReachable(client, timeoutMs, ' (connectTimeoutMs)'),
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([wait.settled, failure]);
  } finally {
    clearTimeout(timer);
    if (--wait.callers === 0) wait.stop();
  }
}

/** Maps an ioredis failure to a typed error; other errors pass through. */
export function mapRedisError(err: unknown): unknown {
  if (err instanceof JobwireError || !(err instanceof Error)) return err;
  const msg = err.message;
  if (msg.startsWith('OOM')) return new RedisOutOfMemoryError({ cause: err });
  if (msg.startsWith('BUSY '))
    return new RedisBusyError(
      'Redis is busy running a Lua script past busy-reply-threshold (BUSY): the command was not run, and is safe to retry once the script ends',
      { cause: err },
    );
  // An ACL that denies a command or key jobwire uses (also inside a
  // script): the setup is wrong, not the data. Before the script check
  // below, whose words ("user_script") the message shares.
  if (/NOPERM|can't run this command|No permissions to access/.test(msg)) {
    return new JobwireError(
      ErrorCode.REDIS_NO_PERMISSION,
      `the Redis user lacks a permission jobwire needs (see "Permissions" in docs/connections.md): ${msg}`,
      { cause: err },
    );
  }
  if (notSent(err))
    return new RedisUnavailableError(
      `Redis unavailable: the connection had closed, so the call was not sent (${msg})`,
      { cause: err },
    );
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
    // Redis Cluster: a slot without a reachable master, or a cluster that
    // declared itself down, after ioredis gave up redirecting.
    /Too many Cluster redirections|^(ReplyError: )?(CLUSTERDOWN|TRYAGAIN|MOVED|ASK) |Cluster isn't ready|Cluster is ended|Failed to refresh slots cache|None of startup nodes is available/.test(
      msg,
    ) ||
    err.name === 'MaxRetriesPerRequestError' ||
    err.name === 'ClusterAllFailedError'
  ) {
    return new RedisUnavailableError(
      `Redis unavailable: ${msg} (a write in flight may or may not have been applied)`,
      { cause: err },
    );
  }
  return err;
}

/**
 * Runs `fn` once Redis is ready, mapping connection failures to typed errors.
 * On a Cluster, `slotKey` names a key of the slot `fn` works on: the call
 * waits at most `timeoutMs` for that slot's master before anything is sent,
 * and is given up (outcome unknown) once the slot stops being served while
 * it is in flight, rather than after ioredis's redirection rounds.
 *
 * `fn` makes one call (a command, a script or a pipeline): when ioredis
 * refuses it unsent because the socket has just closed, it is made again
 * once the client reconnects, within `timeoutMs` (see notSent).
 */
export function withRedis<TResult>(
  client: RedisClient,
  timeoutMs: number,
  fn: () => Promise<TResult>,
  slotKey?: string,
): Promise<TResult> {
  // The common case, a ready client and no slot to guard, settles one
  // microtask after `fn`'s promise: this wraps every enqueue.
  if (
    client.status === 'ready' &&
    (slotKey === undefined || !isCluster(client))
  ) {
    let call: Promise<TResult>;
    try {
      call = fn();
    } catch (err) {
      return Promise.reject(mapRedisError(err));
    }
    return call.then(undefined, (err: unknown) =>
      notSent(err)
        ? withRedisWaiting(client, timeoutMs, fn, slotKey, true)
        : rethrowMapped(err),
    );
  }
  return withRedisWaiting(client, timeoutMs, fn, slotKey, false);
}

function rethrowMapped(err: unknown): never {
  throw mapRedisError(err);
}

/**
 * ioredis refused the call before writing anything: its socket had closed
 * (offline queueing is off). The client reads `ready` for a moment after
 * the close, so a call made then fails at once although Redis may be back
 * within milliseconds; nothing reached Redis, so it is safe to make again.
 */
function notSent(err: unknown): boolean {
  return (
    err instanceof Error && err.message.startsWith("Stream isn't writeable")
  );
}

/** How long to let a just-closed client notice its close before waiting for it. */
const CLOSE_NOTICE_MS = 10;

/**
 * withRedis when the client is not ready yet, a cluster slot is named, or
 * a call was refused unsent (`unsent`): waits for the client, then calls,
 * until `timeoutMs` has passed.
 */
async function withRedisWaiting<TResult>(
  client: RedisClient,
  timeoutMs: number,
  fn: () => Promise<TResult>,
  slotKey: string | undefined,
  unsent: boolean,
): Promise<TResult> {
  const deadline = Date.now() + timeoutMs;
  for (let refused = unsent; ;) {
    // Still `ready` after a refusal: its close event has not run yet.
    if (refused && client.status === 'ready') await delay(CLOSE_NOTICE_MS);
    // The first wait is the whole timeout, as its error message says.
    const waitMs = refused ? Math.max(1, deadline - Date.now()) : timeoutMs;
    if (client.status !== 'ready') await ensureReady(client, waitMs);
    try {
      if (slotKey === undefined || !isCluster(client)) return await fn();
      await ensureSlotServed(client, slotKey, waitMs);
      return await guardClusterCall(client, slotKey, timeoutMs, fn());
    } catch (err) {
      if (notSent(err) && Date.now() < deadline) {
        refused = true;
        continue;
      }
      throw mapRedisError(err);
    }
  }
}

/**
 * Settles with `call`, unless every `timeoutMs` while it runs the cluster
 * is found unable to serve `key`: then fails with RedisUnavailableError.
 * A slow call on a healthy cluster is left alone.
 */
async function guardClusterCall<TResult>(
  cluster: Cluster,
  key: string,
  timeoutMs: number,
  call: Promise<TResult>,
): Promise<TResult> {
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const guard = new Promise<never>((_, reject) => {
    const check = async (): Promise<void> => {
      if (settled) return;
      if (await clusterCannotServe(cluster, key, timeoutMs)) {
        reject(
          new RedisUnavailableError(
            `Redis Cluster cannot serve the slot of ${key} (master unreachable or CLUSTERDOWN); gave up after ${timeoutMs} ms (connectTimeoutMs); the call may or may not have been applied`,
          ),
        );
      } else if (!settled) timer = setTimeout(() => void check(), timeoutMs);
    };
    timer = setTimeout(() => void check(), timeoutMs);
  });
  try {
    return await Promise.race([call, guard]);
  } finally {
    settled = true;
    clearTimeout(timer);
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
    // BUSY (a long script) or a dropped or timed-out connection says
    // nothing of the policy: the caller asks again. Only a refusal (NOPERM,
    // CONFIG renamed or unknown) means it cannot be read.
    if (isBusyReply(err) || mapRedisError(err) instanceof RedisUnavailableError)
      throw err;
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

/**
 * How long close() lets QUIT wait for its reply before it cuts the
 * connection. QUIT comes after every write it closes was answered (or
 * given up), so cutting loses nothing; but a Redis that is frozen
 * (SIGSTOP) or behind a silent link keeps the socket `ready` and never
 * replies, and a blocking connection has no command timeout: QUIT waited
 * for ever, and close() with it.
 */
const QUIT_WAIT_MS = 1000;

/** Closes a connection jobwire owns; leaves a caller's client open. */
export async function closeConnection(conn: Connection): Promise<void> {
  if (!conn.owned) return;
  const client = conn.client;
  if (hasEnded(client)) return;
  closing.add(client);
  if (client.status !== 'ready') {
    // Never connected (or reconnecting): nothing to flush, so no QUIT.
    await endNow(client);
    return;
  }
  const quit = client.quit().then(
    () => true,
    () => false,
  );
  const answered = (await settlesWithin(quit, QUIT_WAIT_MS)) && (await quit);
  if (!answered) await endNow(client);
}

/** Whether `work` settles (either way) within `ms`; leaves no timer behind. */
export async function settlesWithin(
  work: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Cuts a connection jobwire owns at once, with no QUIT: for a close that
 * gave up waiting on Redis. Its commands still pending reject ("Connection
 * is closed"), and waits for it to be ready end with CLOSED. Leaves a
 * caller's client open.
 */
export async function dropConnection(conn: Connection): Promise<void> {
  if (!conn.owned || hasEnded(conn.client)) return;
  closing.add(conn.client);
  await endNow(conn.client);
}

/**
 * Ends a client at once, whatever its state. Between two reconnect
 * attempts ('reconnecting') ioredis's disconnect() only cancels the next
 * attempt and leaves the client in that state for ever, never 'end': the
 * client leaked, and with it whatever waited for its end. Starting an
 * attempt and cutting it at once makes ioredis end it: the attempt is
 * abandoned before it opens a socket. Resolves once the client has ended
 * (ioredis ends it a tick later), or after 2 s at most.
 */
async function endNow(client: RedisClient): Promise<void> {
  // A Cluster ends when the last of its nodes does: one with no node left
  // (between reconnect attempts, or cut by a worker's interrupt) emits no
  // 'end' on disconnect(), but keeps nothing open either.
  const silent =
    isCluster(client) &&
    client.status !== 'wait' &&
    client.nodes('all').length === 0;
  let timer: NodeJS.Timeout | undefined;
  let onEnd: (() => void) | undefined;
  const ended = new Promise<void>((resolve) => {
    onEnd = resolve;
    client.once('end', onEnd);
    timer = setTimeout(resolve, 2000);
  });
  client.disconnect();
  if (
    client instanceof Redis &&
    (client.status === 'reconnecting' || client.status === 'close')
  ) {
    client.connect().catch(() => {});
    client.disconnect();
  }
  if (silent) endedClients.add(client);
  else if (client.status !== 'end') await ended;
  clearTimeout(timer);
  if (onEnd) client.off('end', onEnd);
}
