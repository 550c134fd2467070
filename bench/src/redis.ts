/**
 * A private redis-server for the benchmark: free loopback port, temp dir,
 * persistence off. It is SIGKILLed on every way out of the process (normal
 * exit, an uncaught error, SIGINT/SIGTERM), so CI never leaks a server.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { startRedis as startServer } from '@jobwire/test-kit';

/** What one `INFO` call tells us, reduced to what the benchmark needs. */
export interface RedisSnapshot {
  /** used_cpu_sys + used_cpu_user, in microseconds. */
  cpuUs: number;
  /** Calls per command (cmdstat_*), INFO itself left out. */
  calls: Map<string, number>;
  /** Microseconds spent per command (cmdstat_* usec), INFO left out. */
  usec: Map<string, number>;
  usedMemory: number;
}

/** Difference between two snapshots. */
export interface RedisDelta {
  cpuUs: number;
  /** All commands, those run inside Lua included. */
  commands: number;
  /** EVAL/EVALSHA/FCALL calls. */
  scripts: number;
  /**
   * Calls of commands a script may run (`redis.call`) — all commands but
   * the top-level-only ones (see `isTopLevelOnly`). Exact for a system that
   * sends nothing but scripts and top-level-only commands (jobwire); not for
   * one that sends plain commands or MULTI blocks (Bee-Queue).
   */
  scriptableCalls: number;
  /**
   * Microseconds in scripts and top-level-only commands, from commandstats:
   * the time Redis spends executing what the clients sent, with the calls
   * inside scripts counted once (in their script). Same caveat.
   */
  topLevelUsec: number;
  usedMemory: number;
  /** Calls per command, only those that changed. */
  byCommand: Map<string, number>;
}

const SCRIPT_COMMANDS = new Set([
  'eval',
  'evalsha',
  'eval_ro',
  'evalsha_ro',
  'fcall',
  'fcall_ro',
]);
/**
 * Commands a script cannot run or that clients send to block on, so their
 * calls in commandstats are top-level ones.
 */
const TOP_LEVEL_ONLY = new Set([
  ...SCRIPT_COMMANDS,
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'hello',
  'auth',
  'quit',
  'select',
  'ping',
  'wait',
  'blpop',
  'brpop',
  'brpoplpush',
  'blmove',
  'blmpop',
  'bzpopmin',
  'bzpopmax',
  'bzmpop',
  'xread',
  'xreadgroup',
]);
const TOP_LEVEL_PREFIXES = ['client|', 'config|', 'script|', 'command'];

/** Whether `cmd` (as commandstats names it) only ever runs top-level. */
export function isTopLevelOnly(cmd: string): boolean {
  return (
    TOP_LEVEL_ONLY.has(cmd) || TOP_LEVEL_PREFIXES.some((p) => cmd.startsWith(p))
  );
}

/** Commands the harness itself sends between snapshots. */
const HARNESS_COMMANDS = new Set(['info']);

export interface PrivateRedis {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly version: string;
  /** The harness's own connection (INFO, FLUSHDB, CLIENT). */
  readonly admin: Redis;
  flush(): Promise<void>;
  snapshot(): Promise<RedisSnapshot>;
  /** Connections other than the admin one. */
  otherClients(): Promise<number>;
  /** Kills every connection but the admin one (after a hung system). */
  killOtherClients(): Promise<void>;
  stop(): Promise<void>;
}

let hooksInstalled = false;

/**
 * Turns signals and uncaught errors into a normal exit, on which the
 * server helper SIGKILLs its servers and removes their directories.
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping redis-server`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('uncaughtException', (err) => {
    console.error('bench: uncaught exception:', err);
    process.exit(1);
  });
}

export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

export function diff(a: RedisSnapshot, b: RedisSnapshot): RedisDelta {
  let commands = 0;
  let scripts = 0;
  let scriptableCalls = 0;
  let topLevelUsec = 0;
  const byCommand = new Map<string, number>();
  for (const [cmd, calls] of b.calls) {
    const d = calls - (a.calls.get(cmd) ?? 0);
    if (d > 0) byCommand.set(cmd, d);
    commands += d;
    if (SCRIPT_COMMANDS.has(cmd)) scripts += d;
    if (isTopLevelOnly(cmd)) {
      topLevelUsec += (b.usec.get(cmd) ?? 0) - (a.usec.get(cmd) ?? 0);
    } else {
      scriptableCalls += d;
    }
  }
  return {
    cpuUs: b.cpuUs - a.cpuUs,
    commands,
    scripts,
    scriptableCalls,
    topLevelUsec,
    usedMemory: b.usedMemory - a.usedMemory,
    byCommand,
  };
}

export async function startRedis(): Promise<PrivateRedis> {
  installExitHooks();
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const version = /v=(\S+)/.exec(probe.stdout ?? '')?.[1] ?? 'unknown';
  // Persistence off, free loopback port, temp dir; ready when it answers PING.
  const server = await startServer();
  const port = server.port;
  const admin = new Redis({
    host: '127.0.0.1',
    port,
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => (n > 100 ? null : 50),
  });
  admin.on('error', () => {});
  await admin.ping();

  const selfId = Number(await admin.client('ID'));

  const snapshot = async (): Promise<RedisSnapshot> => {
    const info = parseInfo(
      (await admin.call('INFO', 'cpu', 'memory', 'commandstats')) as string,
    );
    const calls = new Map<string, number>();
    const usec = new Map<string, number>();
    for (const [k, v] of info) {
      if (!k.startsWith('cmdstat_')) continue;
      const cmd = k.slice('cmdstat_'.length);
      if (HARNESS_COMMANDS.has(cmd)) continue;
      calls.set(cmd, Number(/calls=(\d+)/.exec(v)?.[1] ?? 0));
      usec.set(cmd, Number(/usec=(\d+)/.exec(v)?.[1] ?? 0));
    }
    const cpu =
      Number(info.get('used_cpu_sys') ?? 0) +
      Number(info.get('used_cpu_user') ?? 0);
    return {
      cpuUs: cpu * 1e6,
      calls,
      usec,
      usedMemory: Number(info.get('used_memory') ?? 0),
    };
  };

  const clientIds = async (): Promise<number[]> => {
    const list = (await admin.client('LIST')) as string;
    return list
      .split('\n')
      .map((l) => Number(/\bid=(\d+)/.exec(l)?.[1]))
      .filter((id) => Number.isFinite(id) && id !== selfId);
  };

  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    version,
    admin,
    async flush() {
      await admin.flushdb();
    },
    snapshot,
    async otherClients() {
      return (await clientIds()).length;
    },
    async killOtherClients() {
      for (const id of await clientIds()) {
        await admin.client('KILL', 'ID', String(id)).catch(() => {});
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      admin.disconnect();
      await server.stop();
    },
  };
}
