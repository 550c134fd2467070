/**
 * Issue 15: `jobwire migrate-layout` rewrites jobs a layout 1 build stored
 * (payload in the job hash, logs at `j:<id>:log`) into the current form,
 * `jobwire stats` shows each queue's layout, and a queue a newer jobwire
 * wrote is refused with LAYOUT_UNSUPPORTED. Run as a child process over
 * the root jobs.schema.ts (queues `email` and `media`).
 */
import { createQueue, defineJobs, job, LAYOUT_VERSION } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { queueKeys } from '../../core/src/redis/keys.ts';
import { rawRedis } from '../../core/test/helpers/raw-redis.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { runJobwire } from './jobwire-bin.ts';

const redis = useRedis();

function cli(args: string[], prefix: string) {
  return runJobwire(redis.url, args, { JOBWIRE_PREFIX: prefix });
}

describe('jobwire migrate-layout', { timeout: 400_000 }, () => {
  it('moves layout 1 jobs to the current form, stats shows the layout, a newer layout is refused', async () => {
    const prefix = uniqueQueue('layout-cli');
    const email = queueKeys(prefix, 'email');
    const raw = rawRedis(redis.url);
    const reg = defineJobs({
      sendEmail: job({ queue: 'email', payload: z.object({ to: z.string() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url, prefix });
    try {
      const ids: string[] = [];
      for (const to of ['a@example.com', 'b@example.com']) {
        const { id } = await queue.enqueue('sendEmail', { to });
        ids.push(id);
        // As a layout 1 build stored it.
        await raw.hset(email.job(id), 'd', (await raw.get(email.payload(id)))!);
        await raw.del(email.payload(id));
        await raw.rpush(email.legacyLog(id), `old ${id}`);
      }
      await raw.hdel(email.meta, 'layout');

      const dry = cli(
        ['migrate-layout', '--queue', 'email', '--dry-run', '--json'],
        prefix,
      );
      expect(dry.stderr).toBe('');
      expect(dry.status).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject([
        { queue: 'email', dryRun: true, payloads: 2, logs: 2 },
      ]);
      expect(await raw.hexists(email.job(ids[0]!), 'd')).toBe(1);

      const run = cli(['migrate-layout', '--queue', 'email'], prefix);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toContain(
        `email: layout none recorded -> ${String(LAYOUT_VERSION)}; moved 2 payloads and 2 log lists`,
      );
      for (const id of ids) {
        expect(await raw.hexists(email.job(id), 'd')).toBe(0);
        expect(await raw.exists(email.legacyLog(id))).toBe(0);
        expect(await raw.lrange(email.log(id), 0, -1)).toEqual([`old ${id}`]);
        expect(JSON.parse((await raw.get(email.payload(id)))!)).toHaveProperty(
          'to',
        );
      }
      expect((await queue.getCounts({ queue: 'email' })).waiting).toBe(2);

      const stats = cli(['stats'], prefix);
      expect(stats.status).toBe(0);
      expect(stats.stdout).toContain(
        `layout: email ${String(LAYOUT_VERSION)}, media none recorded (this jobwire supports up to ${String(LAYOUT_VERSION)})`,
      );

      await raw.hset(email.meta, 'layout', '99');
      const refused = cli(['migrate-layout', '--json'], prefix);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('queue "email" is stored in layout 99');
      expect(refused.stderr).toContain('upgrade');
      const json = JSON.parse(cli(['stats', '--json'], prefix).stdout) as {
        layouts: { queue: string; layout?: number }[];
      };
      expect(json.layouts.find((l) => l.queue === 'email')?.layout).toBe(99);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });
});
