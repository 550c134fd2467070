/**
 * S12, HTTP half: the API server started with Redis down answers 503 with
 * Retry-After within the bound, stays up, and serves the next request once
 * Redis is back, without a restart.
 */
import { describe, expect, it } from 'vitest';
import { startServer } from '@jobwire/server';
import { startRedis } from '../helpers/redis-server.ts';
import { report } from './harness/report.ts';
import { faultRegistry } from './harness/registry.ts';
import { quietLogger, until } from './harness/scenario.ts';

const TOKEN = 's12-http-token-0123456789';
// connectTimeoutMs (1000) plus timer, HTTP and scheduling slack.
const BOUND_MS = 1500;

describe('S12 HTTP', () => {
  it('S12-http API answers 503 + Retry-After with Redis down, recovers without restart', async () => {
    const redis = await startRedis();
    await redis.kill9();
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      server = await startServer({
        registry: faultRegistry('f-s12-http'),
        connection: redis.url,
        token: TOKEN,
        port: 0,
        connectTimeoutMs: 1000,
        logger: quietLogger,
      });
      const url = server.url;
      const enqueue = (n: number): Promise<Response> =>
        fetch(`${url}/jobs`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${TOKEN}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ name: 'task', payload: { n } }),
        });
      // The bound is about the enqueue, not about this process's first
      // fetch (undici loads lazily: hundreds of ms on a loaded machine). A
      // request refused at the token, before Redis, warms that path.
      const warm = await fetch(`${url}/jobs`, {
        method: 'POST',
        headers: { authorization: 'Bearer wrong' },
      });
      expect(warm.status).toBe(401);
      await warm.body?.cancel();
      const statuses: number[] = [];
      const retryAfter: (string | null)[] = [];
      const codes: string[] = [];
      const settle: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        const res = await enqueue(i);
        settle.push(Date.now() - t0);
        statuses.push(res.status);
        retryAfter.push(res.headers.get('retry-after'));
        codes.push(
          ((await res.json()) as { error: { code: string } }).error.code,
        );
      }
      // Still up: health answers (503, not a refused connection).
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(503);

      await redis.restart();
      let after = 0;
      await until(
        async () => {
          after = (await enqueue(99)).status;
          return after === 201;
        },
        5000,
        'POST /jobs after Redis started',
      );
      const slowest = Math.max(...settle);
      const pass =
        statuses.every((s) => s === 503) &&
        retryAfter.every((r) => r === '1') &&
        slowest <= BOUND_MS &&
        after === 201;
      report(
        'S12-http',
        {
          status: statuses[0]!,
          retryAfter: retryAfter[0] ?? 'none',
          slowestMs: slowest,
          boundMs: BOUND_MS,
          afterRestart: after,
        },
        pass,
      );
      expect(statuses).toEqual([503, 503, 503]);
      expect(retryAfter).toEqual(['1', '1', '1']);
      expect(codes).toEqual([
        'REDIS_UNAVAILABLE',
        'REDIS_UNAVAILABLE',
        'REDIS_UNAVAILABLE',
      ]);
      expect(slowest).toBeLessThanOrEqual(BOUND_MS);
      expect(after).toBe(201);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    } finally {
      await server?.close();
      await redis.stop();
    }
  });
});
