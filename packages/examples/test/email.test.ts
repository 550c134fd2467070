import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createJobsQueue } from '../src/generated/producer.ts';
import { uniqueQueue, useRedis } from '@jobwire/test-kit/vitest';
import { fastWorkerSettings } from '@jobwire/test-kit';
import { startSignupServer } from '../src/email/server.ts';
import { startEmailWorker } from '../src/email/worker.ts';

const redis = useRedis();

function urlOf(server: Server): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}/signup`;
}

function post(server: Server, body: string): Promise<Response> {
  return fetch(urlOf(server), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) =>
    server.close((err) => (err ? reject(err) : resolve())),
  );
}

describe('email example: signup server and email worker', () => {
  it('accepts a signup with 202 and the job completes with a typed result', async () => {
    const prefix = uniqueQueue('email');
    const queue = createJobsQueue({ connection: redis.url, prefix });
    const worker = startEmailWorker({
      connection: redis.url,
      prefix,
      ...fastWorkerSettings,
    });
    const server = await startSignupServer(queue, 0);
    try {
      const res = await post(
        server,
        JSON.stringify({ email: 'ada@example.com', name: 'Ada' }),
      );
      expect(res.status).toBe(202);
      const { jobId } = (await res.json()) as { jobId: string };
      expect(jobId).toMatch(/^[0-9a-z]{17,}$/);

      const result = await queue.waitForResult('sendEmail', jobId, {
        timeoutMs: 10_000,
      });
      // Typed from the result schema: { messageId: string }.
      const messageId: string = result.messageId;
      expect(messageId).toBe(`msg-${jobId}`);

      const info = await queue.getJob(jobId, { queue: 'email' });
      expect(info).toMatchObject({
        name: 'sendEmail',
        state: 'completed',
        data: {
          to: 'ada@example.com',
          subject: 'Welcome, Ada!',
          tags: ['welcome'],
        },
      });
    } finally {
      await closeServer(server);
      await worker.close();
      await queue.close();
    }
  });

  it('answers 400 naming every failing field, and enqueues nothing', async () => {
    const prefix = uniqueQueue('email');
    const queue = createJobsQueue({ connection: redis.url, prefix });
    const server = await startSignupServer(queue, 0);
    try {
      const res = await post(server, '{"email":"nope","name":""}');
      expect(res.status).toBe(400);
      const body = (await res.json()) as {
        error: string;
        issues: { path: string; message: string }[];
      };
      expect(body.issues.map((i) => i.path).sort()).toEqual(['email', 'name']);
      expect(body.error).toContain('email');
      expect(body.error).toContain('name');

      const counts = await queue.getCounts();
      const { byType, ...states } = counts;
      expect(Object.values(states).every((n) => n === 0)).toBe(true);
      expect(byType).toEqual({});
    } finally {
      await closeServer(server);
      await queue.close();
    }
  });

  it('answers 400 to a body that is not JSON', async () => {
    const prefix = uniqueQueue('email');
    const queue = createJobsQueue({ connection: redis.url, prefix });
    const server = await startSignupServer(queue, 0);
    try {
      const res = await post(server, 'email=ada@example.com&name=Ada');
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'body must be JSON' });
      expect((await queue.getCounts()).waiting).toBe(0);
    } finally {
      await closeServer(server);
      await queue.close();
    }
  });
});
