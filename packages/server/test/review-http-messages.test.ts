/**
 * What docs/http-api.md promises of two answers: `GET /assets/*` is served
 * without the token, so a name there that is no file is a 404 with or
 * without it (it was a 401 without), while no path through `/assets/`
 * reaches another route without the token; and a job id used in two
 * queues asks for `?queue=` on every job route that takes an id (the
 * library's "pass { queue }" was passed through).
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  defineJobs,
  job,
  type JobMap,
  type Logger,
} from '@jobwire/core';
import { createApi, startServer, type RunningServer } from '@jobwire/server';
import {
  startRedis,
  uniqueQueue,
  useRedis,
} from '../../core/test/helpers/redis-server.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const quiet: Logger = { warn: () => {}, error: () => {} };

function registryFor(tag: string) {
  return defineJobs({
    sendEmail: job({
      queue: `${tag}-email`,
      payload: z.object({ to: z.string() }),
    }),
    render: job({
      queue: `${tag}-media`,
      payload: z.object({ title: z.string() }),
    }),
  });
}

async function withServer(
  fn: (
    s: RunningServer,
    registry: ReturnType<typeof registryFor>,
  ) => Promise<void>,
  extra: { dashboard?: boolean } = {},
): Promise<void> {
  const registry = registryFor(uniqueQueue('rh'));
  const server = await startServer({
    registry,
    connection: redis.url,
    token: TOKEN,
    port: 0,
    logger: quiet,
    ...extra,
  });
  try {
    await fn(server, registry);
  } finally {
    await server.close();
  }
}

/** Sends `request` as raw bytes (no URL normalization); resolves with the reply. */
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

const rawGet = (url: string, path: string, withToken: boolean) =>
  rawRequest(
    url,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${withToken ? `Authorization: Bearer ${TOKEN}\r\n` : ''}Connection: close\r\n\r\n`,
  );

interface ErrorJson {
  error: { code: string; message: string };
}

describe('HTTP answers docs/http-api.md promises', () => {
  it('an unknown file under /assets/ is a 404 NOT_FOUND with or without the token; /assets/ opens no other route', async () => {
    await withServer(async (s) => {
      for (const headers of [{}, auth]) {
        const res = await fetch(`${s.url}/assets/nope.js`, { headers });
        expect(res.status).toBe(404);
        expect(((await res.json()) as ErrorJson).error).toEqual({
          code: 'NOT_FOUND',
          message: 'no route GET /assets/nope.js',
        });
        const deeper = await fetch(`${s.url}/assets/a/b.js`, { headers });
        expect(deeper.status).toBe(404);
        expect(((await deeper.json()) as ErrorJson).error.code).toBe(
          'NOT_FOUND',
        );
      }
      // The dashboard's own files are still open.
      expect((await fetch(`${s.url}/assets/app.js`)).status).toBe(200);

      // No path through /assets/ reaches an API route without the token:
      // dot segments are refused on the raw request line (400; Node itself
      // refuses a raw backslash), an encoded slash or backslash is a name
      // under /assets/ that is no file (404), and a path the router reads
      // as outside /assets/ is behind the token (401).
      const paths = new Map<string, string>([
        ['/assets/../jobs', '400'],
        ['/assets/../stats', '400'],
        ['/assets/x/../../jobs', '400'],
        ['//assets/../queues', '400'],
        ['/assets/%2e%2e/jobs', '400'],
        ['/assets/%2E%2E/queues', '400'],
        ['/assets/./../jobs?state=waiting', '400'],
        ['/assets/..\\jobs', '400'],
        ['/assets/..%2fjobs', '404'],
        ['/assets/%2F%2E%2E%2Fstats', '404'],
        ['/assets/%5c..%5cjobs', '404'],
        ['/assets%2f..%2fjobs', '401'],
      ]);
      for (const [path, status] of paths) {
        const open = await rawGet(s.url, path, false);
        expect(open, path).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
        expect(open, path).not.toMatch(/"(jobs|counts|queues)"\s*:/);
      }
      // With the token, none of them is an API route either.
      for (const path of paths.keys()) {
        const withToken = await rawGet(s.url, path, true);
        expect(withToken, path).toMatch(/^HTTP\/1\.1 (400|404) /);
      }
    });
  });

  it('createApi in another server: /assets/ paths out of it need the token', async () => {
    // No raw request line here: the Request's URL resolves dot segments,
    // and the auth check reads the same path the router does.
    const registry = registryFor(uniqueQueue('rh'));
    const queue = createQueue<JobMap>(registry, {
      connection: redis.url,
      logger: quiet,
    });
    try {
      const app = createApi({ queue, token: TOKEN, logger: quiet });
      for (const path of ['/assets/../jobs', '/assets/%2e%2e/stats']) {
        const res = await app.request(`http://127.0.0.1${path}`);
        expect(res.status, path).toBe(401);
      }
      const nope = await app.request('http://127.0.0.1/assets/nope.js');
      expect(nope.status).toBe(404);
      expect(((await nope.json()) as ErrorJson).error.code).toBe('NOT_FOUND');
    } finally {
      await queue.close();
    }
  });

  it('with dashboard: false, /assets/ is behind the token like every route', async () => {
    await withServer(
      async (s) => {
        expect((await fetch(`${s.url}/assets/nope.js`)).status).toBe(401);
        expect((await fetch(`${s.url}/assets/app.js`)).status).toBe(401);
        const withToken = await fetch(`${s.url}/assets/app.js`, {
          headers: auth,
        });
        expect(withToken.status).toBe(404);
      },
      { dashboard: false },
    );
  });

  it('a missing job is "job <id> does not exist" on every route, naming no library call', async () => {
    await withServer(async (s) => {
      const routes: [string, string][] = [
        ['GET', '/jobs/nosuch-7'],
        ['GET', '/jobs/nosuch-7/log'],
        ['DELETE', '/jobs/nosuch-7'],
        ['POST', '/jobs/nosuch-7/retry'],
        ['POST', '/jobs/nosuch-7/promote'],
        ['POST', '/jobs/nosuch-7/cancel'],
      ];
      for (const [method, path] of routes) {
        const res = await fetch(`${s.url}${path}`, { method, headers: auth });
        const body = (await res.json()) as ErrorJson;
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(body.error.message, `${method} ${path}`).toBe(
          'job nosuch-7 does not exist',
        );
      }
    });
  });

  it('a 503 while Redis is unreachable names no library option', async () => {
    const dead = await startRedis();
    await dead.kill9();
    const server = await startServer({
      registry: registryFor(uniqueQueue('rh')),
      connection: dead.url,
      connectTimeoutMs: 300,
      token: TOKEN,
      port: 0,
      logger: quiet,
    });
    try {
      const res = await fetch(`${server.url}/stats`, { headers: auth });
      const body = (await res.json()) as ErrorJson;
      expect(res.status).toBe(503);
      expect(body.error.message).toMatch(/^Redis not reachable within 300 ms/);
      expect(body.error.message).not.toContain('connectTimeoutMs');
    } finally {
      await server.close();
      await dead.stop();
    }
  });

  it('a job id in two queues asks for ?queue= on every job route that takes an id', async () => {
    await withServer(async (s, registry) => {
      const [email, media] = registry.queues as [string, string];
      const queue = createQueue(registry, {
        connection: redis.url,
        logger: quiet,
      });
      try {
        await queue.enqueue('sendEmail', { to: 'a' }, { jobId: 'twin-1' });
        await queue.enqueue('render', { title: 't' }, { jobId: 'twin-1' });
      } finally {
        await queue.close();
      }
      const advice = `job id twin-1 exists in queues ${email}, ${media} (a custom jobId used in both); pass ?queue=<${email}|${media}> to say which`;
      for (const [method, path] of [
        ['GET', '/jobs/twin-1'],
        ['GET', '/jobs/twin-1/log'],
        ['DELETE', '/jobs/twin-1'],
        ['POST', '/jobs/twin-1/retry'],
        ['POST', '/jobs/twin-1/promote'],
        ['POST', '/jobs/twin-1/cancel'],
      ] as const) {
        const res = await fetch(`${s.url}${path}`, { method, headers: auth });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(
          ((await res.json()) as ErrorJson).error,
          `${method} ${path}`,
        ).toEqual({ code: 'INVALID_OPTION', message: advice });
      }
      // Following the advice works.
      const one = await fetch(
        `${s.url}/jobs/twin-1?queue=${encodeURIComponent(media)}`,
        { headers: auth },
      );
      expect(one.status).toBe(200);
      expect(((await one.json()) as { queue: string }).queue).toBe(media);
    });
  });
});
