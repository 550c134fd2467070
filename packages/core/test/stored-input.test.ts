import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { stripUnknownKeys } from '../src/contract/strip.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();

describe('what enqueue stores', () => {
  it('keeps only the fields the schema names, at every depth', () => {
    const schema = z.object({
      to: z.string(),
      addr: z.object({ zip: z.string() }).optional(),
      items: z.array(z.object({ sku: z.string() })),
      meta: z.looseObject({ a: z.number() }),
      kind: z.union([
        z.object({ t: z.literal('a'), x: z.number() }),
        z.object({ t: z.literal('b'), y: z.number() }),
      ]),
      tags: z.array(z.string()).default([]),
    });
    const input = {
      to: 'x',
      stray: 1,
      addr: { zip: '75001', extra: true },
      items: [{ sku: 'a', qty: 2 }],
      meta: { a: 1, free: 'kept' },
      kind: { t: 'b', y: 2, z: 3 },
    };
    expect(schema.safeParse(input).success).toBe(true);
    expect(stripUnknownKeys(schema, input)).toEqual({
      to: 'x',
      addr: { zip: '75001' },
      items: [{ sku: 'a' }],
      meta: { a: 1, free: 'kept' },
      kind: { t: 'b', y: 2 },
    });
  });

  it('stores the validated input minus unknown keys, not the output', async () => {
    const queue = uniqueQueue();
    const jobs = defineJobs({
      signup: job({
        queue,
        payload: z.object({
          email: z.string().transform((s) => s.toLowerCase()),
          plan: z.enum(['free', 'pro']).default('free'),
        }),
      }),
    });
    const q = createQueue(jobs, { connection: redis.url });
    const client = new Redis(redis.url);
    try {
      const h = await q.enqueue('signup', {
        email: 'Ada@Example.COM',
        legacy: 'x',
      } as never);
      const raw = await client.get(queueKeys('jobwire', queue).payload(h.id));
      // Untransformed, no default filled in, and no stray key.
      expect(JSON.parse(raw!)).toEqual({ email: 'Ada@Example.COM' });
    } finally {
      await client.quit();
      await q.close();
    }
  });

  it("stores a plain schema's input minus unknown keys, and a trimmed field untrimmed", async () => {
    const queue = uniqueQueue();
    const jobs = defineJobs({
      plain: job({
        queue,
        payload: z.object({
          to: z.email(),
          lines: z.array(z.object({ sku: z.string() })),
        }),
      }),
      trimmed: job({ queue, payload: z.object({ name: z.string().trim() }) }),
    });
    const q = createQueue(jobs, { connection: redis.url });
    const client = new Redis(redis.url);
    const stored = async (id: string) =>
      JSON.parse(
        (await client.get(queueKeys('jobwire', queue).payload(id)))!,
      ) as unknown;
    try {
      const a = await q.enqueue('plain', {
        to: 'a@example.com',
        lines: [{ sku: 'x', qty: 2 }],
        stray: true,
      } as never);
      expect(await stored(a.id)).toEqual({
        to: 'a@example.com',
        lines: [{ sku: 'x' }],
      });
      const b = await q.enqueue('trimmed', { name: '  Ada ' });
      expect(await stored(b.id)).toEqual({ name: '  Ada ' });
    } finally {
      await client.quit();
      await q.close();
    }
  });
});
