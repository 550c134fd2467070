/**
 * Issue 13 in the CLI: job types named like Object.prototype members in
 * `jobwire stats`, and messages that name the CLI's flags (`--queue`,
 * `--insecure`), not the library's options (`{ queue }`, `insecure: true`).
 */
import { createQueue } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { jobs } from '../../../jobs.schema.ts';
import { jobs as protoJobs } from './fixtures/proto-names.schema.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { runJobwire } from './jobwire-bin.ts';

const redis = useRedis();
const PROTO_SCHEMA = 'packages/cli/test/fixtures/proto-names.schema.ts';

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  return runJobwire(redis.url, args, env);
}

// A spawn costs seconds under load: generous per-test deadlines.
describe('issue 13 in the CLI', { timeout: 400_000 }, () => {
  it('1: stats counts job types named constructor, toString, valueOf, hasOwnProperty', async () => {
    const prefix = uniqueQueue('proto');
    const queue = createQueue(protoJobs, { connection: redis.url, prefix });
    try {
      await queue.enqueue('constructor', { n: 1 });
      for (let i = 0; i < 2; i++) await queue.enqueue('toString', { n: i });
      for (let i = 0; i < 3; i++) await queue.enqueue('valueOf', { n: i });
    } finally {
      await queue.close();
    }
    const json = cli([
      'stats',
      '--schema',
      PROTO_SCHEMA,
      '--prefix',
      prefix,
      '--json',
    ]);
    expect(json.stderr).toBe('');
    expect(json.status).toBe(0);
    const stats = JSON.parse(json.stdout) as {
      waiting: number;
      byType: Record<string, { waiting: number }>;
    };
    expect(stats.waiting).toBe(6);
    const byType = new Map(Object.entries(stats.byType));
    expect(byType.get('constructor')?.waiting).toBe(1);
    expect(byType.get('toString')?.waiting).toBe(2);
    expect(byType.get('valueOf')?.waiting).toBe(3);
    expect(byType.get('hasOwnProperty')?.waiting).toBe(0);

    const table = cli(['stats', '--schema', PROTO_SCHEMA, '--prefix', prefix]);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^constructor\s+proto\s+1\s/m);
    expect(table.stdout).toMatch(/^valueOf\s+proto\s+3\s/m);
    expect(table.stdout).toMatch(/^hasOwnProperty\s+proto\s+0\s/m);
    expect(table.stdout).not.toMatch(/NaN|undefined|\?/);
  });

  it('13: an id in two queues asks for --queue; no token asks for --insecure', async () => {
    const prefix = uniqueQueue('flags');
    const queue = createQueue(jobs, { connection: redis.url, prefix });
    try {
      await queue.enqueue(
        'sendEmail',
        { to: 'ada@example.com', subject: 's', body: 'b' },
        { jobId: 'dup' },
      );
      await queue.enqueue(
        'renderSlideshow',
        { title: 't', slides: ['s1'] },
        { jobId: 'dup' },
      );
    } finally {
      await queue.close();
    }
    for (const args of [
      ['job', 'dup'],
      ['retry', 'dup'],
    ]) {
      const run = cli([...args, '--prefix', prefix]);
      expect(run.status, args.join(' ')).toBe(1);
      expect(run.stderr).toMatch(
        /^error: job id dup exists in queues email, media \(a custom jobId used in both\); pass --queue <email\|media> to say which\n$/,
      );
      expect(run.stderr).not.toContain('{ queue }');
    }
    const noToken = cli(['serve', '--port', '0'], { JOBWIRE_TOKEN: undefined });
    expect(noToken.status).toBe(1);
    expect(noToken.stderr).toContain('--insecure');
    expect(noToken.stderr).toContain('JOBWIRE_TOKEN');
    expect(noToken.stderr).not.toContain('insecure: true');
    expect(noToken.stderr).toMatch(/^error: [^\n]*\n$/);
  });
});
