/**
 * Found by widening the model-based test (issue 15): a job whose own
 * failed rule keeps nothing (`retention: { failed: false }` or
 * `{ count: 0 }` on its enqueue) is deleted as soon as it fails, and trims
 * nothing else, when its handler throws (fail.lua), when it expires or is
 * cancelled. When the stall check failed it instead (STALL_LIMIT: its
 * worker died), the check indexed it and trimmed its type's failed jobs to
 * its count of 0: every trimmable failed job of the type went with it, and
 * their jobId dedup ended.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  PermanentError,
  type Keep,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const quiet = { warn: () => {}, error: () => {} };

function setup() {
  const q = uniqueQueue('stallkeep');
  const jobs = defineJobs({
    t: job({
      queue: q,
      payload: z.object({ hang: z.boolean() }),
      retention: { failed: { count: 5 } },
    }),
  });
  const queue = createQueue(jobs, { connection: redis.url });
  return { q, jobs, queue };
}

type Setup = ReturnType<typeof setup>;

/** Two jobs failed for good by their handler, under the type's { count: 5 }. */
async function failTwo({ jobs, queue }: Setup): Promise<void> {
  const worker = createWorker(
    jobs,
    {
      t: () => {
        throw new PermanentError('refused');
      },
    },
    { connection: redis.url, ...fastWorkerSettings, logger: quiet },
  );
  try {
    for (const jobId of ['old-1', 'old-2']) {
      const h = await queue.enqueue('t', { hang: false }, { jobId });
      await h.finished().catch(() => undefined);
    }
  } finally {
    await worker.close();
  }
}

/**
 * Enqueues a job with its own failed rule; its worker takes it and dies
 * (its connection cut for good, as a SIGKILL leaves it). Resolves once the
 * handler has been called.
 */
async function crashOn({ jobs, queue }: Setup, failed: Keep) {
  const client = new Redis(redis.url, { retryStrategy: () => null });
  client.on('error', () => {});
  let called = false;
  const worker = createWorker(
    jobs,
    {
      t: () => {
        called = true;
        return new Promise<void>(() => {});
      },
    },
    {
      connection: client,
      ...fastWorkerSettings,
      stallCheckIntervalMs: 60_000,
      logger: quiet,
    },
  );
  worker.on('error', () => {});
  const h = await queue.enqueue(
    't',
    { hang: true },
    { jobId: 'crashed', retention: { failed } },
  );
  await waitFor(() => called, 5000, 'the handler to be called');
  client.disconnect();
  return { handle: h, worker };
}

describe('issue 15: a stalled job whose own rule keeps no failed jobs', () => {
  for (const failed of [false, { count: 0 }] as const) {
    it(`failed for good by the stall check, it trims no other job (retention.failed ${JSON.stringify(failed)})`, async () => {
      const s = setup();
      const { q, jobs, queue } = s;
      try {
        await failTwo(s);
        const crashed = await crashOn(s, failed);
        // Its lease lapses; a stall check with maxStalls 0 fails it.
        const checker = createWorker(
          jobs,
          { t: () => undefined },
          {
            connection: redis.url,
            ...fastWorkerSettings,
            stallCheckIntervalMs: 200,
            maxStalls: 0,
            logger: quiet,
          },
        );
        try {
          const err = await crashed.handle.finished().then(
            () => undefined,
            (e: unknown) => (e as { code?: string }).code,
          );
          expect(err).toBe('STALL_LIMIT');
        } finally {
          await checker.close();
          await crashed.worker.close({ deadlineMs: 0 });
        }
        // Kept for no time: gone at once, as when its handler throws.
        expect(await queue.getJob('crashed', { queue: q })).toBeUndefined();
        const failedIds = (await queue.getJobs('failed', { queue: q }))
          .map((j) => j.id)
          .sort();
        expect(failedIds).toEqual(['old-1', 'old-2']);
        expect((await queue.getCounts({ queue: q })).failed).toBe(2);
        // Their dedup lasts as long as they are kept.
        const again = await queue.enqueue(
          't',
          { hang: false },
          {
            jobId: 'old-1',
          },
        );
        expect(again.duplicate).toBe(true);
      } finally {
        await queue.close();
      }
    }, 30_000);
  }
});
