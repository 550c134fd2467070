/**
 * What a repeat declaration reports and refuses. Declaring the same spec
 * again (every process does at start-up) keeps the pending occurrence, so
 * its handle says `duplicate`, as an enqueue of an existing id does; it
 * said `created`. A spec with both a cron and an interval, or a time zone
 * on an interval, dropped one of them silently (untyped callers).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job, ValidationError } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();
let admin: Redis;
beforeAll(() => {
  admin = new Redis(redis.url);
});
afterAll(() => admin.disconnect());

function setup() {
  const queueName = uniqueQueue('declare');
  const registry = defineJobs({
    tick: job({ queue: queueName, payload: z.object({ n: z.number() }) }),
  });
  return { queueName, queue: createQueue(registry, { connection: redis.url }) };
}

describe('a repeat declaration', () => {
  it('reports created for a new or changed spec, duplicate for the same spec again', async () => {
    const { queue } = setup();
    try {
      const spec = { key: 'k', everyMs: 60_000 };
      const first = await queue.repeat('tick', { n: 1 }, spec);
      expect(first.outcome).toBe('created');
      const same = await queue.repeat('tick', { n: 1 }, spec);
      expect(same.id).toBe(first.id);
      expect(same.outcome).toBe('duplicate');
      expect(same.duplicate).toBe(true);
      const changed = await queue.repeat('tick', { n: 2 }, spec);
      expect(changed.outcome).toBe('created');
    } finally {
      await queue.close();
    }
  });

  it('is listed by getRepeats() with its queue and pending occurrence', async () => {
    const { queueName, queue } = setup();
    try {
      const handle = await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'listed', everyMs: 60_000 },
      );
      const [listed] = await queue.getRepeats();
      expect(listed).toMatchObject({
        key: 'listed',
        name: 'tick',
        queue: queueName,
        everyMs: 60_000,
        next: {
          id: handle.id,
          runAt: Number(handle.id.split('.').at(-1)),
          state: 'delayed',
        },
      });
      expect(listed!.next!.runAt % 60_000).toBe(0);
      expect(listed!.next!.runAt).toBeGreaterThan(Date.now() - 1000);
    } finally {
      await queue.close();
    }
  });

  it("removeRepeat refuses a key that is not one (a schedule's own field, `<key>:next`)", async () => {
    const { queueName, queue } = setup();
    try {
      await queue.repeat('tick', { n: 1 }, { key: 'daily', everyMs: 60_000 });
      const hash = `jobwire:{${queueName}}:repeats`;
      const before = await admin.hgetall(hash);
      for (const key of ['daily:next', 'daily:job', '']) {
        const err = await queue
          .removeRepeat('tick', key)
          .catch((e: unknown) => e);
        expect(err, key).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).issues[0]?.path).toBe('key');
      }
      expect(await admin.hgetall(hash)).toEqual(before);
      expect((await queue.getRepeats())[0]?.next).toBeDefined();
    } finally {
      await queue.close();
    }
  });

  it('the same payload and options in another key order are the same spec', async () => {
    const queueName = uniqueQueue('declare');
    const registry = defineJobs({
      mail: job({
        queue: queueName,
        payload: z.object({
          to: z.string(),
          subject: z.string(),
          meta: z.object({ a: z.number(), b: z.number() }),
        }),
      }),
    });
    const queue = createQueue(registry, { connection: redis.url });
    try {
      const spec = { key: 'k', everyMs: 60_000, limit: 3 };
      const first = await queue.repeat(
        'mail',
        { to: 'a@x', subject: 's', meta: { a: 1, b: 2 } },
        spec,
        { attempts: 2, priority: 'high' },
      );
      const again = await queue.repeat(
        'mail',
        { meta: { b: 2, a: 1 }, subject: 's', to: 'a@x' },
        spec,
        { priority: 'high', attempts: 2 },
      );
      expect(again.id).toBe(first.id);
      expect(again.outcome).toBe('duplicate');
      const [listed] = await queue.getRepeats();
      expect(JSON.parse(listed!.data)).toEqual({
        to: 'a@x',
        subject: 's',
        meta: { a: 1, b: 2 },
      });
    } finally {
      await queue.close();
    }
  });

  it("keeps a record's key order as given, as an enqueue does, and compares it as a value", async () => {
    const queueName = uniqueQueue('declare');
    const registry = defineJobs({
      rank: job({
        queue: queueName,
        payload: z.object({ order: z.record(z.string(), z.number()) }),
      }),
    });
    const queue = createQueue(registry, { connection: redis.url });
    try {
      const spec = { key: 'k', everyMs: 60_000 };
      await queue.repeat('rank', { order: { zeta: 1, alpha: 2 } }, spec);
      const [listed] = await queue.getRepeats();
      expect(listed!.data).toBe('{"order":{"zeta":1,"alpha":2}}');
      const payload = await admin.get(
        `jobwire:{${queueName}}:p:${listed!.next!.id}`,
      );
      expect(payload).toBe('{"order":{"zeta":1,"alpha":2}}');
      const again = await queue.repeat(
        'rank',
        { order: { alpha: 2, zeta: 1 } },
        spec,
      );
      expect(again.outcome).toBe('duplicate');
    } finally {
      await queue.close();
    }
  });

  it.each([
    [{ cron: '0 8 * * *', everyMs: 1000 }, 'everyMs'],
    [{ everyMs: 1e20 }, 'everyMs'],
    [{ everyMs: 150.5 }, 'everyMs'],
    [{ everyMs: 1000, startAt: new Date(8.64e15) }, 'startAt'],
    [{ everyMs: 1000, tz: 'Europe/Paris' }, 'tz'],
    [{}, 'cron'],
  ])('refuses %j naming %s, and writes nothing', async (kind, field) => {
    const { queueName, queue } = setup();
    try {
      const err = await queue
        .repeat('tick', { n: 1 }, { key: 'k', ...kind } as never)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues[0]?.path).toBe(field);
      expect(await admin.exists(`jobwire:{${queueName}}:repeats`)).toBe(0);
    } finally {
      await queue.close();
    }
  });
});
