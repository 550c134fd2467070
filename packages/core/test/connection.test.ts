import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  createWorker,
  defineJobs,
  job,
  JobwireError,
} from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { rejectionOf } from './helpers/assert.ts';
import { persistentKeys } from './helpers/redis-keys.ts';
import { startRedis, uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;

beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

function capture(): { logger: Logger; warns: string[]; errors: string[] } {
  const warns: string[] = [];
  const errors: string[] = [];
  return {
    warns,
    errors,
    logger: {
      warn: (m) => {
        warns.push(m);
      },
      error: (m) => {
        errors.push(m);
      },
    },
  };
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

describe('connection inputs', () => {
  it('connects with a URL string, without eviction warnings on a noeviction server', async () => {
    const q = uniqueQueue();
    const { logger, warns } = capture();
    const queue = createQueue(registry(q), { connection: redis.url, logger });
    try {
      const h = await queue.enqueue('echo', { n: 1 });
      expect(await raw.get(`jobwire:{${q}}:p:${h.id}`)).toBe('{"n":1}');
      expect(warns).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('connects with {host, port} settings', async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const settings = { host: '127.0.0.1', port: redis.server.port };
    const queue = createQueue(reg, { connection: settings });
    const worker = createWorker(
      reg,
      { echo: (j) => ({ n: j.data.n * 2 }) },
      {
        connection: settings,
        ...fastWorkerSettings,
      },
    );
    try {
      const h = await queue.enqueue('echo', { n: 21 });
      expect(await h.finished({ timeoutMs: 5000 })).toEqual({ n: 42 });
      expect(await raw.exists(`jobwire:{${q}}:j:${h.id}`)).toBe(1);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('uses a caller-owned ioredis client and leaves it open after close', async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const client = new Redis(redis.url);
    try {
      const queue = createQueue(reg, { connection: client });
      const worker = createWorker(
        reg,
        { echo: (j) => ({ n: j.data.n + 1 }) },
        { connection: client, ...fastWorkerSettings },
      );
      try {
        const h = await queue.enqueue('echo', { n: 1 });
        expect(await h.finished({ timeoutMs: 5000 })).toEqual({ n: 2 });
      } finally {
        await worker.close();
        await queue.close();
      }
      // Still the caller's: open and usable.
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      expect(await client.hget(`jobwire:{${q}}:counts`, 'echo|c')).toBe('1');
    } finally {
      await client.quit();
    }
  });

  it('puts every key under a custom prefix', async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const prefix = `app-${q}`;
    const queue = createQueue(reg, { connection: redis.url, prefix });
    const worker = createWorker(
      reg,
      { echo: (j) => ({ n: j.data.n }) },
      {
        connection: redis.url,
        prefix,
        ...fastWorkerSettings,
      },
    );
    try {
      const h = await queue.enqueue('echo', { n: 5 });
      await h.finished({ timeoutMs: 5000 });
      const keys = await raw.keys(`*${q}*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys)
        expect(k.startsWith(`${prefix}:{${q}}:`)).toBe(true);
      expect(keys).toContain(`${prefix}:{${q}}:j:${h.id}`);
      expect(await raw.keys(`jobwire:{${q}}:*`)).toEqual([]);
      // A queue with the default prefix does not see the job.
      const other = createQueue(reg, { connection: redis.url });
      try {
        expect(await other.getJob(h.id)).toBeUndefined();
        expect((await queue.getJob(h.id))?.state).toBe('completed');
      } finally {
        await other.close();
      }
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('writes to the selected db', async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const settings = { host: '127.0.0.1', port: redis.server.port, db: 2 };
    const queue = createQueue(reg, { connection: settings });
    const worker = createWorker(
      reg,
      { echo: (j) => ({ n: j.data.n }) },
      {
        connection: settings,
        ...fastWorkerSettings,
      },
    );
    const db2 = new Redis({
      host: '127.0.0.1',
      port: redis.server.port,
      db: 2,
    });
    try {
      const h = await queue.enqueue('echo', { n: 3 });
      expect(await h.finished({ timeoutMs: 5000 })).toEqual({ n: 3 });
      expect(await db2.hget(`jobwire:{${q}}:j:${h.id}`, 's')).toBe('c');
      expect(await raw.keys(`*${q}*`)).toEqual([]);
      // The URL form selects a db too.
      const viaUrl = createQueue(reg, { connection: `${redis.url}/2` });
      try {
        expect((await viaUrl.getJob(h.id))?.state).toBe('completed');
      } finally {
        await viaUrl.close();
      }
    } finally {
      await db2.quit();
      await worker.close();
      await queue.close();
    }
  });
});

describe('Redis configuration checks', () => {
  it('warns once when maxmemory-policy is not noeviction; strict mode refuses', async () => {
    const server = await startRedis({
      extraArgs: ['--maxmemory-policy', 'allkeys-lru'],
    });
    const check = new Redis(server.url);
    try {
      const q = uniqueQueue();
      const reg = registry(q);
      const { logger, warns } = capture();
      const queue = createQueue(reg, { connection: server.url, logger });
      try {
        await queue.enqueue('echo', { n: 1 });
        await queue.enqueue('echo', { n: 2 });
        await queue.enqueueBulk([{ name: 'echo', payload: { n: 3 } }]);
        const eviction = warns.filter((w) => w.includes('noeviction'));
        expect(eviction).toHaveLength(1);
        expect(eviction[0]).toContain('allkeys-lru');
      } finally {
        await queue.close();
      }
      expect(await check.hget(`jobwire:{${q}}:counts`, 'echo|w')).toBe('3');

      const q2 = uniqueQueue();
      const strict = createQueue(registry(q2), {
        connection: server.url,
        strictRedisConfig: true,
        logger,
      });
      try {
        const before = await persistentKeys(check);
        const err = await rejectionOf(strict.enqueue('echo', { n: 1 }));
        expect(err).toBeInstanceOf(JobwireError);
        expect((err as JobwireError).code).toBe('REDIS_CONFIG');
        expect((err as Error).message).toContain('noeviction');
        expect(await persistentKeys(check)).toEqual(before);
        // Still refused on the next call: the check is not skipped.
        const again = await rejectionOf(strict.enqueue('echo', { n: 1 }));
        expect((again as JobwireError).code).toBe('REDIS_CONFIG');
        expect(await persistentKeys(check)).toEqual(before);
      } finally {
        await strict.close();
      }
    } finally {
      await check.quit();
      await server.stop();
    }
  });

  it('carries on with a warning when CONFIG is disabled', async () => {
    const server = await startRedis({
      extraArgs: ['--rename-command', 'CONFIG', '""'],
    });
    const check = new Redis(server.url);
    try {
      // The server really has no CONFIG command.
      await expect(
        check.call('CONFIG', 'GET', 'maxmemory-policy'),
      ).rejects.toThrow(/unknown command/i);
      const q = uniqueQueue();
      const { logger, warns } = capture();
      const queue = createQueue(registry(q), {
        connection: server.url,
        logger,
      });
      try {
        const h = await queue.enqueue('echo', { n: 1 });
        expect(await check.get(`jobwire:{${q}}:p:${h.id}`)).toBe('{"n":1}');
        const unverified = warns.filter((w) => w.includes('could not verify'));
        expect(unverified).toHaveLength(1);
      } finally {
        await queue.close();
      }
    } finally {
      await check.quit();
      await server.stop();
    }
  });
});

describe('key layout', () => {
  it('keeps every key of a workload inside jobwire:{<queue>}:', async () => {
    const server = await startRedis();
    const check = new Redis(server.url);
    try {
      const q = uniqueQueue();
      const reg = defineJobs({
        ok: job({
          queue: q,
          payload: z.object({ n: z.number() }),
          result: z.object({ n: z.number() }),
        }),
        flaky: job({
          queue: q,
          payload: z.object({}),
          attempts: 2,
          backoff: { type: 'fixed', delayMs: 50 },
        }),
      });
      const queue = createQueue(reg, { connection: server.url });
      const events = createQueueEvents({
        connection: server.url,
        queue: q,
        from: '0',
      });
      const worker = createWorker(
        reg,
        {
          ok: async (j) => {
            await j.progress(50);
            await j.log(`running ${j.data.n}`);
            return { n: j.data.n };
          },
          flaky: () => {
            throw new Error('always fails');
          },
        },
        { connection: server.url, ...fastWorkerSettings },
      );
      try {
        const handles = await Promise.all([
          queue.enqueue('ok', { n: 1 }),
          queue.enqueue(
            'ok',
            { n: 2 },
            { jobId: 'custom-id', priority: 'high' },
          ),
          queue.enqueue('ok', { n: 3 }, { delayMs: 150 }),
        ]);
        const failing = await queue.enqueue('flaky', {});
        for (const h of handles) await h.finished({ timeoutMs: 5000 });
        const err = await rejectionOf(failing.finished({ timeoutMs: 5000 }));
        expect((err as JobwireError).code).toBe('HANDLER_FAILED');
        await queue.pause({ queue: q });
        await queue.resume({ queue: q });
        await queue.getCounts();
        await queue.getJobs('completed');
      } finally {
        await worker.close();
        await events.close();
        await queue.close();
      }
      const keys = await check.keys('*');
      expect(keys.length).toBeGreaterThan(5);
      const outside = keys.filter((k) => !k.startsWith(`jobwire:{${q}}:`));
      expect(outside).toEqual([]);
      // The job, its log and the failed job all live there.
      expect(keys).toContain(`jobwire:{${q}}:j:custom-id`);
      expect(keys).toContain(`jobwire:{${q}}:l:custom-id`);
      expect(keys).toContain(`jobwire:{${q}}:failed`);
      expect(keys).toContain(`jobwire:{${q}}:events`);
    } finally {
      await check.quit();
      await server.stop();
    }
  });
});

describe('key prefix', () => {
  it('refuses a prefix that would break the hash tag, naming it', () => {
    const reg = defineJobs({
      a: job({ queue: uniqueQueue(), payload: z.object({}) }),
    });
    let err: unknown;
    try {
      createQueue(reg, { connection: redis.url, prefix: 'app{1}' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JobwireError);
    expect((err as JobwireError).code).toBe('INVALID_NAME');
    expect((err as Error).message).toContain('"app{1}"');
  });
});
