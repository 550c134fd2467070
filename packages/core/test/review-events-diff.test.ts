/**
 * Found by a review of the event reader's rewrite (2026-12-02):
 * - a typed reader whose result schema refines asynchronously typed a
 *   whole batch before handing any of it out, and close() waited for that
 *   (4 s for 200 events with a 20 ms refine; for ever with a refine that
 *   never settles);
 * - every async refine ran twice per parse (the sync try runs it, then
 *   zod throws and the async parse runs it again), and one that rejected
 *   did so unhandled, which ends a process under Node's defaults;
 * - a listener that threw a value String() cannot convert (an object
 *   without a prototype) made the report throw: the other listeners
 *   missed the event.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueueEvents, defineJobs, job } from '../src/index.ts';
import { safeParseFast } from '../src/contract/parse.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;

beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

/** Writes `n` completed events of type `slow` with result 1 to the log. */
async function completedEvents(queue: string, n: number): Promise<void> {
  const key = `jobwire:{${queue}}:events`;
  const pipe = raw.pipeline();
  for (let i = 0; i < n; i++)
    pipe.xadd(
      key,
      '*',
      'ev',
      'completed',
      'id',
      `j${i}`,
      'n',
      'slow',
      'r',
      '1',
    );
  await pipe.exec();
}

describe('the event reader after its rewrite', () => {
  it('hands out async-typed events one by one, and close() does not wait for the batch', async () => {
    const q = uniqueQueue('rev-diff-async');
    const jobs = defineJobs({
      slow: job({
        queue: q,
        payload: z.object({}),
        result: z.number().refine(async () => {
          await sleep(20);
          return true;
        }),
      }),
    });
    await completedEvents(q, 200);
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
      jobs,
    });
    let seen = 0;
    events.on('completed', () => seen++);
    await waitFor(() => seen > 0, 5000, 'a first typed event');
    // 200 events at 20 ms each: the whole batch takes 4 s to type.
    expect(seen).toBeLessThan(100);
    const started = performance.now();
    await events.close();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('close() returns while a refine never settles', async () => {
    const q = uniqueQueue('rev-diff-stuck');
    const jobs = defineJobs({
      slow: job({
        queue: q,
        payload: z.object({}),
        result: z.number().refine(() => new Promise<boolean>(() => {})),
      }),
    });
    await completedEvents(q, 3);
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
      jobs,
    });
    events.on('completed', () => {});
    await sleep(200);
    const closing = events.close().then(() => 'closed');
    expect(await Promise.race([closing, sleep(3000).then(() => 'hung')])).toBe(
      'closed',
    );
  });

  it('runs an async refine once per parse, and a rejecting one is not left unhandled', async () => {
    let calls = 0;
    const schema = z.number().refine(async (n) => {
      calls++;
      if (n < 0) throw new Error('negative');
      return true;
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The first parse finds out that the schema is async.
      await safeParseFast(schema, 1);
      calls = 0;
      for (let i = 0; i < 5; i++) await safeParseFast(schema, i);
      expect(calls).toBe(5);
      const failed = await safeParseFast(schema, -1);
      expect(failed.success).toBe(false);
      await sleep(50);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a listener throwing an object without a prototype costs the others nothing', async () => {
    const q = uniqueQueue('rev-diff-throw');
    await completedEvents(q, 3);
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
    });
    const errors: Error[] = [];
    let others = 0;
    events.on('error', (err) => errors.push(err));
    events.on('event', () => {
      throw Object.create(null);
    });
    events.on('event', () => others++);
    try {
      await waitFor(
        () => others === 3,
        5000,
        'three events to the second listener',
      );
      expect(errors).toHaveLength(3);
      expect(errors[0]).toBeInstanceOf(Error);
    } finally {
      await events.close();
    }
  });
});
