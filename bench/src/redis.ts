/**
 * A private redis-server for the benchmark: free loopback port, temp dir,
 * persistence off. It is SIGKILLed on every way out of the process (normal
 * exit, an uncaught error, SIGINT/SIGTERM), so CI never leaks a server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/** What one `INFO` call tells us, reduced to what the benchmark needs. */
export interface RedisSnapshot {
  /** used_cpu_sys + used_cpu_user, in microseconds. */
  cpuUs: number;
  /** Calls per command (cmdstat_*), INFO itself left out. */
  calls: Map<string, number>;
  usedMemory: number;
}

/** Difference between two snapshots. */
export interface RedisDelta {
  cpuUs: number;
  /** All commands, those run inside Lua included. */
  commands: number;
  /** EVAL/EVALSHA/FCALL calls. */
  scripts: number;
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

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of tempDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.once('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping redis-server`);
      killAllSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  process.on('uncaughtException', (err) => {
    console.error('bench: uncaught exception:', err);
    killAllSync();
    process.exit(1);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not find a free port'));
        return;
      }
      const { port } = addr;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tail(file: string): string {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(-15)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

/** Parses `INFO` text into a flat field → value map. */
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
  const byCommand = new Map<string, number>();
  for (const [cmd, calls] of b.calls) {
    const d = calls - (a.calls.get(cmd) ?? 0);
    if (d > 0) byCommand.set(cmd, d);
    commands += d;
    if (SCRIPT_COMMANDS.has(cmd)) scripts += d;
  }
  return {
    cpuUs: b.cpuUs - a.cpuUs,
    commands,
    scripts,
    usedMemory: b.usedMemory - a.usedMemory,
    byCommand,
  };
}

export async function startRedis(): Promise<PrivateRedis> {
  installExitHooks();
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      'redis-server not found: install it (apt-get install -y redis-server)',
    );
  }
  const version = /v=(\S+)/.exec(probe.stdout)?.[1] ?? 'unknown';
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-bench-'));
  tempDirs.add(dir);
  const logFile = path.join(dir, 'redis.log');
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--logfile',
      logFile,
    ],
    { stdio: 'ignore' },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));

  const admin = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: (n) => (n > 100 ? null : 50),
  });
  admin.on('error', () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`redis-server exited early:\n${tail(logFile)}`);
    }
    try {
      await admin.connect();
      await admin.ping();
      break;
    } catch (err) {
      admin.disconnect();
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `redis-server did not answer within 10 s (${String(err)}):\n${tail(logFile)}`,
        );
      }
      await sleep(50);
    }
  }

  const selfId = Number(await admin.client('ID'));

  const snapshot = async (): Promise<RedisSnapshot> => {
    const info = parseInfo(
      (await admin.call('INFO', 'cpu', 'memory', 'commandstats')) as string,
    );
    const calls = new Map<string, number>();
    for (const [k, v] of info) {
      if (!k.startsWith('cmdstat_')) continue;
      const cmd = k.slice('cmdstat_'.length);
      if (HARNESS_COMMANDS.has(cmd)) continue;
      calls.set(cmd, Number(/calls=(\d+)/.exec(v)?.[1] ?? 0));
    }
    const cpu =
      Number(info.get('used_cpu_sys') ?? 0) +
      Number(info.get('used_cpu_user') ?? 0);
    return {
      cpuUs: cpu * 1e6,
      calls,
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
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGKILL');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}
