import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  createJobsQueue,
  enqueueDeliverWebhook,
  enqueueRenderSlideshow,
  enqueueSendEmail,
} from '../src/generated/producer.ts';
import { uniqueQueue, useRedis } from '@jobwire/test-kit/vitest';
import { PROCESS_START_MS, waitFor } from '@jobwire/test-kit';

const redis = useRedis();
const daemonFile = fileURLToPath(
  new URL('../src/daemon/worker.ts', import.meta.url),
);

interface Daemon {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDaemon(prefix: string): Daemon {
  const child = spawn(process.execPath, ['--import', 'tsx', daemonFile], {
    env: {
      ...process.env,
      REDIS_URL: redis.url,
      JOBWIRE_PREFIX: prefix,
      SHUTDOWN_DEADLINE_MS: '15000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
  }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.child.exitCode === null && d.child.signalCode === null) {
    d.child.kill('SIGKILL');
  }
  await d.exited;
}

/** A webhook receiver answering 200, recording what it was sent. */
async function startReceiver(): Promise<{
  server: Server;
  url: string;
  received: unknown[];
}> {
  const received: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({
        method: req.method,
        url: req.url,
        body: JSON.parse(body),
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/hooks/in`, received };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

describe('daemon example: one process serving every job type', () => {
  it(
    'runs all three job types, then finishes an active job on SIGTERM and exits 0',
    async () => {
      const prefix = uniqueQueue('daemon');
      const queue = createJobsQueue({ connection: redis.url, prefix });
      const receiver = await startReceiver();
      const daemon = startDaemon(prefix);
      try {
        const email = await enqueueSendEmail(queue, {
          to: 'ada@example.com',
          subject: 'Hello',
          body: 'Hi',
        });
        const render = await enqueueRenderSlideshow(queue, {
          title: 'Deck',
          slides: ['a', 'b'],
        });
        const hook = await enqueueDeliverWebhook(queue, {
          url: receiver.url,
          event: 'user.created',
          body: { userId: 'u42' },
        });

        // The first answers wait for the daemon's tsx start-up too.
        const timeoutMs = PROCESS_START_MS;
        expect(await email.finished({ timeoutMs })).toEqual({
          messageId: `msg-${email.id}`,
        });
        expect(await render.finished({ timeoutMs })).toEqual({
          pages: 2,
          bytes: 2 * 48_213,
        });
        expect(await hook.finished({ timeoutMs })).toBeUndefined();
        expect(receiver.received).toEqual([
          {
            method: 'POST',
            url: '/hooks/in',
            body: { event: 'user.created', userId: 'u42' },
          },
        ]);
        expect(daemon.output()).toMatch(/serving every job type/);

        // A slow render (40 slides, about 20 ms each): SIGTERM while it runs.
        const slides = Array.from({ length: 40 }, (_, i) => `s${i + 1}`);
        const slow = await enqueueRenderSlideshow(queue, {
          title: 'Long deck',
          slides,
        });
        await waitFor(
          async () => {
            const info = await queue.getJob(slow.id, { queue: 'media' });
            const progress = info?.progress as { slide: number } | undefined;
            return info?.state === 'active' && (progress?.slide ?? 0) >= 2;
          },
          10_000,
          'the slow render to be active',
        );
        daemon.child.kill('SIGTERM');
        const exit = await daemon.exited;
        expect(exit, daemon.output()).toEqual({ code: 0, signal: null });

        // Graceful: the job ran to the end in the closing daemon.
        const info = await queue.getJob(slow.id, { queue: 'media' });
        expect(info).toMatchObject({
          state: 'completed',
          attemptsMade: 1,
          deliveries: 1,
          progress: { percent: 100, slide: 40 },
          result: { pages: 40, bytes: 40 * 48_213 },
        });
        expect(await slow.finished({ timeoutMs: 1000 })).toEqual({
          pages: 40,
          bytes: 40 * 48_213,
        });
        const counts = await queue.getCounts();
        expect(counts).toMatchObject({
          active: 0,
          waiting: 0,
          failed: 0,
          completed: 4,
        });
      } finally {
        await stopDaemon(daemon);
        await closeServer(receiver.server);
        await queue.close();
      }
      // A tsx start-up, then jobs and a graceful stop: a deadline for a hang.
    },
    3 * PROCESS_START_MS,
  );
});
