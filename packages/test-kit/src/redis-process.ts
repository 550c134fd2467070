/**
 * Private redis-server processes on free loopback ports, for tests, the
 * bench and scripts: no test-runner imports here (useRedis() lives in
 * vitest.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface StartRedisOptions {
  appendonly?: boolean;
  extraArgs?: string[];
  /**
   * The server binary (default `redis-server` on the PATH): e.g. a newer
   * Redis or a Valkey build, for features the system's Redis lacks.
   */
  binary?: string;
}

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  dir: string;
  pid: number;
  /** SIGKILL the server and wait for the process to exit. */
  kill9(): Promise<void>;
  /** Start again on the same port and dir, and wait until it is ready. */
  restart(): Promise<void>;
  /** SIGKILL if running, then remove the data dir. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 20;

const checkedBinaries = new Set<string>();

// Servers still running when this process exits (crash, aborted run) are
// SIGKILLed so they don't outlive the test worker.
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveDirs)
      fs.rmSync(dir, { recursive: true, force: true });
  });
}

function trackChild(proc: ChildProcess): void {
  installExitHook();
  liveChildren.add(proc);
  proc.once('exit', () => liveChildren.delete(proc));
}

function ensureRedisBinary(binary: string): void {
  if (checkedBinaries.has(binary)) return;
  const res = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  if (res.error || res.status !== 0) {
    throw new Error(
      binary === 'redis-server'
        ? 'redis-server not found: install it with `apt-get install -y redis-server`'
        : `${binary} does not run (${binary} --version failed)`,
    );
  }
  checkedBinaries.add(binary);
}

/** A TCP port on 127.0.0.1 that nothing listens on at the moment of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not determine a free port'));
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

/** One raw PING over a fresh socket; resolves true on +PONG. */
function pingOnce(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    let buf = '';
    let settled = false;
    const finish = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      if (buf.includes('\r\n')) finish(buf.startsWith('+PONG'));
    });
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

function logTail(logFile: string, lines = 20): string {
  try {
    const text = fs.readFileSync(logFile, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log file)';
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function isRunning(child: ChildProcess | undefined): boolean {
  return (
    child !== undefined && child.exitCode === null && child.signalCode === null
  );
}

export async function startRedis(
  opts: StartRedisOptions = {},
): Promise<RedisServer> {
  const binary = opts.binary ?? 'redis-server';
  ensureRedisBinary(binary);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-redis-'));
  installExitHook();
  liveDirs.add(dir);
  const logFile = path.join(dir, 'redis.log');
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    opts.appendonly ? 'yes' : 'no',
    '--daemonize',
    'no',
    '--logfile',
    logFile,
    ...(opts.extraArgs ?? []),
  ];

  let child: ChildProcess | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    const proc = spawn(binary, args, { stdio: 'ignore' });
    child = proc;
    trackChild(proc);
    let spawnError: Error | undefined;
    proc.once('error', (err) => {
      spawnError = err;
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError) {
        throw new Error(
          `failed to spawn ${binary}: ${spawnError.message}\n` +
            `--- ${logFile} ---\n${logTail(logFile)}`,
        );
      }
      if (!isRunning(proc)) {
        throw new Error(
          `redis-server on port ${port} exited early ` +
            `(code=${String(proc.exitCode)}, signal=${String(proc.signalCode)})\n` +
            `--- ${logFile} ---\n${logTail(logFile)}`,
        );
      }
      if (await pingOnce(port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await waitForExit(proc);
        throw new Error(
          `redis-server on port ${port} did not answer PING within ` +
            `${READY_TIMEOUT_MS} ms\n--- ${logFile} ---\n${logTail(logFile)}`,
        );
      }
      await sleep(POLL_INTERVAL_MS);
    }
  };

  const kill9 = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || !isRunning(proc)) return;
    proc.kill('SIGKILL');
    await waitForExit(proc);
  };

  try {
    await launch();
  } catch (err) {
    await kill9();
    fs.rmSync(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw err;
  }

  const stop = async (): Promise<void> => {
    await kill9();
    if (!stopped) {
      stopped = true;
      fs.rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    }
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid(): number {
      return child?.pid ?? -1;
    },
    kill9,
    async restart(): Promise<void> {
      if (stopped) throw new Error('redis-server was stopped; cannot restart');
      await kill9();
      await launch();
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
