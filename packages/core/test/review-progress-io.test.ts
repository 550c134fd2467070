/**
 * Found by outside reviews of the handler's own writes:
 * - a progress schema with a passing async refine made every
 *   `job.progress()` reject ("Encountered Promise during synchronous
 *   parse"), in the worker and in the test queue, although the worker
 *   checks payloads and results with async schemas;
 * - `job.progress()` and `job.log()` rejected with raw ioredis errors
 *   (MaxRetriesPerRequestError, "Stream isn't writeable…") when the
 *   worker's connection dropped, where everything jobwire throws is a
 *   JobwireError with a code; a write refused unsent now waits for the
 *   reconnect.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
} from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };

function registry(q: string) {
  return defineJobs({
    report: job({
      queue: q,
      payload: z.object({}),
      progress: z.number().refine(async (n) => n !== 13, 'unlucky'),
      timeoutMs: 60_000,
    }),
  });
}

/** How each progress write of the handler ended: 'ok' or the error code. */
function outcomes(j: { progress(n: number): Promise<void> }) {
  return Promise.all(
    [5, 13].map((n) =>
      j.progress(n).then(
        () => 'ok',
        (e: unknown) => String((e as { code?: unknown }).code),
      ),
    ),
  );
}

describe('progress with an async schema', () => {
  it('is parsed async in the worker and in the test queue', async () => {
    const jobs = registry(uniqueQueue('async-progress'));
    let seen: string[] | undefined;
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(
      jobs,
      {
        report: async (j) => {
          seen = await outcomes(j);
        },
      },
      { connection: redis.url, ...fastWorkerSettings, logger: silent },
    );
    try {
      const handle = await queue.enqueue('report', {});
      await handle.finished({ timeoutMs: 20_000 });
      expect(seen).toEqual(['ok', ErrorCode.VALIDATION_FAILED]);
      expect((await queue.getJob(handle.id))?.progress).toBe(5);
    } finally {
      await worker.close();
      await queue.close();
    }

    let inTest: string[] | undefined;
    const test = createTestQueue(jobs, {
      handlers: {
        report: async (j) => {
          inTest = await outcomes(j);
        },
      },
    });
    await test.enqueue('report', {});
    await test.runAll();
    expect(inTest).toEqual(['ok', ErrorCode.VALIDATION_FAILED]);
  });
});

describe('progress and log while the connection drops', () => {
  it('reject only with coded JobwireErrors, and go through after the reconnect', async () => {
    const jobs = defineJobs({
      chatty: job({
        queue: uniqueQueue('chatty'),
        payload: z.object({}),
        timeoutMs: 60_000,
      }),
    });
    const failures: unknown[] = [];
    let writes = 0;
    let stop = false;
    const queue = createQueue(jobs, { connection: redis.url });
    const worker = createWorker(
      jobs,
      {
        chatty: async (j) => {
          while (!stop) {
            for (const write of [
              () => j.progress(writes % 100),
              () => j.log('x'),
            ]) {
              try {
                await write();
                writes++;
              } catch (err) {
                failures.push(err);
              }
            }
            await sleep(1);
          }
        },
      },
      { connection: redis.url, ...fastWorkerSettings, logger: silent },
    );
    const admin = new Redis(redis.url);
    try {
      const handle = await queue.enqueue('chatty', {});
      await waitFor(() => writes > 10, 20_000, 'the handler to write');
      for (let i = 0; i < 8; i++) {
        await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
        await sleep(150);
      }
      const before = writes;
      await waitFor(
        () => writes > before + 10,
        20_000,
        'writes after the kills',
      );
      stop = true;
      await handle.finished({ timeoutMs: 20_000 }).catch(() => {});
      const raw = failures.filter(
        (e) => !(e instanceof JobwireError) || typeof e.code !== 'string',
      );
      expect(raw.map((e) => String(e))).toEqual([]);
    } finally {
      stop = true;
      await worker.close();
      await queue.close();
      admin.disconnect();
    }
  });
});
