/**
 * Found by an outside review (2026-12-01):
 * - an unknown cron `tz` was refused with cron-parser's plain Error (no
 *   code, no field), where repeatable-jobs.md promises a ValidationError
 *   naming the field;
 * - an untyped caller's `jobId`, `delayMs` or `runAt` in a repeat's enqueue
 *   options was stored and silently ignored;
 * - removeRepeat(name, key) removed another type's schedule under the same
 *   key (keys are per queue; a later repeat() of that type replaced it).
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  defineJobs,
  ErrorCode,
  job,
  ValidationError,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { scanKeys } from './helpers/redis-keys.ts';

const redis = useRedis();

function registryFor(queue: string) {
  return defineJobs({
    a: job({ queue, payload: z.object({}) }),
    b: job({ queue, payload: z.object({}) }),
  });
}

const pathsOf = (e: unknown) => {
  expect(e).toBeInstanceOf(ValidationError);
  expect((e as ValidationError).code).toBe(ErrorCode.VALIDATION_FAILED);
  return (e as ValidationError).issues.map((i) => i.path);
};

describe('repeat options refused up front, and removeRepeat by type', () => {
  it('an unknown time zone, and options the schedule decides, are refused naming the field; nothing is written', async () => {
    const q = uniqueQueue('rvr');
    const queue = createQueue(registryFor(q), { connection: redis.url });
    const raw = new Redis(redis.url);
    try {
      const tz = await queue
        .repeat('a', {}, { key: 'k', cron: '* * * * *', tz: 'Mars/Olympus' })
        .catch((e: unknown) => e);
      expect(pathsOf(tz)).toEqual(['tz']);
      for (const [field, value] of [
        ['jobId', 'fixed'],
        ['delayMs', 1000],
        ['runAt', new Date(Date.now() + 1000)],
      ] as const) {
        const untyped = { [field]: value } as object;
        const e = await queue
          .repeat('a', {}, { key: 'k', everyMs: 1000 }, untyped)
          .catch((err: unknown) => err);
        expect(pathsOf(e)).toEqual([field]);
      }
      expect(await scanKeys(raw, `jobwire:{${q}}:*`)).toEqual([]);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });

  it("removeRepeat of one type leaves another type's schedule under the same key", async () => {
    const q = uniqueQueue('rvr');
    const queue = createQueue(registryFor(q), { connection: redis.url });
    try {
      await queue.repeat('a', {}, { key: 'same', everyMs: 60_000 });
      // Keys are per queue: b's schedule replaces a's.
      await queue.repeat('b', {}, { key: 'same', everyMs: 60_000 });
      expect(await queue.removeRepeat('a', 'same')).toBe(false);
      expect((await queue.getRepeats()).map((r) => [r.name, r.key])).toEqual([
        ['b', 'same'],
      ]);
      expect(await queue.removeRepeat('b', 'same')).toBe(true);
      expect(await queue.getRepeats()).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
