/**
 * `jobwire repeats` lists the repeat schedules (cron with its time zone,
 * interval, bounds, next run, ended), and `jobwire remove-repeat <type>
 * <key>` stops one: exit 2 for an unknown type or a malformed key, 1 when
 * the type has no schedule under the key.
 */
import { createQueue } from '@jobwire/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../../jobs.schema.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { runJobwire } from './jobwire-bin.ts';

const redis = useRedis();
const prefix = uniqueQueue('repeats');
const env = { JOBWIRE_PREFIX: prefix };
const email = { to: 'ops@example.com', subject: 'Digest', body: '…' };
const hook = {
  url: 'https://example.com/hook',
  event: 'user.created' as const,
  body: {},
};
const endAt = new Date(Date.now() + 365 * 86_400_000);

function ok(args: string[]): string {
  const res = runJobwire(redis.url, args, env);
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  return res.stdout;
}

/** A table's row starting with `key`, split into its cells. */
function row(out: string, key: string): string[] | undefined {
  return out
    .split('\n')
    .find((l) => l.startsWith(`${key} `))
    ?.split(/\s{2,}/);
}

describe('jobwire repeats and remove-repeat', { timeout: 300_000 }, () => {
  beforeAll(async () => {
    const queue = createQueue(jobs, { connection: redis.url, prefix });
    try {
      await queue.repeat('sendEmail', email, {
        key: 'daily',
        cron: '0 8 * * *',
        tz: 'Europe/Paris',
      });
      await queue.repeat('deliverWebhook', hook, {
        key: 'heartbeat',
        everyMs: 30_000,
        endAt,
      });
      // Limit 1: removing its one occurrence uses it up, and the schedule ends.
      const once = await queue.repeat('sendEmail', email, {
        key: 'once',
        everyMs: 60_000,
        limit: 1,
      });
      await queue.remove(once.id);
    } finally {
      await queue.close();
    }
  });

  it('lists each schedule with its type, queue, schedule, bounds, next run and state', () => {
    const out = ok(['repeats']);
    expect(out.split('\n')[0]?.split(/\s{2,}/)).toEqual([
      'KEY',
      'TYPE',
      'QUEUE',
      'SCHEDULE',
      'BOUNDS',
      'NEXT RUN',
      'STATE',
    ]);
    const daily = row(out, 'daily');
    expect(daily?.slice(0, 5)).toEqual([
      'daily',
      'sendEmail',
      'email',
      'cron 0 8 * * * (Europe/Paris)',
      '-',
    ]);
    expect(daily?.[5]).toMatch(/^\S+T\S+Z \(in [\d.]+(ms|s|m|h)\)$/);
    expect(daily?.[6]).toBe('delayed');
    const heartbeat = row(out, 'heartbeat');
    expect(heartbeat?.slice(0, 5)).toEqual([
      'heartbeat',
      'deliverWebhook',
      'email',
      'every 30s',
      `until ${endAt.toISOString()}`,
    ]);
    // A 30 s slot may fall due before the listing; no worker promotes it.
    expect(heartbeat?.[5]).toMatch(
      /^\S+Z \((in [\d.]+m?s|now|[\d.]+m?s ago)\)$/,
    );
    expect(row(out, 'once')).toEqual([
      'once',
      'sendEmail',
      'email',
      'every 1m',
      'limit 1',
      '-',
      'ended',
    ]);
    expect(out).toContain('\n3 repeat schedules, 1 ended\n');
    expect(ok(['repeats', '--queue', 'media'])).toBe(
      'no repeat schedules in queue media\n',
    );
  });

  it('prints the schedules as JSON with --json, narrowed by --name', () => {
    const listed = JSON.parse(ok(['repeats', '--json'])) as unknown[];
    expect(listed).toEqual([
      {
        key: 'daily',
        name: 'sendEmail',
        queue: 'email',
        cron: '0 8 * * *',
        tz: 'Europe/Paris',
        data: JSON.stringify(email),
        next: {
          id: expect.stringMatching(/^rpt\.daily\.\d+$/) as unknown,
          runAt: expect.any(Number) as unknown,
          state: 'delayed',
        },
      },
      expect.objectContaining({
        key: 'heartbeat',
        name: 'deliverWebhook',
        queue: 'email',
        everyMs: 30_000,
        endAtMs: endAt.getTime(),
      }),
      expect.objectContaining({
        key: 'once',
        queue: 'email',
        limit: 1,
        ended: true,
      }),
    ]);
    expect((listed[2] as { next?: unknown }).next).toBeUndefined();
    const only = JSON.parse(
      ok(['repeats', '--json', '--name', 'deliverWebhook']),
    ) as { key: string }[];
    expect(only.map((r) => r.key)).toEqual(['heartbeat']);
  });

  it('remove-repeat: 2 for an unknown type or a bad key, 1 for no such schedule, 0 once removed', () => {
    const unknown = runJobwire(redis.url, ['remove-repeat', 'nope', 'x'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown job type 'nope'/);
    const badKey = runJobwire(
      redis.url,
      ['remove-repeat', 'sendEmail', 'daily:next'],
      env,
    );
    expect(badKey.status).toBe(2);
    expect(badKey.stderr).toContain("invalid repeat key 'daily:next'");
    // `once` is sendEmail's: deliverWebhook has no schedule under that key.
    const other = runJobwire(
      redis.url,
      ['remove-repeat', 'deliverWebhook', 'once'],
      env,
    );
    expect(other.status).toBe(1);
    expect(other.stderr).toBe(
      'error: repeat schedule once of deliverWebhook does not exist\n',
    );

    expect(ok(['remove-repeat', 'sendEmail', 'once'])).toBe(
      'removed repeat schedule once of sendEmail\n',
    );
    expect(
      JSON.parse(ok(['remove-repeat', 'sendEmail', 'daily', '--json'])),
    ).toEqual({
      ok: true,
      action: 'remove-repeat',
      name: 'sendEmail',
      key: 'daily',
    });
    const again = runJobwire(
      redis.url,
      ['remove-repeat', 'sendEmail', 'daily'],
      env,
    );
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(
      'error: repeat schedule daily of sendEmail does not exist\n',
    );
    const left = JSON.parse(ok(['repeats', '--json'])) as { key: string }[];
    expect(left.map((r) => r.key)).toEqual(['heartbeat']);
  });
});
