/**
 * Issue 15: a lease reply sends a job's options and contract fingerprint
 * only when they differ from the previous job's in the same reply (a batch
 * of one type shares them), and no longer sends the progress the worker
 * never read. These tests interleave types and per-call options in one
 * reply, so a decoder that kept the wrong job's values, or a script that
 * left a value out when it changed, would hand a job another's settings.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job, jobFingerprint } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { moveToActive } from '../src/redis/transitions/lease.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();

function registry(queue: string) {
  return defineJobs({
    a: job({
      queue,
      payload: z.object({ n: z.number() }),
      attempts: 2,
    }),
    b: job({
      queue,
      payload: z.object({ s: z.string() }),
      attempts: 5,
    }),
  });
}

/** The attempts a leased job's stored options JSON carries (`at`). */
function attemptsOf(options: string): unknown {
  return (JSON.parse(options) as { at?: unknown }).at;
}

describe('issue 15: lease reply', () => {
  it('gives each job of an interleaved batch its own options and fingerprint', async () => {
    const q = uniqueQueue('i15r');
    const reg = registry(q);
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      const ids = [
        (await queue.enqueue('a', { n: 1 })).id,
        (await queue.enqueue('b', { s: 'x' })).id,
        // Per-call options: stored inline, not by the type's settings ref.
        (await queue.enqueue('a', { n: 2 }, { attempts: 7 })).id,
        (await queue.enqueue('a', { n: 3 })).id,
        (await queue.enqueue('b', { s: 'y' })).id,
        (await queue.enqueue('b', { s: 'z' })).id,
      ];
      const reply = await moveToActive(raw, queueKeys('jobwire', q), 1000, {
        leaseMs: 30_000,
        tokenPrefix: 'test:1',
        total: 10,
        immediate: 10,
        quotas: [
          ['a', 10],
          ['b', 10],
        ],
      });
      expect(reply.jobs.map((j) => j.id)).toEqual(ids);
      expect(reply.jobs.map((j) => j.name)).toEqual([
        'a',
        'b',
        'a',
        'a',
        'b',
        'b',
      ]);
      expect(reply.jobs.map((j) => attemptsOf(j.options))).toEqual([
        2, 5, 7, 2, 5, 5,
      ]);
      const fpA = jobFingerprint(reg.jobs.a);
      const fpB = jobFingerprint(reg.jobs.b);
      expect(fpA).not.toBe(fpB);
      expect(reply.jobs.map((j) => j.fingerprint)).toEqual([
        fpA,
        fpB,
        fpA,
        fpA,
        fpB,
        fpB,
      ]);
      // Every job has a token of its own, and the reply's fields line up
      // (a field count off by one would shift these).
      expect(new Set(reply.jobs.map((j) => j.token)).size).toBe(6);
      expect(reply.jobs.map((j) => j.version)).toEqual([1, 1, 1, 1, 1, 1]);
      expect(reply.jobs.map((j) => j.attemptsMade)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(reply.jobs.map((j) => JSON.parse(j.data) as unknown)).toEqual([
        { n: 1 },
        { s: 'x' },
        { n: 2 },
        { n: 3 },
        { s: 'y' },
        { s: 'z' },
      ]);
    } finally {
      raw.disconnect();
      await queue.close();
    }
  });

  it('sends the options of a job stored without any as JSON null, not the previous job’s', async () => {
    const q = uniqueQueue('i15n');
    const reg = registry(q);
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const k = queueKeys('jobwire', q);
    try {
      const first = await queue.enqueue('a', { n: 1 });
      const second = await queue.enqueue('a', { n: 2 });
      // A hand-damaged hash: no options inline and no settings ref.
      await raw.hdel(`${k.base}j:${second.id}`, 'o', 'c');
      const reply = await moveToActive(raw, k, 1000, {
        leaseMs: 30_000,
        tokenPrefix: 'test:2',
        total: 10,
        immediate: 10,
        quotas: [['a', 10]],
      });
      expect(reply.jobs.map((j) => j.id)).toEqual([first.id, second.id]);
      expect(attemptsOf(reply.jobs[0]!.options)).toBe(2);
      expect(reply.jobs[1]!.options).toBe('null');
    } finally {
      raw.disconnect();
      await queue.close();
    }
  });
});
