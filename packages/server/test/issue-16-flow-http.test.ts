/**
 * Issue 16, observable: `/stats` carries `flow`, and `/flow`, `/flow/:type`
 * say per type and per key what waits on a limit. The state is written
 * straight into Redis in the flow layout (flow-layout.ts).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineJobs,
  job,
  type Logger,
  type TypeFlowStats,
} from '@jobwire/core';
import { startServer, type RunningServer } from '@jobwire/server';
import {
  seedFlowType,
  tenantSeed,
} from '../../core/test/helpers/flow-layout.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const quiet: Logger = { warn: () => {}, error: () => {} };
const auth = { authorization: `Bearer ${TOKEN}` };

async function withServer(
  fn: (s: RunningServer, queues: { a: string; b: string }) => Promise<void>,
) {
  const a = uniqueQueue('flow');
  const b = uniqueQueue('flow');
  const payload = z.object({ n: z.number() });
  const registry = defineJobs({
    send: job({ queue: a, payload }),
    plain: job({ queue: a, payload }),
    other: job({ queue: b, payload }),
  });
  const server = await startServer({
    registry,
    connection: redis.url,
    token: TOKEN,
    port: 0,
    logger: quiet,
  });
  try {
    await fn(server, { a, b });
  } finally {
    await server.close();
  }
}

async function get(s: RunningServer, path: string) {
  const res = await fetch(`${s.url}${path}`, { headers: auth });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe('flow control over HTTP (issue 16)', () => {
  it('/stats and /flow report per type and per key what waits on a limit', async () => {
    await withServer(async (s, { a, b }) => {
      await seedFlowType(redis.url, a, tenantSeed);
      await seedFlowType(redis.url, b, {
        type: 'other',
        rules: { rateLimit: { limit: 1, perMs: 60_000, keyed: false } },
        typeStarts: [10],
      });
      const expected = {
        queue: a,
        rules: {
          rateLimit: { limit: 5, perMs: 1000, keyed: true },
          concurrency: { limit: 2 },
        },
        throttled: 12,
        debounced: 4,
        keyCounts: { total: 3, concurrency: 1, rate: 1, turn: 1, exact: true },
        throttledKeys: [
          { key: 'acme', dropped: 9 },
          { key: 'globex', dropped: 3 },
        ],
      };
      const stats = await get(s, `/stats?queue=${a}`);
      expect(stats.status).toBe(200);
      const flow = stats.body.flow as Record<string, TypeFlowStats>;
      expect(Object.keys(flow)).toEqual(['send']);
      expect(flow.send).toMatchObject(expected);
      expect(
        flow.send!.keys.map((k) => [k.key, k.waiting, k.active, k.why]),
      ).toEqual([
        ['acme', 40, 2, 'concurrency'],
        ['globex', 7, 1, 'rate'],
        ['initech', 3, 0, 'turn'],
      ]);

      // Every queue without ?queue=, and ?keys= bounds the keys listed.
      const all = await get(s, '/flow?keys=1');
      expect(all.status).toBe(200);
      const both = all.body.flow as Record<string, TypeFlowStats>;
      expect(Object.keys(both).sort()).toEqual(['other', 'send']);
      expect(both.send!.keys.map((k) => k.key)).toEqual(['acme']);
      expect(both.other!.rate).toMatchObject({ used: 1, capped: true });
      const onlyB = await get(s, `/flow?queue=${b}`);
      expect(Object.keys(onlyB.body.flow as object)).toEqual(['other']);

      const one = await get(s, '/flow/send');
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ type: 'send', ...expected });
      expect((one.body.keys as unknown[]).length).toBe(3);
    });
  });

  it('refuses unknown types, types without flow state, bad ?keys= and missing tokens', async () => {
    await withServer(async (s, { a }) => {
      await seedFlowType(redis.url, a, tenantSeed);
      const unknown = await get(s, '/flow/nope');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({
        error: { code: 'UNKNOWN_JOB_TYPE' },
      });
      const proto = await get(s, '/flow/__proto__');
      expect(proto.status).toBe(404);
      const plain = await get(s, '/flow/plain');
      expect(plain.status).toBe(404);
      expect(plain.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
      for (const path of [
        '/flow?keys=0',
        '/flow/send?keys=x',
        '/flow?queue=nope',
      ]) {
        const bad = await get(s, path);
        expect(bad.status, path).toBe(400);
        expect(bad.body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
      }
      for (const path of ['/flow', '/flow/send']) {
        const res = await fetch(`${s.url}${path}`);
        expect(res.status, path).toBe(401);
      }
    });
  });
});
