import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Redis the examples can use, and how to let go of it. */
export interface ExampleRedis {
  url: string;
  /** Where it came from, for the demo's first line. */
  source: 'REDIS_URL' | 'local' | 'private';
  stop(): Promise<void>;
}

function ping(
  port: number,
  host = '127.0.0.1',
  timeoutMs = 300,
): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        resolve(typeof addr === 'object' && addr ? addr.port : 0),
      );
    });
  });
}

/**
 * Finds a Redis: `REDIS_URL`, else 127.0.0.1:6379 when it answers, else a
 * private `redis-server` on a free port in a temp dir, stopped by `stop()`.
 * Returns undefined when none of these is possible.
 */
export async function findOrStartRedis(): Promise<ExampleRedis | undefined> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv)
    return { url: fromEnv, source: 'REDIS_URL', stop: async () => {} };
  if (await ping(6379)) {
    return {
      url: 'redis://127.0.0.1:6379',
      source: 'local',
      stop: async () => {},
    };
  }
  if (spawnSync('redis-server', ['--version']).error) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'jobwire-demo-'));
  const child: ChildProcess = spawn(
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
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && !(await ping(port)); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    source: 'private',
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
