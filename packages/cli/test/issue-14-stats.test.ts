/**
 * Issue 14, phase 2: `jobwire stats` shows how many jobs wait per contract
 * version, and why a version waits (no worker reads it), over the root
 * jobs.schema.ts registry, whose `sendEmail` is at version 1.
 */
import { createQueue, defineJobs, job } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { runJobwire } from './jobwire-bin.ts';

const redis = useRedis();

/** Runs the CLI; asserts it succeeded and returns its stdout. */
function cli(args: string[], env: Record<string, string>): string {
  const res = runJobwire(redis.url, args, env);
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  return res.stdout;
}

describe('jobwire stats by contract version', { timeout: 300_000 }, () => {
  it('lists the waiting jobs per version and says no worker reads the newer one', async () => {
    const prefix = uniqueQueue('cli');
    const payload = z.object({ to: z.string(), subject: z.string() });
    // A newer deploy's producer: sendEmail at version 2.
    const newer = defineJobs({
      sendEmail: job({
        queue: 'email',
        version: 2,
        payload,
        upcast: { 1: { from: payload, to: (o) => o } },
      }),
    });
    const producer = createQueue(newer, { connection: redis.url, prefix });
    try {
      await producer.enqueue('sendEmail', {
        to: 'a@example.com',
        subject: 's',
      });
      await producer.enqueue('sendEmail', {
        to: 'b@example.com',
        subject: 's',
      });
    } finally {
      await producer.close();
    }
    const env = { JOBWIRE_PREFIX: prefix };
    const stats = JSON.parse(cli(['stats', '--json'], env)) as {
      waitingByVersion: Record<string, unknown>;
    };
    expect(stats.waitingByVersion).toEqual({
      sendEmail: [{ version: 2, waiting: 2, reason: 'no-reader' }],
    });
    const human = cli(['stats', '--queue', 'email'], env);
    expect(human).toContain('waiting by contract version:');
    const section = human.slice(human.indexOf('waiting by contract version:'));
    const row = section.split('\n').find((l) => l.startsWith('sendEmail'));
    expect(row?.split(/\s{2,}/)).toEqual([
      'sendEmail',
      'v2',
      '2',
      'no worker reads v2',
    ]);
  });
});
