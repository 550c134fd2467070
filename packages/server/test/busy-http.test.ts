/**
 * A request that meets BUSY (a long Lua script in Redis, which runs none of
 * the request) waits for the script's end up to `commandTimeoutMs`, then is
 * a 503 with Retry-After, like any other moment Redis cannot serve it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJobs, job, type Logger } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import { busyAdmin, startBusy } from '../../core/test/helpers/busy-script.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const quiet: Logger = { warn: () => {}, error: () => {} };
const headers = {
  authorization: `Bearer ${TOKEN}`,
  'content-type': 'application/json',
};

let admin: Awaited<ReturnType<typeof busyAdmin>>;
beforeAll(async () => {
  admin = await busyAdmin(redis.url);
});
afterAll(() => admin.disconnect());

describe('HTTP API while Redis answers BUSY', { timeout: 30_000 }, () => {
  it('an enqueue is stored after the script ends, or answered 503 REDIS_BUSY past commandTimeoutMs; /health answers 503 at once', async () => {
    const queue = uniqueQueue('http-busy');
    const server = await startServer({
      registry: defineJobs({ t: job({ queue, payload: z.object({}) }) }),
      connection: redis.url,
      token: TOKEN,
      port: 0,
      logger: quiet,
      commandTimeoutMs: 800,
    });
    const enqueue = () =>
      fetch(`${server.url}/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 't', payload: {} }),
      });
    try {
      expect((await enqueue()).status).toBe(201);
      const short = await startBusy(redis.url, 500);
      const waited = await enqueue();
      expect(waited.status).toBe(201);
      expect(Date.now()).toBeGreaterThanOrEqual(await short.ended);

      const keys = (await admin.keys(`jobwire:{${queue}}:*`)).sort();
      const long = await startBusy(redis.url, 2000);
      const t0 = Date.now();
      const [refused, health] = await Promise.all([
        enqueue(),
        fetch(`${server.url}/health`).then((r) => ({
          status: r.status,
          ms: Date.now() - t0,
        })),
      ]);
      await long.ended;
      // A readiness probe is answered at once, not after commandTimeoutMs.
      expect(health.status).toBe(503);
      expect(health.ms).toBeLessThan(300);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      const body = (await refused.json()) as { error: { code: string } };
      expect(body.error.code).toBe('REDIS_BUSY');
      // Nothing of the refused request was written.
      expect((await admin.keys(`jobwire:{${queue}}:*`)).sort()).toEqual(keys);
      expect(await admin.zcard(`jobwire:{${queue}}:w:t`)).toBe(2);
    } finally {
      await server.close();
    }
  });
});
