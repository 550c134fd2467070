/**
 * The opt-in `durability` enqueue wait (WAIT / WAITAOF pipelined with the
 * enqueue script), on a real redis-server. This machine runs Redis 7.0,
 * which has no WAITAOF: `aof: true` is asserted to fail with
 * DURABILITY_UNAVAILABLE there (and on AOF-off servers on 7.2+), with the
 * job stored all the same. The success paths, with a real replica and on a
 * server with WAITAOF, are in durability-replicas.test.ts.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  defineJobs,
  DurabilityError,
  ErrorCode,
  job,
  ValidationError,
} from '../src/index.ts';
import { rejectionOf } from './helpers/assert.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();
const quiet = { warn: () => {}, error: () => {} };
const registry = (queue: string) =>
  defineJobs({ t: job({ queue, payload: z.object({ n: z.number() }) }) });

let admin: Redis;
beforeAll(() => {
  admin = new Redis(redis.url);
});
afterAll(() => admin.disconnect());

const stored = (queue: string, id: string) =>
  admin.exists(`jobwire:{${queue}}:j:${id}`);

/** EVALSHA and EVAL calls since the last CONFIG RESETSTAT (NOSCRIPT replies count). */
async function scriptCalls(): Promise<{ evalsha: number; eval: number }> {
  const stats = await admin.info('commandstats');
  const count = (cmd: string) =>
    Number(
      new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0,
    );
  return { evalsha: count('evalsha'), eval: count('eval') };
}

describe('durability', () => {
  it('WAIT with 0 replicas succeeds and the job is stored', async () => {
    const q = uniqueQueue();
    const queue = createQueue(registry(q), {
      connection: redis.url,
      logger: quiet,
      durability: { replicas: 0, timeoutMs: 200 },
    });
    try {
      const h = await queue.enqueue('t', { n: 1 });
      expect(await stored(q, h.id)).toBe(1);
      const bulk = await queue.enqueueBulk([
        { name: 't', payload: { n: 2 } },
        { name: 't', payload: { n: 3 } },
      ]);
      expect(bulk.map((b) => b.duplicate)).toEqual([false, false]);
      // After a script flush (as after a Redis restart) the NOSCRIPT path
      // loads the script and still waits.
      await admin.script('FLUSH');
      await admin.config('RESETSTAT');
      const again = await queue.enqueue('t', { n: 4 });
      expect(await stored(q, again.id)).toBe(1);
      // One EVALSHA (answered NOSCRIPT), then the script itself once: not
      // a second EVALSHA before the EVAL (one round trip more).
      const calls = await scriptCalls();
      expect(calls).toEqual({ evalsha: 1, eval: 1 });
    } finally {
      await queue.close();
    }
  });

  it('replicas: 1 on a lone Redis times out with DURABILITY_TIMEOUT; the job is stored', async () => {
    const q = uniqueQueue();
    const queue = createQueue(registry(q), {
      connection: redis.url,
      logger: quiet,
    });
    try {
      const t0 = Date.now();
      const err = await rejectionOf(
        queue.enqueue(
          't',
          { n: 1 },
          { durability: { replicas: 1, timeoutMs: 300 } },
        ),
      );
      const took = Date.now() - t0;
      expect(err).toBeInstanceOf(DurabilityError);
      const e = err as DurabilityError;
      expect(e.code).toBe(ErrorCode.DURABILITY_TIMEOUT);
      expect(e.message).toMatch(/replicas 0\/1/);
      expect(e.message).toMatch(/WERE stored/);
      expect(e.acked).toEqual({ local: 0, replicas: 0 });
      expect(e.jobIds).toHaveLength(1);
      expect(await stored(q, e.jobIds[0]!)).toBe(1);
      expect(took).toBeGreaterThanOrEqual(290);
      expect(took).toBeLessThan(1500);
      // Per-enqueue `false` turns a queue-level wait off.
      const off = createQueue(registry(q), {
        connection: redis.url,
        logger: quiet,
        durability: { replicas: 1, timeoutMs: 300 },
      });
      try {
        const h = await off.enqueue('t', { n: 2 }, { durability: false });
        expect(await stored(q, h.id)).toBe(1);
      } finally {
        await off.close();
      }
    } finally {
      await queue.close();
    }
  });

  it('aof: true without WAITAOF support (Redis < 7.2) or with AOF off is DURABILITY_UNAVAILABLE; the job is stored', async () => {
    const q = uniqueQueue();
    const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1];
    const queue = createQueue(registry(q), {
      connection: redis.url,
      logger: quiet,
      durability: { aof: true },
    });
    try {
      const err = await rejectionOf(queue.enqueue('t', { n: 1 }));
      expect(err).toBeInstanceOf(DurabilityError);
      const e = err as DurabilityError;
      expect(e.code).toBe(ErrorCode.DURABILITY_UNAVAILABLE);
      // 7.0 (this machine): no WAITAOF; 7.2+: AOF is off on this server.
      expect(e.message).toMatch(
        version !== undefined && version < '7.2'
          ? /no WAITAOF command/
          : /AOF is off/,
      );
      expect(e.message).toMatch(/WERE stored/);
      expect(await stored(q, e.jobIds[0]!)).toBe(1);
    } finally {
      await queue.close();
    }
  });

  it('invalid durability options are refused before anything is written', async () => {
    const q = uniqueQueue();
    expect(() =>
      createQueue(registry(q), {
        connection: redis.url,
        logger: quiet,
        durability: { timeoutMs: 10_000 },
      }),
    ).toThrow(/below commandTimeoutMs/);
    const queue = createQueue(registry(q), {
      connection: redis.url,
      logger: quiet,
    });
    try {
      const before = await admin.dbsize();
      const err = await rejectionOf(
        queue.enqueue('t', { n: 1 }, { durability: { replicas: -1 } }),
      );
      expect(err).toBeInstanceOf(ValidationError);
      expect(await admin.dbsize()).toBe(before);
    } finally {
      await queue.close();
    }
  });
});
