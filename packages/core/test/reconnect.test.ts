import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
} from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis({
  appendonly: true,
  extraArgs: ['--appendfsync', 'always'],
});

/** Outages log a lot by design; keep test output readable. */
const quiet: Logger = { warn: () => {}, error: () => {} };

/** Like `waitFor`, but a throwing `cond` (Redis down) counts as not yet. */
async function waitForTolerant(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  await waitFor(
    async () => {
      try {
        return await cond();
      } catch {
        return false;
      }
    },
    timeoutMs,
    what,
  );
}

function registryFor(queue: string) {
  return defineJobs({
    work: job({ queue, payload: z.object({ n: z.number() }) }),
  });
}

describe('reconnection', () => {
  it('an idle worker survives kill -9 + restart: health goes false then true, new jobs complete', async () => {
    const q = uniqueQueue('rc');
    const reg = registryFor(q);
    const queue = createQueue(reg, {
      connection: redis.url,
      connectTimeoutMs: 3000,
      logger: quiet,
    });
    const done = new Set<string>();
    const worker = createWorker(
      reg,
      { work: () => {} },
      { connection: redis.url, ...fastWorkerSettings, logger: quiet },
    );
    worker.on('completed', (e) => done.add(e.id));
    worker.on('error', () => {});
    try {
      await waitForTolerant(() => worker.health().ready, 5000, 'worker ready');
      await redis.server.kill9();
      await waitForTolerant(
        () => !worker.health().ready,
        2000,
        'health not ready',
      );
      await sleep(1000);
      expect(worker.health().ready).toBe(false);
      await redis.server.restart();
      const restarted = Date.now();
      await waitForTolerant(
        () => worker.health().ready,
        5000,
        'health ready again',
      );
      expect(Date.now() - restarted).toBeLessThanOrEqual(5000);

      const t0 = Date.now();
      const handles = await queue.enqueueBulk(
        Array.from({ length: 20 }, (_, n) => ({
          name: 'work' as const,
          payload: { n },
        })),
      );
      await waitForTolerant(
        () => handles.every((h) => done.has(h.id)),
        5000,
        '20 jobs after restart',
      );
      expect(Date.now() - t0).toBeLessThanOrEqual(5500);
      expect((await queue.getCounts()).completed).toBe(20);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('resumes on its own after an idle outage longer than blockTimeoutMs', async () => {
    const q = uniqueQueue('rc');
    const reg = registryFor(q);
    const queue = createQueue(reg, {
      connection: redis.url,
      connectTimeoutMs: 3000,
      logger: quiet,
    });
    const worker = createWorker(
      reg,
      { work: () => {} },
      { connection: redis.url, ...fastWorkerSettings, logger: quiet },
    );
    worker.on('error', () => {});
    try {
      await waitForTolerant(() => worker.health().ready, 5000, 'worker ready');
      await sleep(200);
      await redis.server.kill9();
      await sleep(3000);
      await redis.server.restart();
      const h = await queue.enqueue('work', { n: 1 });
      await h.finished({ timeoutMs: 5000 });
      expect(worker.health().ready).toBe(true);
      expect((await queue.getJob(h.id))?.state).toBe('completed');
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('kill -9 while jobs are active: no job lost, duplicates bounded', async () => {
    const q = uniqueQueue('rc');
    const reg = registryFor(q);
    const queue = createQueue(reg, {
      connection: redis.url,
      connectTimeoutMs: 3000,
      logger: quiet,
    });
    let invocations = 0;
    const ran = new Set<number>();
    const worker = createWorker(
      reg,
      {
        work: async (j) => {
          invocations++;
          ran.add(j.data.n);
          await sleep(50);
        },
      },
      {
        connection: redis.url,
        ...fastWorkerSettings,
        concurrency: 10,
        logger: quiet,
      },
    );
    worker.on('error', () => {});
    try {
      await queue.enqueueBulk(
        Array.from({ length: 100 }, (_, n) => ({
          name: 'work' as const,
          payload: { n },
        })),
      );
      await waitForTolerant(
        () => invocations >= 25,
        10_000,
        'jobs to be running',
      );
      await redis.server.kill9();
      const atKill = invocations;
      await sleep(1000);
      await redis.server.restart();
      expect(atKill).toBeLessThan(100);

      await waitForTolerant(
        async () => {
          const c = await queue.getCounts();
          return c.completed + c.failed === 100;
        },
        30_000,
        'all 100 jobs finished',
      );
      const counts = await queue.getCounts();
      expect(counts).toMatchObject({
        waiting: 0,
        delayed: 0,
        active: 0,
        completed: 100,
        failed: 0,
      });
      const completed = await queue.getJobs('completed', { limit: 1000 });
      expect(
        new Set(completed.map((j) => (j.data as { n: number }).n)).size,
      ).toBe(100);
      expect(ran.size).toBe(100);
      expect(invocations).toBeLessThanOrEqual(120);
    } finally {
      await worker.close();
      await queue.close();
    }
  }, 45_000);

  it('a Queue created while Redis is down fails fast with REDIS_UNAVAILABLE, then works after restart', async () => {
    const q = uniqueQueue('rc');
    const reg = registryFor(q);
    await redis.server.kill9();
    const connectTimeoutMs = 2000;
    const queue = createQueue(reg, {
      connection: redis.url,
      connectTimeoutMs,
      logger: quiet,
    });
    try {
      const t0 = Date.now();
      const err = await queue
        .enqueue('work', { n: 1 })
        .catch((e: unknown) => e);
      const took = Date.now() - t0;
      expect(err).toBeInstanceOf(JobwireError);
      expect((err as JobwireError).code).toBe(ErrorCode.REDIS_UNAVAILABLE);
      expect(took).toBeLessThanOrEqual(connectTimeoutMs + 500);

      await redis.server.restart();
      const h = await queue.enqueue('work', { n: 2 });
      expect(h.duplicate).toBe(false);
      const info = await queue.getJob(h.id);
      expect(info).toMatchObject({ state: 'waiting', data: { n: 2 } });
      // The failed call wrote nothing.
      expect((await queue.getCounts()).waiting).toBe(1);
    } finally {
      await queue.close();
      // Leave the server up for any later test.
      if ((await pingable()) === false) await redis.server.restart();
    }
  });
});

async function pingable(): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const c = new Redis(redis.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}
