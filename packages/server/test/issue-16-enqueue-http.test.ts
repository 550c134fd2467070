/**
 * Issue 16 over HTTP: `POST /jobs` says what the enqueue did with each
 * job, as the core handle does: `outcome` (created, duplicate, throttled)
 * and `replaced` (the pending job a debounce cancelled). A throttled job
 * was never stored: 200, not 201, so it does not look stored.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJobs, job, type Logger } from '@jobwire/core';
import { startServer, type RunningServer } from '@jobwire/server';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const quiet: Logger = { warn: () => {}, error: () => {} };
const headers = {
  authorization: `Bearer ${TOKEN}`,
  'content-type': 'application/json',
};

async function withServer(fn: (s: RunningServer) => Promise<void>) {
  const queue = uniqueQueue('enq');
  const payload = z.object({ n: z.number() });
  const registry = defineJobs({
    ping: job({ queue, payload, throttle: { limit: 1, periodMs: 60_000 } }),
    save: job({ queue, payload, debounce: { periodMs: 60_000 } }),
  });
  const server = await startServer({
    registry,
    connection: redis.url,
    token: TOKEN,
    port: 0,
    logger: quiet,
  });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

async function post(s: RunningServer, body: unknown) {
  const res = await fetch(`${s.url}/jobs`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
  };
}

describe('POST /jobs reports the enqueue outcome (issue 16)', () => {
  it('a throttled job: 200 with outcome throttled, and it was not stored', async () => {
    await withServer(async (s) => {
      const first = await post(s, { name: 'ping', payload: { n: 1 } });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({
        outcome: 'created',
        duplicate: false,
      });
      const dropped = await post(s, { name: 'ping', payload: { n: 2 } });
      expect(dropped.status).toBe(200);
      expect(dropped.body).toMatchObject({
        name: 'ping',
        outcome: 'throttled',
        duplicate: false,
      });
      const got = await fetch(`${s.url}/jobs/${String(dropped.body.id)}`, {
        headers,
      });
      expect(got.status).toBe(404);
      // Bulk: per item, in a 201 (some items may have been stored).
      const bulk = await post(s, {
        jobs: [{ name: 'ping', payload: { n: 3 } }],
      });
      expect(bulk.status).toBe(201);
      expect(bulk.body.jobs).toEqual([
        expect.objectContaining({ outcome: 'throttled', duplicate: false }),
      ]);
    });
  });

  it('a debounced job says which job it replaced; a duplicate says duplicate', async () => {
    await withServer(async (s) => {
      const a = await post(s, { name: 'save', payload: { n: 1 } });
      expect(a.status).toBe(201);
      expect(a.body).toMatchObject({ outcome: 'created' });
      expect(a.body).not.toHaveProperty('replaced');
      const b = await post(s, { name: 'save', payload: { n: 2 } });
      expect(b.status).toBe(201);
      expect(b.body).toMatchObject({ outcome: 'created', replaced: a.body.id });
      const old = await fetch(`${s.url}/jobs/${String(a.body.id)}`, {
        headers,
      });
      expect(((await old.json()) as { state: string }).state).toBe('cancelled');
      const item = {
        name: 'ping',
        payload: { n: 1 },
        options: { jobId: 'j1' },
      };
      expect((await post(s, item)).body).toMatchObject({ outcome: 'created' });
      const dup = await post(s, item);
      expect(dup.status).toBe(201);
      expect(dup.body).toEqual({
        id: 'j1',
        name: 'ping',
        queue: expect.any(String),
        outcome: 'duplicate',
        duplicate: true,
      });
    });
  });
});
