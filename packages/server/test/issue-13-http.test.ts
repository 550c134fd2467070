/**
 * Issue 13 over HTTP: job types named like Object.prototype members in
 * /stats, ids the URL layer cannot carry, Cache-Control on every route, a
 * client aborting mid-body, and deep payloads.
 */
import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineJobs, job, type Logger } from '@jobwire/core';
import { startServer, type RunningServer } from '@jobwire/server';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { sleep } from '../../core/test/helpers/wait.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const jsonHeaders = { ...auth, 'content-type': 'application/json' };

function registryFor(queue: string) {
  return defineJobs({
    constructor: job({ queue, payload: z.object({ n: z.number() }) }),
    toString: job({ queue, payload: z.object({ n: z.number() }) }),
    valueOf: job({ queue, payload: z.unknown() }),
    hasOwnProperty: job({ queue, payload: z.object({ n: z.number() }) }),
  });
}

let logged: string[];
const logger: Logger = {
  warn: (m) => logged.push(`warn: ${m}`),
  error: (m) => logged.push(`error: ${m}`),
};
beforeEach(() => {
  logged = [];
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function withServer(
  fn: (s: RunningServer, queue: string) => Promise<void>,
): Promise<void> {
  const queue = uniqueQueue('http13');
  const server = await startServer({
    registry: registryFor(queue),
    connection: redis.url,
    token: TOKEN,
    port: 0,
    logger,
  });
  try {
    await fn(server, queue);
  } finally {
    await server.close();
  }
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: jsonHeaders,
    body: JSON.stringify(body),
  });
}

/** Sends `request` as raw bytes; resolves with what came back until close. */
function rawRequest(url: string, request: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write(request),
    );
    let out = '';
    socket.on('data', (d: Buffer) => (out += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
  });
}

describe('issue 13 over HTTP', () => {
  it('1: /stats counts job types named constructor, toString, valueOf, hasOwnProperty', async () => {
    await withServer(async (s) => {
      const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty'];
      for (const [i, name] of names.entries()) {
        for (let k = 0; k <= i; k++) {
          const res = await post(`${s.url}/jobs`, {
            name,
            payload: { n: k },
          });
          expect(res.status).toBe(201);
        }
      }
      const res = await fetch(`${s.url}/stats`, { headers: auth });
      const stats = (await res.json()) as {
        waiting: number;
        byType: Record<string, { waiting: number }>;
      };
      expect(stats.waiting).toBe(10);
      for (const [i, name] of names.entries()) {
        expect(Object.hasOwn(stats.byType, name)).toBe(true);
        expect(stats.byType[name]?.waiting).toBe(i + 1);
      }
    });
  });

  it('2: jobIds "." and ".." are refused naming options.jobId; dot segments in a path are 400', async () => {
    await withServer(async (s) => {
      for (const jobId of ['.', '..']) {
        const res = await post(`${s.url}/jobs`, {
          name: 'valueOf',
          payload: 1,
          options: { jobId },
        });
        expect(res.status).toBe(400);
        const body = (await res.json()) as {
          error: { code: string; issues: { path: string }[] };
        };
        expect(body.error.code).toBe('VALIDATION_FAILED');
        expect(body.error.issues[0]?.path).toBe('options.jobId');
      }
      // A job whose id is `log`, which `/jobs/./log` used to reach.
      expect(
        (
          await post(`${s.url}/jobs`, {
            name: 'valueOf',
            payload: 1,
            options: { jobId: 'log' },
          })
        ).status,
      ).toBe(201);
      for (const path of [
        '/jobs/./log',
        '/jobs/..',
        '/jobs/%2e%2e',
        '/jobs/%2E/log',
        '/jobs/log/..?queue=x',
      ]) {
        const reply = await rawRequest(
          s.url,
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`,
        );
        expect(reply, path).toMatch(/^HTTP\/1\.1 400 /);
        expect(reply, path).toContain('BAD_REQUEST');
      }
      // Ids with ':' and dots inside work over HTTP.
      const created = await post(`${s.url}/jobs`, {
        name: 'valueOf',
        payload: 1,
        options: { jobId: 'user:1.2' },
      });
      expect(created.status).toBe(201);
      const got = await fetch(`${s.url}/jobs/user:1.2`, { headers: auth });
      expect(got.status).toBe(200);
      // An id naming another job's log is simply not found.
      const del = await fetch(`${s.url}/jobs/log:log`, {
        method: 'DELETE',
        headers: auth,
      });
      expect(del.status).toBe(404);
    });
  });

  it('5: every route answers Cache-Control: no-store, the event stream included', async () => {
    await withServer(async (s, queue) => {
      const created = await post(`${s.url}/jobs`, {
        name: 'valueOf',
        payload: 1,
        options: { delayMs: 60_000 },
      });
      const { id } = (await created.json()) as { id: string };
      const routes: [string, string, unknown?][] = [
        ['GET', '/health'],
        ['GET', '/queues'],
        ['GET', '/stats'],
        ['GET', '/jobs?state=delayed'],
        ['GET', `/jobs/${id}`],
        ['GET', `/jobs/${id}/log`],
        ['POST', `/jobs/${id}/promote`],
        ['POST', `/jobs/${id}/retry`],
        ['DELETE', `/jobs/${id}`],
        ['POST', '/jobs', { name: 'valueOf', payload: 1 }],
        ['GET', '/'],
        ['GET', '/assets/app.js'],
        ['GET', '/no-such-route'],
      ];
      for (const [method, path, body] of routes) {
        const res = await fetch(`${s.url}${path}`, {
          method,
          headers: body === undefined ? auth : jsonHeaders,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        await res.arrayBuffer();
        expect(res.headers.get('cache-control'), `${method} ${path}`).toBe(
          'no-store',
        );
      }
      const unauthorised = await fetch(`${s.url}/stats`);
      expect(unauthorised.status).toBe(401);
      expect(unauthorised.headers.get('cache-control')).toBe('no-store');
      const abort = new AbortController();
      const events = await fetch(`${s.url}/events?queue=${queue}`, {
        headers: auth,
        signal: abort.signal,
      });
      expect(events.status).toBe(200);
      expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
      expect(events.headers.get('cache-control')).toBe('no-store');
      abort.abort();
      await events.body?.cancel().catch(() => {});
    });
  });

  it('7: a client aborting mid-body is neither logged as an error nor answered', async () => {
    const consoleError = vi.spyOn(console, 'error');
    await withServer(async (s) => {
      const { port } = new URL(s.url);
      let answered = '';
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            `POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
              `Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":"valueOf","pay`,
          );
          // Long enough for the server to be reading the body.
          setTimeout(() => socket.destroy(), 300);
        });
        socket.on('data', (d: Buffer) => (answered += d.toString()));
        socket.on('error', reject);
        socket.on('close', () => resolve());
      });
      // Let the server notice the abort and finish the request.
      await sleep(1000);
      const health = await fetch(`${s.url}/health`);
      expect(health.status).toBe(200);
      expect(answered).toBe('');
      expect(logged).toEqual([]);
      expect(consoleError).not.toHaveBeenCalled();
    });
  });

  it('8: a payload nested 5,000 deep is a 4xx, Redis untouched', async () => {
    await withServer(async (s) => {
      const body = `{"name":"valueOf","payload":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      const res = await fetch(`${s.url}/jobs`, {
        method: 'POST',
        headers: jsonHeaders,
        body,
      });
      expect(res.status).toBe(400);
      const stats = (await (
        await fetch(`${s.url}/stats`, { headers: auth })
      ).json()) as { waiting: number };
      expect(stats.waiting).toBe(0);
    });
  });
});
