/**
 * Issue 14: `jobwire job <id> --upcast` and `jobwire jobs <state> --upcast`
 * show an older contract version's job as the current handler gets it; a
 * job whose upcast fails is still shown, stored data and upcast error.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createQueue, defineJobs, job } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { noteV1 } from './fixtures/notes-v2.schema.ts';
import { jobwire } from './jobwire-bin.ts';

const redis = useRedis();
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const SCHEMA = 'packages/cli/test/fixtures/notes-v2.schema.ts';

/** Runs the CLI against the version 2 schema; returns its stdout. */
function cli(args: string[], prefix: string): string {
  const res = spawnSync(
    process.execPath,
    [...jobwire(), ...args, '--schema', SCHEMA, '--prefix', prefix],
    {
      cwd: repoRoot,
      env: { ...process.env, REDIS_URL: redis.url },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  return res.stdout;
}

interface Shown {
  id: string;
  version: number;
  dataVersion?: number;
  data: unknown;
  upcastError?: { code: string };
}

describe('jobwire job/jobs --upcast', { timeout: 300_000 }, () => {
  it('shows version 1 jobs in the version 2 shape, and a failing one as stored', async () => {
    const prefix = uniqueQueue('cli-upcast');
    // An older deploy's producer: `note` at version 1.
    const v1 = defineJobs({ note: job({ queue: 'notes', payload: noteV1 }) });
    const producer = createQueue(v1, { connection: redis.url, prefix });
    let good: string;
    let bad: string;
    try {
      good = (await producer.enqueue('note', { text: 'hello world' })).id;
      bad = (await producer.enqueue('note', { text: 'boom' })).id;
    } finally {
      await producer.close();
    }

    const stored = JSON.parse(cli(['job', good, '--json'], prefix)) as Shown;
    expect(stored).toMatchObject({ version: 1, data: { text: 'hello world' } });
    const upcast = JSON.parse(
      cli(['job', good, '--upcast', '--json'], prefix),
    ) as Shown;
    expect(upcast).toMatchObject({
      version: 1,
      dataVersion: 2,
      data: { body: 'hello' },
    });
    const human = cli(['job', good, '--upcast'], prefix);
    expect(human).toContain('data (as v2)');
    expect(human).toContain('"body": "hello"');

    const listed = JSON.parse(
      cli(['jobs', 'waiting', '--upcast', '--json'], prefix),
    ) as Shown[];
    expect(listed.map((j) => [j.id, j.data, j.upcastError?.code])).toEqual([
      [good, { body: 'hello' }, undefined],
      [bad, { text: 'boom' }, 'UPCAST_FAILED'],
    ]);
    const table = cli(['jobs', 'waiting', '--upcast'], prefix);
    const badRow = table.split('\n').find((l) => l.startsWith(bad));
    expect(badRow).toContain('upcast failed: UPCAST_FAILED');
    expect(cli(['job', bad, '--upcast'], prefix)).toContain(
      'upcast:    failed, UpcastError [UPCAST_FAILED]',
    );
  });
});
