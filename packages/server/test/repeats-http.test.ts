/**
 * `GET /repeats` lists the repeat schedules (each with its queue, its
 * pending occurrence or `ended: true`), `DELETE /repeats/:type/:key`
 * removes one; both need the token and refuse bad input as other routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job, type Logger } from '@jobwire/core';
import { startServer, type RunningServer } from '@jobwire/server';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const quiet: Logger = { warn: () => {}, error: () => {} };
const auth = { authorization: `Bearer ${TOKEN}` };

const a = uniqueQueue('rpt');
const b = uniqueQueue('rpt');
const payload = z.object({ n: z.number() });
const registry = defineJobs({
  tick: job({ queue: a, payload }),
  report: job({ queue: b, payload }),
});
let server: RunningServer;

async function call(
  path: string,
  method = 'GET',
  headers: Record<string, string> = auth,
) {
  const res = await fetch(`${server.url}${path}`, { method, headers });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe('/repeats', () => {
  beforeAll(async () => {
    const queue = createQueue(registry, {
      connection: redis.url,
      logger: quiet,
    });
    try {
      await queue.repeat('tick', { n: 1 }, { key: 'beat', everyMs: 30_000 });
      await queue.repeat(
        'report',
        { n: 2 },
        { key: 'nightly', cron: '0 2 * * *', tz: 'America/New_York' },
      );
      const last = await queue.repeat(
        'report',
        { n: 3 },
        { key: 'once', everyMs: 60_000, limit: 1 },
      );
      await queue.remove(last.id);
    } finally {
      await queue.close();
    }
    server = await startServer({
      registry,
      connection: redis.url,
      token: TOKEN,
      port: 0,
      logger: quiet,
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it("lists a schedule of another service's type in a shared queue, with that queue", async () => {
    // Another service's registry: a type this server does not know, in a.
    const other = defineJobs({ sweep: job({ queue: a, payload }) });
    const producer = createQueue(other, {
      connection: redis.url,
      logger: quiet,
    });
    try {
      await producer.repeat(
        'sweep',
        { n: 9 },
        { key: 'sweeper', everyMs: 60_000 },
      );
      const inA = await call(`/repeats?queue=${a}`);
      const listed = (
        inA.body.repeats as { key: string; queue?: string }[]
      ).filter((r) => r.key === 'sweeper');
      expect(listed).toEqual([
        expect.objectContaining({ key: 'sweeper', name: 'sweep', queue: a }),
      ]);
    } finally {
      await producer.removeRepeat('sweep', 'sweeper');
      await producer.close();
    }
  });

  it('lists every schedule with its queue and next run, filtered by ?queue= and ?name=', async () => {
    const all = await call('/repeats');
    expect(all.status).toBe(200);
    expect(all.body).toEqual({
      repeats: [
        {
          key: 'beat',
          name: 'tick',
          queue: a,
          everyMs: 30_000,
          data: '{"n":1}',
          next: {
            id: expect.stringMatching(/^rpt\.beat\.\d+$/) as unknown,
            runAt: expect.any(Number) as unknown,
            state: 'delayed',
          },
        },
        expect.objectContaining({
          key: 'nightly',
          name: 'report',
          queue: b,
          cron: '0 2 * * *',
          tz: 'America/New_York',
          next: expect.objectContaining({ state: 'delayed' }) as unknown,
        }),
        {
          key: 'once',
          name: 'report',
          queue: b,
          everyMs: 60_000,
          data: '{"n":3}',
          limit: 1,
          ended: true,
        },
      ],
    });
    const keys = async (q: string) =>
      ((await call(`/repeats?${q}`)).body.repeats as { key: string }[]).map(
        (r) => r.key,
      );
    expect(await keys(`queue=${a}`)).toEqual(['beat']);
    expect(await keys(`queue=${b}&name=report`)).toEqual(['nightly', 'once']);
    expect(await keys(`queue=${a}&name=report`)).toEqual([]);
  });

  it('needs the token and refuses an unknown queue or type as /jobs does', async () => {
    expect(await call('/repeats', 'GET', {})).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED' } },
    });
    expect(await call('/repeats/tick/beat', 'DELETE', {})).toMatchObject({
      status: 401,
      body: { error: { code: 'UNAUTHORIZED' } },
    });
    for (const q of ['queue=nope', 'name=nope']) {
      const res = await call(`/repeats?${q}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: {
          code: 'BAD_REQUEST',
          issues: [{ path: q.split('=')[0] }],
        },
      });
    }
  });

  it('DELETE removes a schedule; 404 for an unknown type or no such schedule, 400 for a bad key', async () => {
    expect(await call('/repeats/nope/beat', 'DELETE')).toEqual({
      status: 404,
      body: {
        error: {
          code: 'UNKNOWN_JOB_TYPE',
          message: 'no job type nope in this registry',
        },
      },
    });
    expect(await call('/repeats/tick/beat:next', 'DELETE')).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', issues: [{ path: 'key' }] } },
    });
    // `beat` is tick's; report has no schedule under that key.
    expect(await call('/repeats/report/beat', 'DELETE')).toEqual({
      status: 404,
      body: {
        error: {
          code: 'NOT_FOUND',
          message: 'repeat schedule beat of report does not exist',
        },
      },
    });
    expect(await call('/repeats/tick/beat', 'DELETE')).toEqual({
      status: 200,
      body: { name: 'tick', key: 'beat', removed: true },
    });
    // An ended schedule is removed like a live one.
    expect((await call('/repeats/report/once', 'DELETE')).status).toBe(200);
    expect((await call('/repeats/tick/beat', 'DELETE')).status).toBe(404);
    const left = (await call('/repeats')).body.repeats as { key: string }[];
    expect(left.map((r) => r.key)).toEqual(['nightly']);
  });
});
