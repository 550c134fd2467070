/**
 * Issue 14, phase 2: `/stats` says how many jobs wait per contract version,
 * and why a version waits (`waitingByVersion`; the dashboard reads it too).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '@jobwire/core';
import type { Logger } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const quiet: Logger = { warn: () => {}, error: () => {} };

describe('/stats waitingByVersion (issue 14)', () => {
  it('reports a version no worker reads as no-reader, beside the counts', async () => {
    const queue = uniqueQueue('http');
    const payload = z.object({ n: z.number() });
    const v1 = defineJobs({ send: job({ queue, payload }) });
    const v2 = defineJobs({
      send: job({
        queue,
        version: 2,
        payload,
        upcast: { 1: { from: payload, to: (o) => o } },
      }),
    });
    const producer = createQueue(v2, { connection: redis.url });
    const old = createQueue(v1, { connection: redis.url });
    const server = await startServer({
      registry: v1,
      connection: redis.url,
      token: TOKEN,
      port: 0,
      logger: quiet,
    });
    try {
      await producer.enqueue('send', { n: 1 });
      await producer.enqueue('send', { n: 2 });
      await old.enqueue('send', { n: 3 });
      const res = await fetch(`${server.url}/stats?queue=${queue}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        waiting: 3,
        byType: { send: { waiting: 3 } },
        waitingByVersion: {
          send: [
            { version: 1, waiting: 1 },
            { version: 2, waiting: 2, reason: 'no-reader' },
          ],
        },
      });
    } finally {
      await server.close();
      await producer.close();
      await old.close();
    }
  });
});
