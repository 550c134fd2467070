/**
 * Found by an outside review of scheduling: a type's `retention.ageMs` was
 * applied only by a trim, and a trim ran only when another job of that
 * type finished in that state. A type whose traffic stopped kept its
 * finished jobs (and their jobIds' dedup) past their age for good, which
 * is the "finished jobs eat Redis memory" pain the rule exists for. Now
 * the workers' periodic stall check also applies the age rules of their
 * job types: completed by the completed rule; failed, expired and
 * cancelled by the failed rule. Count rules and types without an age rule
 * are left alone.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  PermanentError,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };
let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

const AGE_MS = 300;

function registry(q: string) {
  const payload = z.object({ ok: z.boolean() });
  return defineJobs({
    aged: job({
      queue: q,
      payload,
      retention: { completed: { ageMs: AGE_MS }, failed: { ageMs: AGE_MS } },
    }),
    counted: job({
      queue: q,
      payload,
      retention: { completed: { count: 10 }, failed: { count: 10 } },
    }),
  });
}

const run = (j: { data: { ok: boolean } }) => {
  if (!j.data.ok) throw new PermanentError('no');
};

describe('age retention with no further traffic', () => {
  it('the stall check trims finished jobs past their age; count rules stay', async () => {
    const q = uniqueQueue('age-idle');
    const jobs = registry(q);
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(
      jobs,
      { aged: run, counted: run },
      { connection: redis.url, logger: silent, ...fastWorkerSettings },
    );
    try {
      const handles = [];
      for (const name of ['aged', 'counted'] as const)
        for (const ok of [true, true, false])
          handles.push(await queue.enqueue(name, { ok }));
      for (const h of handles)
        await h.finished({ timeoutMs: 10_000 }).catch(() => {});
      expect(await queue.getCounts()).toMatchObject({
        completed: 4,
        failed: 2,
      });

      // No job finishes from here on: only the periodic check can trim.
      await waitFor(
        async () => {
          const c = (await queue.getCounts()).byType.aged;
          return c?.completed === 0 && c.failed === 0;
        },
        AGE_MS + 10 * fastWorkerSettings.stallCheckIntervalMs,
        'the aged type trimmed',
      );
      expect((await queue.getCounts()).byType.counted).toMatchObject({
        completed: 2,
        failed: 1,
      });
      for (const h of handles.slice(0, 3)) {
        expect(await raw.exists(`jobwire:{${q}}:j:${h.id}`)).toBe(0);
        expect(await raw.exists(`jobwire:{${q}}:p:${h.id}`)).toBe(0);
      }
      for (const h of handles.slice(3))
        expect(await raw.exists(`jobwire:{${q}}:j:${h.id}`)).toBe(1);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
