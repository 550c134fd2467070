/**
 * `jobwire migrate <type>` (issue 14): the text and JSON reports of a dry
 * run and of a real run, and its exit codes, run as a child process over
 * fixtures/migrate-v2.schema.ts against a private redis-server. Version 1
 * jobs are made here with the version 1 declaration of the same type.
 */
import {
  createQueue,
  defineJobs,
  job,
  type MigrateReport,
} from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { jobs, sendV1 } from './fixtures/migrate-v2.schema.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { runJobwire } from './jobwire-bin.ts';

const redis = useRedis();
const SCHEMA = 'packages/cli/test/fixtures/migrate-v2.schema.ts';

function cli(args: string[]) {
  return runJobwire(redis.url, args);
}

const v1 = defineJobs({ send: job({ queue: 'mail', payload: sendV1 }) });

/** 3 waiting and 2 delayed version 1 jobs, and `bad` (no upcast) if asked. */
async function seed(prefix: string, withBad: boolean): Promise<string[]> {
  const queue = createQueue(v1, { connection: redis.url, prefix });
  const ids: string[] = [];
  try {
    for (let i = 0; i < 3; i++)
      ids.push(
        (
          await queue.enqueue(
            'send',
            { to: `w${String(i)}@example.com` },
            { jobId: `w${String(i)}` },
          )
        ).id,
      );
    for (let i = 0; i < 2; i++)
      ids.push(
        (
          await queue.enqueue(
            'send',
            { to: `d${String(i)}@example.com` },
            { jobId: `d${String(i)}`, delayMs: 3_600_000 },
          )
        ).id,
      );
    if (withBad)
      await queue.enqueue('send', { to: 'bad@example.com' }, { jobId: 'bad' });
  } finally {
    await queue.close();
  }
  return ids;
}

/** Runs `jobwire migrate send` against the version 2 schema and `prefix`. */
const migrate = (prefix: string, ...args: string[]) =>
  cli(['migrate', 'send', '--schema', SCHEMA, '--prefix', prefix, ...args]);

describe('jobwire migrate', { timeout: 400_000 }, () => {
  it('a dry run prints counts before and after, a sample, and writes nothing; a run migrates; --json gives the report', async () => {
    const prefix = uniqueQueue('migrate');
    await seed(prefix, false);
    const v2 = createQueue(jobs, { connection: redis.url, prefix });
    const version = async (id: string) => (await v2.getJob(id))?.version;
    try {
      const dry = migrate(prefix, '--dry-run', '--sample', '2');
      expect(dry.stderr).toBe('');
      expect(dry.status).toBe(0);
      expect(dry.stdout).toContain(
        'send in queue mail: current version 2 (dry run: nothing written)',
      );
      expect(dry.stdout).toMatch(
        /before:\n\s+VERSION\s+WAITING\s+DELAYED\n\s+1\s+3\s+2\n/,
      );
      expect(dry.stdout).toMatch(
        /after \(if run\):\n\s+VERSION\s+WAITING\s+DELAYED\n\s+2\s+3\s+2\n/,
      );
      expect(dry.stdout).toContain('would migrate 5 jobs, 0 failed');
      expect(dry.stdout).toContain(
        '  w0 (waiting, version 1 -> 2)\n    before: {"to":"w0@example.com"}\n    after:  {"to":["w0@example.com"]}',
      );
      expect(dry.stdout.match(/ -> 2\)/g)).toHaveLength(2);
      expect(await version('w0')).toBe(1);

      const run = migrate(prefix, '--json', '--batch', '2');
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const report = JSON.parse(run.stdout) as MigrateReport;
      expect(report).toEqual({
        queue: 'mail',
        name: 'send',
        version: 2,
        dryRun: false,
        before: [{ version: 1, waiting: 3, delayed: 2 }],
        after: [{ version: 2, waiting: 3, delayed: 2 }],
        migrated: 5,
        skipped: 0,
        failed: 0,
        failures: [],
        sample: [],
        repeats: { migrated: 0, skipped: 0, failed: 0, failures: [] },
      });
      expect(await version('w0')).toBe(2);
      expect(await version('d1')).toBe(2);

      const again = migrate(prefix);
      expect(again.status).toBe(0);
      expect(again.stdout).toContain(
        'migrated 0 jobs, 0 skipped (changed meanwhile), 0 failed',
      );
      expect(again.stdout).toMatch(
        /before:\n\s+VERSION\s+WAITING\s+DELAYED\n\s+2\s+3\s+2\n/,
      );
    } finally {
      await v2.close();
    }
  });

  it('repeat schedules of version 1 are counted, migrated, and a failing one is listed by key with exit code 1', async () => {
    const prefix = uniqueQueue('migrate-rpt');
    const q1 = createQueue(v1, { connection: redis.url, prefix });
    try {
      for (const [key, to] of [
        ['digest', 'r@example.com'],
        ['badrpt', 'bad@example.com'],
      ] as const)
        await q1.repeat('send', { to }, { key, everyMs: 3_600_000 });
    } finally {
      await q1.close();
    }
    const dry = migrate(prefix, '--dry-run');
    expect(dry.status).toBe(1);
    expect(dry.stderr).toBe(
      'error: 1 job and 1 repeat schedule of send could not be upcast; left as they were\n',
    );
    expect(dry.stdout).toContain('would migrate 1 repeat schedule, 1 failed');
    expect(dry.stdout).toMatch(
      /repeat schedules failed, left as they were:\n\s+REPEAT\s+VERSION\s+ERROR\n\s+badrpt\s+1\s+UPCAST_FAILED: .*send repeat badrpt/,
    );

    const run = migrate(prefix, '--json');
    expect(run.status).toBe(1);
    const report = JSON.parse(run.stdout) as MigrateReport;
    expect(report.repeats).toMatchObject({
      migrated: 1,
      skipped: 0,
      failed: 1,
      failures: [{ key: 'badrpt', version: 1 }],
    });
    expect(report.repeats.failures[0]!.error.code).toBe('UPCAST_FAILED');
    const again = migrate(prefix, '--json', '--dry-run');
    expect((JSON.parse(again.stdout) as MigrateReport).repeats).toMatchObject({
      migrated: 0,
      failed: 1,
    });
  });

  it('a job that cannot be upcast is listed, left as it was, and the exit code is 1; bad input exits 2', async () => {
    const prefix = uniqueQueue('migrate-bad');
    await seed(prefix, true);
    const run = migrate(prefix);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      'error: 1 job of send could not be migrated; left as they were\n',
    );
    expect(run.stdout).toContain(
      'migrated 5 jobs, 0 skipped (changed meanwhile), 1 failed',
    );
    expect(run.stdout).toMatch(
      /failed, left as they were:\n\s+ID\s+STATE\s+VERSION\s+ERROR\n\s+bad\s+waiting\s+1\s+UPCAST_FAILED: .*no address book entry/,
    );
    expect(run.stdout).toMatch(
      /after:\n\s+VERSION\s+WAITING\s+DELAYED\n\s+1\s+1\s+0\n\s+2\s+3\s+2\n/,
    );

    const json = migrate(prefix, '--json', '--dry-run');
    expect(json.status).toBe(1);
    const report = JSON.parse(json.stdout) as MigrateReport;
    expect(report).toMatchObject({ dryRun: true, migrated: 0, failed: 1 });
    expect(report.failures[0]).toMatchObject({
      id: 'bad',
      state: 'waiting',
      version: 1,
      error: { code: 'UPCAST_FAILED' },
    });

    const unknown = cli([
      'migrate',
      'nope',
      '--schema',
      SCHEMA,
      '--prefix',
      prefix,
    ]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe(
      "error: unknown job type 'nope' (the registry has send)\n",
    );
    const badBatch = migrate(prefix, '--batch', '0');
    expect(badBatch.status).toBe(2);
    expect(badBatch.stderr).toContain(
      '--batch must be an integer from 1 to 10000.',
    );
  });
});
