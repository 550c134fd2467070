import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  createWorker,
  defineJobs,
  job,
} from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep } from './helpers/wait.ts';

// A client the caller made with ioredis's `lazyConnect: true` waits (status
// 'wait') for its first command. jobwire waits for 'ready' before it sends
// one, so such a client was never connected: enqueue failed with
// REDIS_UNAVAILABLE and a strict worker's `ready` never settled.

const redis = useRedis();
const quiet: Logger = { warn: () => {}, error: () => {} };
const clients: Redis[] = [];

afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

function lazyClient(): Redis {
  const client = new Redis({ port: redis.server.port, lazyConnect: true });
  clients.push(client);
  return client;
}

function registry(queue: string) {
  return defineJobs({
    echo: job({
      queue,
      payload: z.object({ n: z.number() }),
      result: z.object({ n: z.number() }),
    }),
  });
}

/** What `p` settled with within `ms`, or 'pending'. */
function within(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([
    p.then(
      (v) => ({ ok: v }),
      (err: unknown) => ({ err }),
    ),
    sleep(ms).then(() => 'pending'),
  ]);
}

describe('a caller-owned client created with lazyConnect', () => {
  it('is connected by a queue on its first call: enqueue and finished() work', async () => {
    const client = lazyClient();
    const reg = registry(uniqueQueue());
    const queue = createQueue(reg, { connection: client, logger: quiet });
    const worker = createWorker(
      reg,
      { echo: (j) => ({ n: j.data.n }) },
      { connection: lazyClient(), logger: quiet, ...fastWorkerSettings },
    );
    try {
      // Not connected before it is needed, as ioredis itself would not be.
      expect(client.status).toBe('wait');
      const handle = await queue.enqueue('echo', { n: 3 });
      expect(client.status).toBe('ready');
      expect(await within(handle.finished(), 5000)).toEqual({ ok: { n: 3 } });
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('is connected by a strict worker, whose ready settles', async () => {
    const reg = registry(uniqueQueue());
    const worker = createWorker(
      reg,
      { echo: (j) => ({ n: j.data.n }) },
      {
        connection: lazyClient(),
        strictRedisConfig: true,
        logger: quiet,
        ...fastWorkerSettings,
      },
    );
    try {
      expect(await within(worker.ready, 5000)).toEqual({ ok: undefined });
      // Its blocking connection (a duplicate, jobwire's) is up too.
      expect(worker.health().ready).toBe(true);
    } finally {
      await worker.close();
    }
  });

  it('is connected by a QueueEvents, whose ready() resolves', async () => {
    const events = createQueueEvents({
      connection: lazyClient(),
      queue: uniqueQueue(),
      logger: quiet,
    });
    try {
      expect(await within(events.ready(), 5000)).toEqual({ ok: undefined });
    } finally {
      await events.close();
    }
  });

  it("leaves the caller's own connect() right after handing it over to the caller", async () => {
    const client = lazyClient();
    const reg = registry(uniqueQueue());
    const worker = createWorker(
      reg,
      { echo: (j) => ({ n: j.data.n }) },
      { connection: client, logger: quiet, ...fastWorkerSettings },
    );
    try {
      // ioredis rejects a second connect(): jobwire's must not come first.
      await client.connect();
      expect(await within(worker.ready, 5000)).toEqual({ ok: undefined });
    } finally {
      await worker.close();
    }
  });

  it('is not connected by a worker closed before it started', async () => {
    const client = lazyClient();
    const worker = createWorker(
      registry(uniqueQueue()),
      { echo: (j) => ({ n: j.data.n }) },
      { connection: client, logger: quiet },
    );
    await worker.close();
    await sleep(50);
    expect(client.status).toBe('wait');
  });
});
