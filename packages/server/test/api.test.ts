import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
} from '@jobwire/core';
import type { Logger } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import type { RunningServer } from '@jobwire/server';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from '../../core/test/helpers/wait.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const quiet: Logger = { warn: () => {}, error: () => {} };

function registryFor(queue: string) {
  return defineJobs({
    sendEmail: job({
      queue,
      payload: z.object({ to: z.email(), subject: z.string().min(1) }),
      result: z.object({ messageId: z.string() }),
    }),
    flaky: job({ queue, payload: z.object({ n: z.number() }), attempts: 1 }),
  });
}

async function withServer(
  fn: (s: RunningServer, queue: string) => Promise<void>,
  extra: {
    corsOrigins?: string[];
    bodyLimitBytes?: number;
    dashboard?: boolean;
  } = {},
): Promise<void> {
  const queue = uniqueQueue('http');
  const server = await startServer({
    registry: registryFor(queue),
    connection: redis.url,
    token: TOKEN,
    port: 0,
    logger: quiet,
    ...extra,
  });
  try {
    await fn(server, queue);
  } finally {
    await server.close();
  }
}

const auth = { authorization: `Bearer ${TOKEN}` };
const jsonHeaders = { ...auth, 'content-type': 'application/json' };

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: jsonHeaders,
    body: JSON.stringify(body),
  });
}

interface ErrorJson {
  error: {
    code: string;
    message: string;
    issues?: { path: string; message: string }[];
  };
}

describe('HTTP API', () => {
  it('refuses to start without a token, and insecure mode off loopback', async () => {
    const registry = registryFor(uniqueQueue('http'));
    await expect(
      startServer({ registry, connection: redis.url, port: 0 }),
    ).rejects.toThrow(/JOBWIRE_TOKEN/);
    const err = await startServer({
      registry,
      connection: redis.url,
      port: 0,
      insecure: true,
      host: '0.0.0.0',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobwireError);
    expect((err as JobwireError).code).toBe(ErrorCode.INVALID_OPTION);
    expect((err as JobwireError).message).toMatch(/loopback/);
    // Insecure on loopback is allowed and needs no token.
    const s = await startServer({
      registry,
      connection: redis.url,
      port: 0,
      insecure: true,
      logger: quiet,
    });
    try {
      const res = await fetch(`${s.url}/stats`);
      expect(res.status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('401 without or with a wrong token; /health is open', async () => {
    await withServer(async (s) => {
      const none = await fetch(`${s.url}/stats`);
      expect(none.status).toBe(401);
      const body = (await none.json()) as ErrorJson;
      expect(body.error.code).toBe('UNAUTHORIZED');
      expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
      const wrong = await fetch(`${s.url}/jobs`, {
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(401);
      const wrongPost = await fetch(`${s.url}/jobs`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}x`,
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(wrongPost.status).toBe(401);
      const health = await fetch(`${s.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ready: true });
    });
  });

  it('413 for a large body, 415 for a wrong content type, 400 for deep JSON', async () => {
    await withServer(
      async (s) => {
        const big = await post(`${s.url}/jobs`, {
          name: 'sendEmail',
          payload: { to: 'a@b.co', subject: 'x'.repeat(5000) },
        });
        expect(big.status).toBe(413);
        expect(((await big.json()) as ErrorJson).error.code).toBe(
          'BODY_TOO_LARGE',
        );
        const text = await fetch(`${s.url}/jobs`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'text/plain' },
          body: '{"name":"sendEmail"}',
        });
        expect(text.status).toBe(415);
        const form = await fetch(`${s.url}/jobs`, {
          method: 'POST',
          headers: auth,
          body: new URLSearchParams({ name: 'sendEmail' }),
        });
        expect(form.status).toBe(415);
        const deep = await fetch(`${s.url}/jobs`, {
          method: 'POST',
          headers: jsonHeaders,
          body: '['.repeat(40) + ']'.repeat(40),
        });
        expect(deep.status).toBe(400);
        expect(((await deep.json()) as ErrorJson).error.code).toBe(
          'JSON_TOO_DEEP',
        );
        const broken = await fetch(`${s.url}/jobs`, {
          method: 'POST',
          headers: jsonHeaders,
          body: '{"name":',
        });
        expect(broken.status).toBe(400);
        expect(((await broken.json()) as ErrorJson).error.code).toBe(
          'INVALID_JSON',
        );
      },
      { bodyLimitBytes: 1024 },
    );
  });

  it('400 names the failing fields; 404 for an unknown job type', async () => {
    await withServer(async (s) => {
      const bad = await post(`${s.url}/jobs`, {
        name: 'sendEmail',
        payload: { to: 'not-an-email', subject: '' },
      });
      expect(bad.status).toBe(400);
      const body = (await bad.json()) as ErrorJson;
      expect(body.error.code).toBe(ErrorCode.VALIDATION_FAILED);
      expect(body.error.issues?.map((i) => i.path).sort()).toEqual([
        'payload.subject',
        'payload.to',
      ]);
      const badBulk = await post(`${s.url}/jobs`, {
        jobs: [
          { name: 'sendEmail', payload: { to: 'a@b.co', subject: 's' } },
          { name: 'sendEmail', payload: { to: 'nope', subject: 's' } },
        ],
      });
      expect(badBulk.status).toBe(400);
      expect(
        ((await badBulk.json()) as ErrorJson).error.issues?.map((i) => i.path),
      ).toEqual(['jobs.1.payload.to']);
      // An outside review (2026-12-01) found the unknown key named only in
      // the message (path `options`) and "expected date, received Date".
      for (const [options, issue] of [
        [{ foo: 1 }, ['options.foo', 'unknown key "foo"']],
        [{ runAt: 'tomorrow' }, ['options.runAt', 'not a valid date']],
      ] as const) {
        const badOptions = await post(`${s.url}/jobs`, {
          name: 'sendEmail',
          payload: { to: 'a@b.co', subject: 's' },
          options,
        });
        expect(badOptions.status).toBe(400);
        expect(
          ((await badOptions.json()) as ErrorJson).error.issues?.map((i) => [
            i.path,
            i.message,
          ]),
        ).toEqual([issue]);
      }
      const shape = await post(`${s.url}/jobs`, { payload: {} });
      expect(shape.status).toBe(400);
      expect(
        ((await shape.json()) as ErrorJson).error.issues?.some(
          (i) => i.path === 'name',
        ),
      ).toBe(true);
      const unknown = await post(`${s.url}/jobs`, {
        name: 'nope',
        payload: {},
      });
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as ErrorJson).error.code).toBe(
        ErrorCode.UNKNOWN_JOB_TYPE,
      );
      const missing = await fetch(`${s.url}/jobs/does-not-exist`, {
        headers: auth,
      });
      expect(missing.status).toBe(404);
      const route = await fetch(`${s.url}/nope`, { headers: auth });
      expect(route.status).toBe(404);
    });
  });

  it('a created job is processed by a worker and visible as completed; stats, list, log', async () => {
    await withServer(async (s, queue) => {
      const res = await post(`${s.url}/jobs`, {
        name: 'sendEmail',
        payload: { to: 'a@b.co', subject: 'hi' },
      });
      expect(res.status).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const worker = createWorker(
        registryFor(queue),
        {
          sendEmail: async (j) => {
            await j.log('sending');
            return { messageId: `m-${j.id}` };
          },
          flaky: () => undefined,
        },
        { connection: redis.url, logger: quiet, ...fastWorkerSettings },
      );
      try {
        let info: { state: string; result?: unknown } | undefined;
        await waitFor(
          async () => {
            const r = await fetch(`${s.url}/jobs/${id}`, { headers: auth });
            info = (await r.json()) as { state: string; result?: unknown };
            return info.state === 'completed';
          },
          5000,
          'job completed over HTTP',
        );
        expect(info?.result).toEqual({ messageId: `m-${id}` });
      } finally {
        await worker.close();
      }
      const log = await fetch(`${s.url}/jobs/${id}/log`, { headers: auth });
      expect(await log.json()).toEqual({ id, logs: ['sending'] });
      const stats = await fetch(`${s.url}/stats`, { headers: auth });
      expect(stats.status).toBe(200);
      expect(await stats.json()).toMatchObject({
        completed: 1,
        byType: { sendEmail: { completed: 1 } },
      });
      const list = await fetch(`${s.url}/jobs?state=completed&limit=10`, {
        headers: auth,
      });
      const { jobs } = (await list.json()) as { jobs: { id: string }[] };
      expect(jobs.map((j) => j.id)).toEqual([id]);
      const badState = await fetch(`${s.url}/jobs?state=bogus`, {
        headers: auth,
      });
      expect(badState.status).toBe(400);
      expect(
        ((await badState.json()) as ErrorJson).error.issues?.[0]?.path,
      ).toBe('state');
    });
  });

  it('bulk create, promote, retry and delete', async () => {
    await withServer(async (s, queue) => {
      const bulk = await post(`${s.url}/jobs`, {
        jobs: [
          { name: 'flaky', payload: { n: 1 }, options: { delayMs: 60_000 } },
          { name: 'flaky', payload: { n: 2 }, options: { jobId: 'fixed-2' } },
        ],
      });
      expect(bulk.status).toBe(201);
      const { jobs } = (await bulk.json()) as { jobs: { id: string }[] };
      expect(jobs).toHaveLength(2);
      const delayedId = jobs[0]!.id;
      expect(jobs[1]!.id).toBe('fixed-2');
      const state = async (id: string): Promise<string> => {
        const r = await fetch(`${s.url}/jobs/${id}`, { headers: auth });
        return ((await r.json()) as { state: string }).state;
      };
      expect(await state(delayedId)).toBe('delayed');
      // Retry refuses a job that is not failed: 409.
      const notFailed = await fetch(`${s.url}/jobs/${delayedId}/retry`, {
        method: 'POST',
        headers: auth,
      });
      expect(notFailed.status).toBe(409);
      const promote = await fetch(`${s.url}/jobs/${delayedId}/promote`, {
        method: 'POST',
        headers: auth,
      });
      expect(promote.status).toBe(200);
      expect(await state(delayedId)).toBe('waiting');

      const worker = createWorker(
        registryFor(queue),
        {
          sendEmail: () => ({ messageId: 'x' }),
          flaky: () => {
            throw new Error('boom');
          },
        },
        { connection: redis.url, logger: quiet, ...fastWorkerSettings },
      );
      worker.on('error', () => {});
      try {
        await waitFor(
          async () => (await state('fixed-2')) === 'failed',
          5000,
          'job failed',
        );
      } finally {
        await worker.close();
      }
      const failed = (await (
        await fetch(`${s.url}/jobs/fixed-2`, { headers: auth })
      ).json()) as { errors: { message: string; stack?: string }[] };
      expect(failed.errors[0]?.message).toBe('boom');
      expect(failed.errors[0]?.stack).toBeUndefined();
      const retry = await fetch(`${s.url}/jobs/fixed-2/retry`, {
        method: 'POST',
        headers: auth,
      });
      expect(retry.status).toBe(200);
      expect(await state('fixed-2')).toBe('waiting');
      const del = await fetch(`${s.url}/jobs/fixed-2`, {
        method: 'DELETE',
        headers: auth,
      });
      expect(del.status).toBe(200);
      const gone = await fetch(`${s.url}/jobs/fixed-2`, { headers: auth });
      expect(gone.status).toBe(404);
      const delAgain = await fetch(`${s.url}/jobs/fixed-2`, {
        method: 'DELETE',
        headers: auth,
      });
      expect(delAgain.status).toBe(404);
    });
  });

  it('POST /jobs/:id/cancel: waiting at once, active by request, finished 409', async () => {
    await withServer(async (s, queue) => {
      const create = async (n: number, options?: object): Promise<string> => {
        const r = await post(`${s.url}/jobs`, {
          name: 'flaky',
          payload: { n },
          ...(options ? { options } : {}),
        });
        return ((await r.json()) as { id: string }).id;
      };
      const info = async (id: string) =>
        (await (
          await fetch(`${s.url}/jobs/${id}`, { headers: auth })
        ).json()) as {
          state: string;
          cancelReason?: string;
        };
      const waiting = await create(1, { delayMs: 60_000 });
      const cancel = (id: string, init: RequestInit = {}) =>
        fetch(`${s.url}/jobs/${id}/cancel`, { method: 'POST', ...init });

      // Auth and CSRF as for every mutation: a token, and JSON bodies only.
      expect((await cancel(waiting)).status).toBe(401);
      const form = await cancel(waiting, {
        headers: {
          ...auth,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'reason=x',
      });
      expect(form.status).toBe(415);
      const extra = await cancel(waiting, {
        headers: jsonHeaders,
        body: JSON.stringify({ reason: 'x', force: true }),
      });
      expect(extra.status).toBe(400);
      expect((await info(waiting)).state).toBe('delayed');

      const ok = await cancel(waiting, {
        headers: jsonHeaders,
        body: JSON.stringify({ reason: 'duplicate order' }),
      });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ id: waiting, outcome: 'cancelled' });
      expect(await info(waiting)).toMatchObject({
        state: 'cancelled',
        cancelReason: 'duplicate order',
      });
      const again = await cancel(waiting, { headers: auth });
      expect(again.status).toBe(409);
      expect(((await again.json()) as ErrorJson).error.code).toBe(
        'JOB_NOT_IN_STATE',
      );
      expect((await cancel('no-such-job', { headers: auth })).status).toBe(404);

      const active = await create(2);
      let started = false;
      const worker = createWorker(
        registryFor(queue),
        {
          sendEmail: () => ({ messageId: 'x' }),
          flaky: (j) => {
            started = true;
            return new Promise<undefined>((_, reject) => {
              j.signal.addEventListener('abort', () =>
                reject(j.signal.reason as Error),
              );
            });
          },
        },
        { connection: redis.url, logger: quiet, ...fastWorkerSettings },
      );
      try {
        await waitFor(() => started, 10_000, 'the job to start');
        const requested = await cancel(active, { headers: auth });
        expect(await requested.json()).toEqual({
          id: active,
          outcome: 'requested',
        });
        await waitFor(
          async () => (await info(active)).state === 'cancelled',
          10_000,
          'the active job to end cancelled',
        );
      } finally {
        await worker.close();
      }
      const stats = await fetch(`${s.url}/stats`, { headers: auth });
      expect(await stats.json()).toMatchObject({
        cancelled: 2,
        byType: { flaky: { cancelled: 2, active: 0 } },
      });
      const list = await fetch(`${s.url}/jobs?state=cancelled`, {
        headers: auth,
      });
      const { jobs } = (await list.json()) as { jobs: { id: string }[] };
      expect(jobs.map((j) => j.id).sort()).toEqual([waiting, active].sort());
    });
  });

  it('SSE stream delivers completed for a job, with the offset as id', async () => {
    await withServer(async (s, queue) => {
      const res = await post(`${s.url}/jobs`, {
        name: 'sendEmail',
        payload: { to: 'a@b.co', subject: 'sse' },
      });
      const { id } = (await res.json()) as { id: string };
      const ac = new AbortController();
      const stream = await fetch(`${s.url}/events?from=0`, {
        headers: auth,
        signal: ac.signal,
      });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
      const worker = createWorker(
        registryFor(queue),
        {
          sendEmail: () => ({ messageId: 'sse-1' }),
          flaky: () => undefined,
        },
        { connection: redis.url, logger: quiet, ...fastWorkerSettings },
      );
      const reader = stream.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      try {
        const deadline = Date.now() + 5000;
        while (!/event: completed\n/.test(text) && Date.now() < deadline) {
          const { done, value } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
      } finally {
        ac.abort();
        await reader.cancel().catch(() => {});
        await worker.close();
      }
      const messages = text.split('\n\n').filter((m) => m.includes('event:'));
      const completed = messages.find((m) => m.includes('event: completed'))!;
      expect(completed).toBeDefined();
      expect(completed).toMatch(/^id: \d+-\d+$/m);
      const data = JSON.parse(/^data: (.*)$/m.exec(completed)![1]!) as {
        jobId: string;
        result: unknown;
        offset: string;
      };
      expect(data.jobId).toBe(id);
      expect(data.result).toEqual({ messageId: 'sse-1' });
      expect(completed).toContain(`id: ${data.offset}`);
      expect(messages[0]).toMatch(/event: waiting/);
    });
  });

  it('GET /queues lists queues with their job types, their versions and paused flag', async () => {
    await withServer(async (s, queue) => {
      const res = await fetch(`${s.url}/queues`, { headers: auth });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        queues: [
          {
            name: queue,
            paused: false,
            jobTypes: ['flaky', 'sendEmail'],
            versions: { flaky: 1, sendEmail: 1 },
          },
        ],
      });
    });
  });

  it('GET /jobs/:id?stacks=true includes the recorded stacks', async () => {
    await withServer(async (s, queue) => {
      const res = await post(`${s.url}/jobs`, {
        name: 'flaky',
        payload: { n: 1 },
      });
      const { id } = (await res.json()) as { id: string };
      const worker = createWorker(
        registryFor(queue),
        {
          flaky: () => {
            throw new Error('with a stack');
          },
        },
        { connection: redis.url, logger: quiet, ...fastWorkerSettings },
      );
      worker.on('error', () => {});
      type Errors = { errors: { stack?: string }[]; state: string };
      const get = async (query: string): Promise<Errors> =>
        (await (
          await fetch(`${s.url}/jobs/${id}${query}`, { headers: auth })
        ).json()) as Errors;
      try {
        await waitFor(
          async () => (await get('')).state === 'failed',
          5000,
          'job failed',
        );
      } finally {
        await worker.close();
      }
      expect((await get('')).errors[0]?.stack).toBeUndefined();
      expect((await get('?stacks=false')).errors[0]?.stack).toBeUndefined();
      expect((await get('?stacks=true')).errors[0]?.stack).toMatch(
        /^Error: with a stack\n\s+at /,
      );
      const bad = await fetch(`${s.url}/jobs/${id}?stacks=yes`, {
        headers: auth,
      });
      expect(bad.status).toBe(400);
    });
  });

  it('GET /jobs pages with one offset across queues', async () => {
    const [a, b] = [uniqueQueue('http-a'), uniqueQueue('http-b')];
    const registry = defineJobs({
      inA: job({ queue: a, payload: z.object({ i: z.number() }) }),
      inB: job({ queue: b, payload: z.object({ i: z.number() }) }),
    });
    const s = await startServer({
      registry,
      connection: redis.url,
      token: TOKEN,
      port: 0,
      logger: quiet,
    });
    try {
      const bulk = (name: string, n: number) =>
        post(`${s.url}/jobs`, {
          jobs: Array.from({ length: n }, (_, i) => ({
            name,
            payload: { i },
          })),
        });
      const made = async (name: string, n: number): Promise<string[]> => {
        const res = await bulk(name, n);
        expect(res.status).toBe(201);
        return ((await res.json()) as { jobs: { id: string }[] }).jobs.map(
          (j) => j.id,
        );
      };
      const [idA] = await made('inA', 30);
      const [idB] = await made('inB', 5);
      // Generated ids are unique across queues: /jobs/:id needs no ?queue
      // (issue 13).
      for (const [id, name, queue] of [
        [idA, 'inA', a],
        [idB, 'inB', b],
      ] as const) {
        const r = await fetch(`${s.url}/jobs/${id}`, { headers: auth });
        expect(r.status).toBe(200);
        expect(await r.json()).toMatchObject({ id, name, queue });
      }
      const page = async (offset: number): Promise<string[]> => {
        const r = await fetch(
          `${s.url}/jobs?state=waiting&offset=${offset}&limit=25`,
          { headers: auth },
        );
        const { jobs } = (await r.json()) as { jobs: { name: string }[] };
        return jobs.map((j) => j.name);
      };
      const first = await page(0);
      const second = await page(25);
      expect(first).toEqual(Array(25).fill('inA'));
      expect(second).toEqual([
        ...Array(5).fill('inA'),
        ...Array(5).fill('inB'),
      ]);
      expect(await page(35)).toEqual([]);
      // A type filter reads its own queue only.
      const r = await fetch(`${s.url}/jobs?state=waiting&name=inB`, {
        headers: auth,
      });
      expect(((await r.json()) as { jobs: unknown[] }).jobs).toHaveLength(5);
    } finally {
      await s.close();
    }
  });

  it('the dashboard files are open; dashboard: false turns them off', async () => {
    await withServer(async (s) => {
      const page = await fetch(`${s.url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain(
        "script-src 'self'",
      );
      expect((await fetch(`${s.url}/assets/app.js`)).status).toBe(200);
    });
    await withServer(
      async (s) => {
        expect((await fetch(`${s.url}/`)).status).toBe(401);
        const res = await fetch(`${s.url}/assets/app.js`, { headers: auth });
        expect(res.status).toBe(404);
      },
      { dashboard: false },
    );
  });

  it('CORS: closed for unlisted origins, open for listed ones', async () => {
    await withServer(
      async (s) => {
        const preflight = (origin: string): Promise<Response> =>
          fetch(`${s.url}/jobs`, {
            method: 'OPTIONS',
            headers: {
              origin,
              'access-control-request-method': 'POST',
              'access-control-request-headers': 'authorization,content-type',
            },
          });
        const evil = await preflight('https://evil.example');
        expect(evil.headers.get('access-control-allow-origin')).toBeNull();
        const good = await preflight('https://ops.example');
        expect(good.headers.get('access-control-allow-origin')).toBe(
          'https://ops.example',
        );
        const simple = await fetch(`${s.url}/stats`, {
          headers: { ...auth, origin: 'https://evil.example' },
        });
        expect(simple.headers.get('access-control-allow-origin')).toBeNull();
      },
      { corsOrigins: ['https://ops.example'] },
    );
  });
});
