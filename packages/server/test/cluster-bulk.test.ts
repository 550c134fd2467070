import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJobs, ErrorCode, job, type Logger } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import {
  startCluster,
  type TestCluster,
} from '../../core/test/helpers/redis-cluster.ts';
import { waitFor } from '../../core/test/helpers/wait.ts';

// Issue 13, item 16 over HTTP: a bulk POST /jobs spanning queues while one
// master of the cluster is down says per item what was stored.

const TOKEN = 'test-token-0123456789abcdef';
const quiet: Logger = { warn: () => {}, error: () => {} };
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster({ nodeTimeoutMs: 1000, fullCoverage: false });
}, 90_000);

afterAll(async () => {
  await c?.stop();
});

interface BulkJson {
  error?: { code: string; message: string };
  jobs: (
    | { id: string; name: string; queue: string; duplicate: boolean }
    | { error: { code: string; message: string } }
  )[];
}

describe('HTTP bulk enqueue on a Redis Cluster with a master down', () => {
  it('answers 207 with, per item, the stored job or its coded error', async () => {
    const victim = c.nodes[0]!;
    const down = await c.queueOn(victim, 'http-down');
    const up = await c.queueOn(c.nodes[1]!, 'http-up');
    const payload = z.object({ n: z.number() });
    const registry = defineJobs({
      onDown: job({ queue: down, payload }),
      onUp: job({ queue: up, payload }),
    });
    const cluster = c.client();
    const server = await startServer({
      registry,
      connection: cluster,
      token: TOKEN,
      port: 0,
      logger: quiet,
      connectTimeoutMs: 1000,
    });
    const headers = {
      authorization: `Bearer ${TOKEN}`,
      'content-type': 'application/json',
    };
    const jobs = Array.from({ length: 40 }, (_, n) => ({
      name: n % 2 === 0 ? 'onDown' : 'onUp',
      payload: { n },
    }));
    try {
      const warm = await fetch(`${server.url}/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'onDown', payload: { n: -1 } }),
      });
      expect(warm.status).toBe(201);
      await victim.kill9();
      await waitFor(
        async () =>
          (await c.cli(c.nodes[1]!, 'CLUSTER', 'NODES')).includes('fail'),
        30_000,
        'the killed master to be marked failed',
      );
      const res = await fetch(`${server.url}/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ jobs }),
      });
      expect(res.status).toBe(207);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as BulkJson;
      expect(body.error?.code).toBe(ErrorCode.BULK_PARTIAL);
      expect(body.jobs).toHaveLength(40);
      for (const [i, item] of body.jobs.entries()) {
        if (jobs[i]!.name === 'onDown') {
          expect(item).toMatchObject({
            error: { code: ErrorCode.REDIS_UNAVAILABLE },
          });
        } else {
          expect(item).toMatchObject({ name: 'onUp', queue: up });
          // What the response calls stored is stored.
          const id = (item as { id: string }).id;
          const got = await fetch(
            `${server.url}/jobs/${encodeURIComponent(id)}?queue=${up}`,
            { headers },
          );
          expect(got.status).toBe(200);
          expect(((await got.json()) as { data: unknown }).data).toEqual(
            jobs[i]!.payload,
          );
        }
      }
    } finally {
      await server.close();
      await cluster.quit();
    }
  }, 120_000);
});
