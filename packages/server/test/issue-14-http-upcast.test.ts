/**
 * Issue 14 over HTTP: `?upcast=true` on the job and job-list routes gives
 * old jobs in the current version's shape, with their stored version, and
 * a job that cannot be upcast with its stored payload and the error.
 */
import { describe, expect, it } from 'vitest';
import { createQueue, type JobInfo, type Logger } from '@jobwire/core';
import { startServer, type RunningServer } from '@jobwire/server';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { UPCASTER_MESSAGE, versionedRegistries } from './support/versions.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const quiet: Logger = { warn: () => {}, error: () => {} };

type Registries = ReturnType<typeof versionedRegistries>;

/** A server on the version 2 registry, and a version 1 producer. */
async function withServer(
  fn: (
    s: RunningServer,
    v1: ReturnType<typeof createQueue<Registries['one']['jobs']>>,
  ) => Promise<void>,
): Promise<void> {
  const queue = uniqueQueue('http14');
  const { one, two } = versionedRegistries(queue);
  const server = await startServer({
    registry: two,
    connection: redis.url,
    token: TOKEN,
    port: 0,
    logger: quiet,
  });
  const producer = createQueue(one, { connection: redis.url, logger: quiet });
  try {
    await fn(server, producer);
  } finally {
    await producer.close();
    await server.close();
  }
}

async function get<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers: auth });
  return { status: res.status, body: (await res.json()) as T };
}

describe('HTTP API: ?upcast=true (issue 14)', () => {
  it('GET /queues gives each job type’s current version', async () => {
    await withServer(async (s) => {
      const { body } = await get<{
        queues: { jobTypes: string[]; versions: Record<string, number> }[];
      }>(`${s.url}/queues`);
      expect(body.queues[0]?.jobTypes).toEqual(['send']);
      expect(body.queues[0]?.versions).toEqual({ send: 2 });
    });
  });

  it('GET /jobs lists version 1 jobs as version 2, a failing one with its error and stored payload', async () => {
    await withServer(async (s, v1) => {
      const ok = await v1.enqueue('send', { to: 'a@example.com' });
      const bad = await v1.enqueue('send', { to: 'throw@example.com' });

      const plain = await get<{ jobs: JobInfo[] }>(`${s.url}/jobs`);
      expect(plain.body.jobs.map((j) => j.data)).toEqual([
        { to: 'a@example.com' },
        { to: 'throw@example.com' },
      ]);
      expect(plain.body.jobs[0]).not.toHaveProperty('dataVersion');

      const up = await get<{ jobs: JobInfo[] }>(
        `${s.url}/jobs?state=waiting&upcast=true`,
      );
      expect(up.status).toBe(200);
      const [first, second] = up.body.jobs;
      expect(first).toMatchObject({
        id: ok.id,
        version: 1,
        dataVersion: 2,
        data: { to: ['a@example.com'], subject: '(none)' },
      });
      expect(first).not.toHaveProperty('upcastError');
      expect(second).toMatchObject({
        id: bad.id,
        version: 1,
        dataVersion: 1,
        data: { to: 'throw@example.com' },
        upcastError: { code: 'UPCAST_FAILED' },
      });
      expect(second?.upcastError?.message).toContain(UPCASTER_MESSAGE);
      // The API never shows stacks in a list.
      expect(second?.upcastError).not.toHaveProperty('stack');
    });
  });

  it('GET /jobs/:id?upcast=true gives one job upcast; stacks only with stacks=true', async () => {
    await withServer(async (s, v1) => {
      const ok = await v1.enqueue('send', { to: 'a@example.com' });
      const bad = await v1.enqueue('send', { to: 'throw@example.com' });

      const stored = await get<JobInfo>(`${s.url}/jobs/${ok.id}`);
      expect(stored.body.data).toEqual({ to: 'a@example.com' });
      const up = await get<JobInfo>(`${s.url}/jobs/${ok.id}?upcast=true`);
      expect(up.body).toMatchObject({
        version: 1,
        dataVersion: 2,
        data: { to: ['a@example.com'], subject: '(none)' },
      });

      const failed = await get<JobInfo>(`${s.url}/jobs/${bad.id}?upcast=true`);
      expect(failed.status).toBe(200);
      expect(failed.body.data).toEqual({ to: 'throw@example.com' });
      expect(failed.body.upcastError?.code).toBe('UPCAST_FAILED');
      expect(failed.body.upcastError).not.toHaveProperty('stack');
      const withStack = await get<JobInfo>(
        `${s.url}/jobs/${bad.id}?upcast=true&stacks=true`,
      );
      expect(withStack.body.upcastError?.stack).toContain(UPCASTER_MESSAGE);
    });
  });

  it('refuses an upcast value other than true or false', async () => {
    await withServer(async (s, v1) => {
      const { id } = await v1.enqueue('send', { to: 'a@example.com' });
      for (const url of [
        `${s.url}/jobs?upcast=yes`,
        `${s.url}/jobs/${id}?upcast=1`,
      ]) {
        const res = await get<{ error: { code: string; issues: unknown } }>(
          url,
        );
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('BAD_REQUEST');
        expect(res.body.error.issues).toEqual([
          expect.objectContaining({ path: 'upcast' }),
        ]);
      }
    });
  });
});
