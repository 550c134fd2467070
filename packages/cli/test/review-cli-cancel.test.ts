/**
 * `jobwire job <id>` shows a job's cancel: a requested cancel of an active
 * job (it ends once its handler is aborted, at the worker's next lease
 * renewal) with its time and reason, and a cancelled job's reason. Both
 * are stored on the job (`cancelRequestedAt`, `cancelReason`) and `jobs
 * active` showed the request, but the single-job view showed neither.
 */
import { createQueue, createWorker } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { jobs } from '../../../jobs.schema.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { waitFor } from '../../core/test/helpers/wait.ts';
import { runJobwire } from './jobwire-bin.ts';

const redis = useRedis();

const email = { to: 'ada@example.com', subject: 's', body: 'b' };

describe('jobwire job shows the cancel', { timeout: 400_000 }, () => {
  it('of a cancelled job, and a cancel requested of an active one', async () => {
    const prefix = uniqueQueue('cancel-view');
    const env = { JOBWIRE_PREFIX: prefix };
    const queue = createQueue(jobs, { connection: redis.url, prefix });
    let started = false;
    // A long lease: renewed every 40 s, so the requested cancel stays
    // pending for the CLI run below (the renewal is what delivers it).
    const worker = createWorker(
      jobs,
      {
        sendEmail: async (job) => {
          started = true;
          await new Promise((resolve) =>
            job.signal.addEventListener('abort', resolve),
          );
          return { messageId: 'never' };
        },
        renderSlideshow: () => ({ pages: 0, bytes: 0 }),
        deliverWebhook: () => {},
      },
      {
        connection: redis.url,
        prefix,
        concurrency: 1,
        leaseMs: 120_000,
      },
    );
    try {
      const waiting = await queue.enqueue('sendEmail', email, {
        delayMs: 600_000,
      });
      await queue.cancel(waiting.id, { reason: 'customer left' });
      const cancelled = runJobwire(
        redis.url,
        ['job', waiting.id, '--queue', 'email'],
        env,
      );
      expect(cancelled.stderr).toBe('');
      expect(cancelled.stdout).toMatch(/^state:\s+cancelled$/m);
      expect(cancelled.stdout).toMatch(/^cancel:\s+reason: customer left$/m);

      // Its own timeout outlasts the test: only the cancel may end it.
      const active = await queue.enqueue('sendEmail', email, {
        timeoutMs: 600_000,
      });
      await waitFor(() => started, 20_000, 'the handler to start');
      expect(await queue.cancel(active.id, { reason: 'wrong address' })).toBe(
        'requested',
      );
      const requested = runJobwire(
        redis.url,
        ['job', active.id, '--queue', 'email'],
        env,
      );
      expect(requested.stderr).toBe('');
      expect(requested.stdout).toMatch(/^state:\s+active$/m);
      expect(requested.stdout).toMatch(
        /^cancel:\s+requested \S.*, reason: wrong address$/m,
      );
    } finally {
      await worker.close({ deadlineMs: 1000 });
      await queue.close();
    }
  });
});
