/**
 * S12, HTTP half: the API server started with Redis down answers 503 with
 * Retry-After within the bound, stays up, and serves the next request once
 * Redis is back, without a restart.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { startServer } from '@jobwire/server';
import { startRedis } from '../helpers/redis-server.ts';
import { report } from './harness/report.ts';
import { faultRegistry } from './harness/registry.ts';
import { quietLogger, until } from './harness/scenario.ts';

const TOKEN = 's12-http-token-0123456789';
// connectTimeoutMs (1000) plus timer, HTTP and scheduling slack.
const BOUND_MS = 1500;

interface Answer {
  status: number;
  retryAfter: string | null;
  body: string;
  /** From the request's last byte written to the response head, in ms. */
  ms: number;
}

/**
 * One request over node:http on a keep-alive agent, timed from the moment
 * its last byte is written to the moment the response head arrives: the
 * server's answer time. fetch's own work in this process (undici is heavy,
 * and CPU-starved on a loaded machine) stays out of the figure.
 */
function request(
  agent: http.Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body = '',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    const req = http.request(url, { method, headers, agent }, (res) => {
      const ms = performance.now() - sentAt;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          retryAfter:
            (res.headers['retry-after'] as string | undefined) ?? null,
          body: text,
          ms,
        }),
      );
    });
    req.on('error', reject);
    req.end(body, () => (sentAt = performance.now()));
  });
}

describe('S12 HTTP', () => {
  it('S12-http API answers 503 + Retry-After with Redis down, recovers without restart', async () => {
    const redis = await startRedis();
    await redis.kill9();
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    const agents: http.Agent[] = [];
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
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const enqueue = (n: number): Promise<Answer> =>
        request(
          agent,
          `${url}/jobs`,
          'POST',
          {
            authorization: `Bearer ${TOKEN}`,
            'content-type': 'application/json',
          },
          JSON.stringify({ name: 'task', payload: { n } }),
        );
      // The bound is about the enqueue, not about this process's first
      // request: one refused at the token, before Redis, opens the
      // keep-alive connection and warms the path.
      const warm = await request(agent, `${url}/jobs`, 'POST', {
        authorization: 'Bearer wrong',
      });
      expect(warm.status).toBe(401);
      const statuses: number[] = [];
      const retryAfter: (string | null)[] = [];
      const codes: string[] = [];
      const settle: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await enqueue(i);
        settle.push(Math.round(res.ms));
        statuses.push(res.status);
        retryAfter.push(res.retryAfter);
        codes.push(
          (JSON.parse(res.body) as { error: { code: string } }).error.code,
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
          settleMs: settle.join('/'),
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
      for (const a of agents) a.destroy();
      await server?.close();
      await redis.stop();
    }
  });
});
