/**
 * Messages and exit codes docs/cli.md promises: a missing job is `job 7
 * does not exist` for `jobwire job` as for `jobwire remove` (it said `job 7
 * not found`), and a setting the library refuses before touching Redis is
 * bad input, exit 2 (they exited 1): a key prefix from --prefix or
 * JOBWIRE_PREFIX, a REDIS_URL that is not a URL, a number out of its range
 * (--port, --batch), a --reason longer than a cancel takes.
 */
import { describe, expect, it } from 'vitest';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { runJobwire, type CliRun } from './jobwire-bin.ts';

const redis = useRedis();

function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
): CliRun {
  return runJobwire(redis.url, args, env);
}

describe('jobwire messages and exit codes', { timeout: 300_000 }, () => {
  it('jobwire job of a missing id says "job <id> does not exist", as remove does', () => {
    const env = { JOBWIRE_PREFIX: uniqueQueue('missing') };
    const shown = cli(['job', 'nosuch-7'], env);
    const removed = cli(['remove', 'nosuch-7'], env);
    expect(shown.status).toBe(1);
    expect(shown.stderr).toBe('error: job nosuch-7 does not exist\n');
    expect(removed.status).toBe(1);
    expect(removed.stderr).toBe(shown.stderr);
    // With --queue: the same words, and the queue it looked in.
    const inQueue = cli(['job', 'nosuch-7', '--queue', 'email'], env);
    expect(inQueue.status).toBe(1);
    expect(inQueue.stderr).toBe(
      'error: job nosuch-7 does not exist in queue email\n',
    );
  });

  it('jobs --limit over 1000 is bad input (it showed 1000 without a word)', () => {
    const env = { JOBWIRE_PREFIX: uniqueQueue('limit') };
    const run = cli(['jobs', 'waiting', '--limit', '5000'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--limit must be an integer from 1 to 1000');
    expect(cli(['jobs', 'waiting', '--limit', '1000'], env).status).toBe(0);
  });

  it('an invalid key prefix, from --prefix or JOBWIRE_PREFIX, is bad input: exit 2, one line', () => {
    const refusal =
      'error: key prefix "bad prefix!" is not allowed: use 1-64 letters, digits, "_", "-", "." or ":"';
    const runs: [string, CliRun, string][] = [
      [
        'stats --prefix',
        cli(['stats', '--prefix', 'bad prefix!']),
        `${refusal} (--prefix)\n`,
      ],
      [
        'stats, JOBWIRE_PREFIX',
        cli(['stats'], { JOBWIRE_PREFIX: 'bad prefix!' }),
        `${refusal} (JOBWIRE_PREFIX)\n`,
      ],
      [
        'jobs --prefix',
        cli(['jobs', 'failed', '--prefix', 'bad prefix!']),
        `${refusal} (--prefix)\n`,
      ],
      [
        'serve, JOBWIRE_PREFIX',
        cli(['serve', '--insecure', '--port', '0'], {
          JOBWIRE_PREFIX: 'bad prefix!',
        }),
        `${refusal} (JOBWIRE_PREFIX)\n`,
      ],
    ];
    for (const [what, run, stderr] of runs) {
      expect(run.status, what).toBe(2);
      expect(run.stderr, what).toBe(stderr);
      expect(run.stdout, what).toBe('');
    }
  });

  it('a REDIS_URL that is not a URL, a number out of range and a too-long --reason are bad input: exit 2', () => {
    const badUrl = cli(['stats'], {
      REDIS_URL: 'redis://ada:s3cret@127.0.0.1:nope',
    });
    expect(badUrl.status).toBe(2);
    expect(badUrl.stderr).toBe(
      'error: REDIS_URL is not a valid URL (e.g. redis://127.0.0.1:6379)\n',
    );
    expect(badUrl.stderr).not.toContain('s3cret');

    const reason = cli(['cancel', 'nosuch-7', '--reason', 'x'.repeat(1001)]);
    expect(reason.status).toBe(2);
    expect(reason.stderr).toBe(
      'error: --reason must be at most 1000 characters, got 1001\n',
    );

    for (const [args, flag, range] of [
      [['serve', '--insecure', '--port', '65536'], '--port', '0 to 65535'],
      [['migrate', 'sendEmail', '--batch', '10001'], '--batch', '1 to 10000'],
      [['migrate-layout', '--batch', '10001'], '--batch', '1 to 10000'],
    ] as const) {
      const run = cli([...args]);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(
        new RegExp(
          `^error: [^\\n]*${flag} must be an integer from ${range}\\.`,
        ),
      );
      expect(run.stdout).toBe('');
    }
  });
});
