/**
 * Found by the review of this session's diff: health() remembered a lease
 * renewal that failed in a short outage. When the job ended before the
 * next renewal, nothing cleared it, and the worker's next job read not
 * ready on a healthy Redis until a renewal was answered (up to leaseMs / 3:
 * 10 s with the defaults). A lease reply now clears it: Redis answered.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const quiet: Logger = { warn: () => {}, error: () => {} };

describe('health() after a short outage', () => {
  it('reads ready for the next job on a healthy Redis', async () => {
    const jobs = defineJobs({
      t: job({ queue: uniqueQueue('health-after'), payload: z.object({}) }),
    });
    const release: (() => void)[] = [];
    const worker = createWorker(
      jobs,
      { t: () => new Promise<void>((r) => release.push(r)) },
      {
        connection: redis.url,
        // Renewals every 2 s: the second job runs long before one.
        leaseMs: 6000,
        commandTimeoutMs: 500,
        logger: quiet,
      },
    );
    worker.on('error', () => {});
    const queue = createQueue(jobs, { connection: redis.url, logger: quiet });
    try {
      const first = await queue.enqueue('t', {});
      await waitFor(() => release.length === 1, 10_000, 'the first job');
      process.kill(redis.server.pid, 'SIGSTOP');
      try {
        // A renewal goes unanswered, then fails.
        await waitFor(() => !worker.health().ready, 10_000, 'not ready');
      } finally {
        process.kill(redis.server.pid, 'SIGCONT');
      }
      release.shift()!();
      await first.finished({ timeoutMs: 10_000 });
      await waitFor(() => worker.health().ready, 5000, 'ready, idle');

      await queue.enqueue('t', {});
      await waitFor(() => release.length === 1, 10_000, 'the second job');
      const notReady: number[] = [];
      for (let i = 0; i < 50; i++) {
        if (!worker.health().ready) notReady.push(i * 20);
        await sleep(20);
      }
      expect(notReady).toEqual([]);
      release.shift()!();
    } finally {
      for (const r of release) r();
      await worker.close({ deadlineMs: 1000 });
      await queue.close();
    }
  }, 60_000);
});
