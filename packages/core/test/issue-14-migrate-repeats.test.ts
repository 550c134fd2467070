/**
 * `queue.migrate(name)` upgrades the type's repeat schedules too (issue
 * 14): a schedule declared at an older contract version keeps an
 * occurrence template (payload, version, fingerprint) of that version, so
 * without migrating it every later occurrence would be created old, and
 * fail once the upcaster is dropped. Real Redis; the repeats hash is read
 * raw.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { jobFingerprint } from '../src/contract/fingerprint.ts';
import { JobField } from '../src/redis/job-fields.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { migrateRepeat } from '../src/redis/transitions/migrate.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import {
  sendV2,
  UPCASTER_MESSAGE,
  versionedRegistries,
} from './helpers/versioned-jobs.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(() => raw.disconnect());

/** A schedule of `send` declared by a version 1 producer. */
async function declareV1(queue: string, to: string, everyMs: number) {
  const { one } = versionedRegistries(queue);
  const p1 = createQueue(one, { connection: redis.url });
  try {
    return await p1.repeat('send', { to }, { key: 'digest', everyMs });
  } finally {
    await p1.close();
  }
}

function template(json: string | null): Record<string, unknown> {
  expect(json).not.toBeNull();
  return JSON.parse(json!) as Record<string, unknown>;
}

describe('migrate: repeat schedules', () => {
  it('upcasts an ended schedule too, so the v2 declaration of the same schedule leaves it ended', async () => {
    const queue = uniqueQueue('migrate-ended');
    const k = queueKeys('jobwire', queue);
    const { one, two } = versionedRegistries(queue);
    const p1 = createQueue(one, { connection: redis.url });
    const w1 = createWorker(
      one,
      { send: () => {} },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await p1.repeat(
        'send',
        { to: 'e@example.com' },
        { key: 'once', everyMs: 100, limit: 1 },
      );
      await waitFor(
        async () => (await p1.getRepeats())[0]?.ended === true,
        10_000,
        'the schedule ended',
      );
    } finally {
      await w1.close();
      await p1.close();
    }
    const p2 = createQueue(two, { connection: redis.url });
    try {
      const report = await p2.migrate('send');
      expect(report.repeats.migrated).toBe(1);
      expect(template(await raw.hget(k.repeats, 'once:job')).v).toBe(2);
      // The v2 code declares the schedule as it always did.
      const again = await p2.repeat(
        'send',
        { to: ['e@example.com'] },
        { key: 'once', everyMs: 100, limit: 1 },
      );
      expect(again.outcome).toBe('duplicate');
      const listed = await p2.getRepeats();
      expect(listed.map((r) => [r.key, r.ended])).toEqual([['once', true]]);
      expect(await raw.zcard(k.delayed)).toBe(0);
    } finally {
      await p2.close();
    }
  }, 30_000);

  it('rewrites a v1 schedule, so its next occurrence is created at v2 and runs on a worker without the upcaster', async () => {
    const queue = uniqueQueue('migrate-rpt');
    const k = queueKeys('jobwire', queue);
    const { two } = versionedRegistries(queue);
    const first = await declareV1(queue, 'r@example.com', 300);
    expect(template(await raw.hget(k.repeats, 'digest:job')).v).toBe(1);

    const p2 = createQueue(two, { connection: redis.url });
    try {
      const report = await p2.migrate('send');
      expect(report.repeats).toEqual({
        migrated: 1,
        skipped: 0,
        failed: 0,
        failures: [],
      });
      // The pending occurrence is a delayed (or due) job: migrated with them.
      expect(report.migrated).toBe(1);
      const t = template(await raw.hget(k.repeats, 'digest:job'));
      expect(t.v).toBe(2);
      expect(t.fp).toBe(jobFingerprint(two.jobs.send));
      expect(JSON.parse(t.d as string)).toEqual({ to: ['r@example.com'] });
      const spec = JSON.parse((await raw.hget(k.repeats, 'digest'))!) as {
        data: string;
      };
      expect(JSON.parse(spec.data)).toEqual({ to: ['r@example.com'] });
      expect(
        (await p2.getRepeats()).map((r) => JSON.parse(r.data) as unknown),
      ).toEqual([{ to: ['r@example.com'] }]);
    } finally {
      await p2.close();
    }

    // Version 2 with the upcaster dropped: a v1 occurrence would fail here.
    const bare = defineJobs({
      send: job({ queue, version: 2, payload: sendV2 }),
    });
    const seen: { id: string; data: unknown }[] = [];
    const errors: string[] = [];
    const worker = createWorker(
      bare,
      {
        send: (j) => {
          seen.push({ id: j.id, data: j.data });
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    worker.on('failed', ({ error }) => errors.push(error.message));
    try {
      await waitFor(
        () => seen.length >= 2 || errors.length > 0,
        20_000,
        'two occurrences, or a failure',
      );
      expect(errors).toEqual([]);
      // The first ran the migrated pending occurrence; the second was
      // created from the migrated template.
      expect(seen[0]!.id).toBe(first.id);
      expect(seen[1]!.id).not.toBe(first.id);
      for (const s of seen.slice(0, 2))
        expect(s.data).toEqual({ to: ['r@example.com'], subject: '(none)' });
      const [v, fp, ref] = await raw.hmget(
        k.job(seen[1]!.id),
        JobField.version,
        JobField.fingerprint,
        JobField.settingsRef,
      );
      expect(v).toBe('2');
      // Layout 3: the occurrence names its fingerprint by settings ref.
      expect(fp).toBeNull();
      const settings = await raw.hget(k.settings, ref!);
      expect(settings?.split('|')[0]).toBe(jobFingerprint(bare.jobs.send));
    } finally {
      await worker.close();
    }
  });

  it('a dry run counts the schedule and writes nothing', async () => {
    const queue = uniqueQueue('migrate-rpt');
    const k = queueKeys('jobwire', queue);
    await declareV1(queue, 'r@example.com', 3_600_000);
    const before = await raw.hgetall(k.repeats);
    const p2 = createQueue(versionedRegistries(queue).two, {
      connection: redis.url,
    });
    try {
      const report = await p2.migrate('send', { dryRun: true });
      expect(report.repeats).toEqual({
        migrated: 1,
        skipped: 0,
        failed: 0,
        failures: [],
      });
      expect(await raw.hgetall(k.repeats)).toEqual(before);
    } finally {
      await p2.close();
    }
  });

  it('a template that cannot be upcast is reported and left as it was', async () => {
    const queue = uniqueQueue('migrate-rpt');
    const k = queueKeys('jobwire', queue);
    await declareV1(queue, 'throw@example.com', 3_600_000);
    const before = await raw.hgetall(k.repeats);
    const p2 = createQueue(versionedRegistries(queue).two, {
      connection: redis.url,
    });
    try {
      for (const dryRun of [true, false]) {
        const report = await p2.migrate('send', { dryRun });
        expect(report.repeats.migrated).toBe(0);
        expect(report.repeats.failed).toBe(1);
        expect(report.repeats.failures).toHaveLength(1);
        const f = report.repeats.failures[0]!;
        expect(f.key).toBe('digest');
        expect(f.version).toBe(1);
        expect(f.error.message).toContain(UPCASTER_MESSAGE);
        // Its pending occurrence fails like any queued job.
        expect(report.failed).toBe(1);
        expect(await raw.hgetall(k.repeats)).toEqual(before);
      }
    } finally {
      await p2.close();
    }
  });

  it('the write is skipped when the schedule changed since it was read', async () => {
    const queue = uniqueQueue('migrate-rpt');
    const k = queueKeys('jobwire', queue);
    await declareV1(queue, 'r@example.com', 3_600_000);
    const read = await raw.hgetall(k.repeats);
    // Re-declared meanwhile (a v1 producer, new payload).
    await declareV1(queue, 'other@example.com', 3_600_000);
    const now = await raw.hgetall(k.repeats);
    expect(
      await migrateRepeat(raw, k, {
        key: 'digest',
        specJson: read['digest']!,
        templateJson: read['digest:job']!,
        newSpecJson: '{"stale":true}',
        newTemplateJson: '{"stale":true}',
      }),
    ).toBe(false);
    expect(await raw.hgetall(k.repeats)).toEqual(now);
  });
});
