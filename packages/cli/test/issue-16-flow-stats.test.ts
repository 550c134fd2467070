/**
 * Issue 16, observable: `jobwire stats` has a flow control section (and
 * `--json` a `flow` object): per type its rules, rate window and counters,
 * per key its waiting and active jobs and why it waits. The state is
 * written straight into Redis in the flow layout (flow-layout.ts), over the
 * root jobs.schema.ts registry (queue `email`).
 */
import type { FlowStats } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import {
  seedFlowType,
  tenantSeed,
} from '../../core/test/helpers/flow-layout.ts';
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

/** The rows of the table that follows `heading`, split into cells. */
function rowsAfter(out: string, heading: string): string[][] {
  const at = out.indexOf(heading);
  expect(at).toBeGreaterThanOrEqual(0);
  const lines = out.slice(at + heading.length).split('\n');
  const rows: string[][] = [];
  // The rest of the heading's line, then the table (its header first), up
  // to a blank line.
  for (const line of lines.slice(1)) {
    if (line.trim() === '') break;
    rows.push(line.trim().split(/\s{2,}/));
  }
  return rows;
}

describe('jobwire stats: flow control (issue 16)', { timeout: 300_000 }, () => {
  it('prints per type the rules and counters, and per key what it waits on', async () => {
    const prefix = uniqueQueue('cli');
    await seedFlowType(
      redis.url,
      'email',
      { ...tenantSeed, type: 'sendEmail' },
      prefix,
    );
    await seedFlowType(
      redis.url,
      'email',
      {
        type: 'sendDigest',
        rules: { rateLimit: { limit: 2, perMs: 60_000, keyed: false } },
        typeStarts: [1000, 2000],
        // A key with a terminal escape sequence in it.
        throttledKeys: { 'evil\u001b[31m': 1 },
        throttled: 1,
      },
      prefix,
    );
    const env = { JOBWIRE_PREFIX: prefix };
    const stats = JSON.parse(cli(['stats', '--json'], env)) as {
      flow: FlowStats;
    };
    expect(Object.keys(stats.flow).sort()).toEqual(['sendDigest', 'sendEmail']);
    expect(stats.flow.sendEmail).toMatchObject({
      queue: 'email',
      throttled: 12,
      debounced: 4,
      keyCounts: { total: 3, exact: true },
    });
    expect(stats.flow.sendEmail!.keys.map((k) => [k.key, k.why])).toEqual([
      ['acme', 'concurrency'],
      ['globex', 'rate'],
      ['initech', 'turn'],
    ]);
    expect(stats.flow.sendDigest!.rate).toMatchObject({
      used: 2,
      capped: true,
    });

    const human = cli(['stats', '--queue', 'email'], env);
    const types = rowsAfter(human, '\nflow control:');
    expect(types[0]).toEqual([
      'TYPE',
      'RULES',
      'RATE WINDOW',
      'KEYS WAITING',
      'THROTTLED',
      'DEBOUNCED',
    ]);
    expect(types.find((r) => r[0] === 'sendEmail')).toEqual([
      'sendEmail',
      'rate 5/1s per key; 2 active per key',
      '-',
      '3',
      '12',
      '4',
    ]);
    const digest = types.find((r) => r[0] === 'sendDigest')!;
    expect(digest.slice(0, 2)).toEqual(['sendDigest', 'rate 2/1m']);
    expect(digest[2]).toMatch(/^2\/2 \(full, frees in \d+(\.\d)?s\)$/);

    const keys = rowsAfter(
      human,
      '\nsendEmail: top 3 of 3 keys by waiting jobs',
    );
    expect(keys[0]).toEqual(['KEY', 'WAITING', 'ACTIVE', 'WHY']);
    expect(keys[1]).toEqual([
      'acme',
      '40',
      '2',
      'concurrency limit (2/2 active)',
    ]);
    expect(keys[2]!.slice(0, 3)).toEqual(['globex', '7', '1']);
    expect(keys[2]![3]).toMatch(/^rate limit \(frees in \d+(\.\d)?s\)$/);
    expect(keys[3]).toEqual(['initech', '3', '0', 'turn']);
    expect(human).toContain(
      '\nsendEmail: most throttled keys: acme 9, globex 3',
    );
    // Keys are data: no control character reaches the terminal.
    expect(human).toContain('sendDigest: most throttled keys: evil?[31m 1');
    expect(human).not.toContain('\u001b');
  });
});
