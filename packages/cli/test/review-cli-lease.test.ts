/**
 * Found by an outside review of faults: after every worker was killed, an
 * operator could not tell an orphaned active job from a running one:
 * `getJob()`, `jobwire job` and `jobwire jobs active` showed no lease.
 * Such jobs stay active until some worker's stall check runs. An active
 * job now carries `leaseExpiresAt`, and the CLI says when it ran out.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createQueue, createWorker } from '@jobwire/core';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { jobs } from '../../../jobs.schema.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { sleep, waitFor } from '../../core/test/helpers/wait.ts';
import { jobwire, rootSchema } from './jobwire-bin.ts';

const redis = useRedis();

const email = { to: 'ada@example.com', subject: 's', body: 'b' };
const LEASE_MS = 1500;
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Runs `jobwire args` without blocking this process: the worker under test
 * lives here, and its lease renewals must go on while the CLI runs.
 */
async function runJobwire(
  redisUrl: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(
    process.execPath,
    [...jobwire(), ...rootSchema(args)],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, REDIS_URL: redisUrl, ...env },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
}

describe('the lease of an active job', { timeout: 400_000 }, () => {
  it('is shown while renewed, and as run out once its worker is gone', async () => {
    const prefix = uniqueQueue('lease-view');
    const env = { JOBWIRE_PREFIX: prefix };
    const queue = createQueue(jobs, { connection: redis.url, prefix });
    // The worker's own client: cut, it is a killed worker (no more writes).
    const client = new Redis(redis.url, {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    let started = false;
    const worker = createWorker(
      jobs,
      {
        sendEmail: async () => {
          started = true;
          await sleep(600_000);
          return { messageId: 'never' };
        },
        renderSlideshow: () => ({ pages: 0, bytes: 0 }),
        deliverWebhook: () => {},
      },
      {
        connection: client,
        prefix,
        concurrency: 1,
        leaseMs: LEASE_MS,
        // No stall check within the test: the job stays orphaned.
        stallCheckIntervalMs: 600_000,
        logger: { warn: () => {}, error: () => {} },
      },
    );
    worker.on('error', () => {});
    try {
      const h = await queue.enqueue('sendEmail', email, { timeoutMs: 600_000 });
      await waitFor(() => started, 20_000, 'the handler to start');
      // Past one lease: only renewals keep the deadline ahead.
      await sleep(LEASE_MS + 200);
      const live = await queue.getJob(h.id);
      expect(live?.state).toBe('active');
      expect(live?.leaseExpiresAt).toBeGreaterThan(Date.now());
      const running = await runJobwire(redis.url, ['job', h.id], env);
      expect(running.stderr).toBe('');
      expect(running.stdout).toMatch(/^lease:\s+until \S.*renewed/m);

      client.disconnect();
      await sleep(LEASE_MS + 1500);
      const orphan = await queue.getJob(h.id);
      expect(orphan?.state).toBe('active');
      expect(orphan?.leaseExpiresAt).toBeLessThan(Date.now() - 1000);
      const shown = await runJobwire(redis.url, ['job', h.id], env);
      expect(shown.stdout).toMatch(/^lease:\s+ran out \S.*died or froze/m);
      const listed = await runJobwire(redis.url, ['jobs', 'active'], env);
      expect(listed.stdout).toContain('lease ran out');

      // Finished jobs carry none.
      expect(
        (await queue.getJobs('waiting')).every(
          (j) => j.leaseExpiresAt === undefined,
        ),
      ).toBe(true);
    } finally {
      await worker.close({ deadlineMs: 0 }).catch(() => {});
      await queue.close();
    }
  });
});
