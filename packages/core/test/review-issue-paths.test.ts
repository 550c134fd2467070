/**
 * Found by an outside review (2026-12-01): an unknown key was reported at
 * its object's path (`options`, or '' for a strict payload), named only in
 * the message; an Invalid Date read "expected date, received Date". Each
 * unknown key is now an issue at its own path.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job, ValidationError } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();

describe('issues name the failing field', () => {
  it('one issue per unknown key, at its path; an invalid date says so', async () => {
    const jobs = defineJobs({
      a: job({
        queue: uniqueQueue('paths'),
        payload: z.strictObject({ n: z.number(), inner: z.strictObject({}) }),
      }),
    });
    const queue = createQueue(jobs, { connection: redis.url });
    const issuesOf = async (p: Promise<unknown>) => {
      const e = await p.catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ValidationError);
      return (e as ValidationError).issues.map((i) => [i.path, i.message]);
    };
    try {
      const extra = { n: 1, inner: { x: 1 }, y: 2, z: 3 };
      expect(await issuesOf(queue.enqueue('a', extra as never))).toEqual([
        ['inner.x', 'unknown key "x"'],
        ['y', 'unknown key "y"'],
        ['z', 'unknown key "z"'],
      ]);
      const ok = { n: 1, inner: {} };
      expect(
        await issuesOf(queue.enqueue('a', ok, { foo: 1 } as never)),
      ).toEqual([['foo', 'unknown key "foo"']]);
      expect(
        await issuesOf(queue.enqueue('a', ok, { runAt: new Date('x') })),
      ).toEqual([['runAt', 'not a valid date']]);
    } finally {
      await queue.close();
    }
  });
});
