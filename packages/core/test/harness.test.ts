import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startRedis, uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { RESOURCES_KEY, trackResource } from './setup/leak-check.ts';

type RespReply = string | null;

function encode(args: string[]): string {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return out;
}

/** Parse one simple/error/integer/bulk reply; undefined if incomplete. */
function parseReply(buf: string): RespReply | undefined {
  const eol = buf.indexOf('\r\n');
  if (eol < 0) return undefined;
  const type = buf[0];
  const head = buf.slice(1, eol);
  if (type === '+' || type === ':') return head;
  if (type === '-') return `ERR:${head}`;
  if (type === '$') {
    const len = Number(head);
    if (len < 0) return null;
    const body = buf.slice(eol + 2);
    if (Buffer.byteLength(body) < len + 2) return undefined;
    return body.slice(0, len);
  }
  throw new Error(`unexpected RESP reply: ${JSON.stringify(buf)}`);
}

/** Send one command over a fresh raw socket and return its reply. */
function command(port: number, ...args: string[]): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout waiting for reply to ${args.join(' ')}`));
    }, 2_000);
    socket.once('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      try {
        const reply = parseReply(buf);
        if (reply === undefined) return;
        clearTimeout(timer);
        socket.destroy();
        resolve(reply);
      } catch (err) {
        clearTimeout(timer);
        socket.destroy();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Resolves with the connection error code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.destroy();
      resolve(err.code ?? err.message);
    });
  });
}

describe('redis-server harness', () => {
  const redis = useRedis();

  it('useRedis starts a private server that answers PING', async () => {
    expect(redis.server.port).not.toBe(6379);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.server.port}`);
    expect(redis.server.pid).toBeGreaterThan(0);
    expect(await command(redis.server.port, 'PING')).toBe('PONG');
  });

  it('kill9 makes the port refuse connections, restart brings it back', async () => {
    await using server = await startRedis();
    const { port, dir } = server;
    const firstPid = server.pid;
    expect(await command(port, 'PING')).toBe('PONG');

    await server.kill9();
    expect(await tryConnect(port)).toBe('ECONNREFUSED');

    await server.restart();
    expect(server.port).toBe(port);
    expect(server.dir).toBe(dir);
    expect(server.pid).not.toBe(firstPid);
    expect(await command(port, 'PING')).toBe('PONG');
  }, 10_000);

  it('with appendonly + appendfsync always, a SET survives kill9', async () => {
    await using server = await startRedis({
      appendonly: true,
      extraArgs: ['--appendfsync', 'always'],
    });
    expect(await command(server.port, 'SET', 'k', 'v')).toBe('OK');

    await server.kill9();
    await server.restart();

    expect(await command(server.port, 'GET', 'k')).toBe('v');
  }, 10_000);

  it('stop kills the server and removes its dir', async () => {
    const fs = await import('node:fs');
    const server = await startRedis();
    const { port, dir } = server;
    expect(fs.existsSync(dir)).toBe(true);
    await server.stop();
    expect(fs.existsSync(dir)).toBe(false);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    await server.stop(); // idempotent
  }, 10_000);
});

describe('uniqueQueue', () => {
  it('returns distinct, safe queue names', () => {
    const safe = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
    const names = Array.from({ length: 50 }, () => uniqueQueue());
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(safe);
    expect(uniqueQueue('emails')).toMatch(/^emails-[0-9a-f]{8}$/);
  });
});

describe('leak-check registry', () => {
  it('is an array on globalThis that runtime code can push into', () => {
    const g = globalThis as { [RESOURCES_KEY]?: unknown };
    expect(Array.isArray(g[RESOURCES_KEY])).toBe(true);
    let open = true;
    trackResource('worker', 'queue=harness', () => open);
    // Closed before the test ends: the afterEach check must not fail.
    open = false;
  });
});
