/**
 * The `jobwire` CLI end to end: each call runs `main.ts` as a child process
 * against a private redis-server, over the root jobs.schema.ts registry.
 * Jobs are made here through createQueue/createWorker; each test uses its
 * own key prefix. A spawn costs about half a second, so assertions are
 * batched per call.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createQueue, createWorker, type JobInfo } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { jobs } from '../../../jobs.schema.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from '../../core/test/helpers/wait.ts';
import { jobwire, rootSchema, runJobwire, type CliRun } from './jobwire-bin.ts';

const redis = useRedis();
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
): CliRun {
  return runJobwire(redis.url, args, env);
}

function ok(run: CliRun): string {
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout;
}

const email = (subject: string) => ({
  to: 'ada@example.com',
  subject,
  body: 'hi',
});

/** Fills a prefix: 1 completed and 1 failed email, 2 waiting slideshows, 1 delayed webhook. */
async function seed(prefix: string) {
  const queue = createQueue(jobs, { connection: redis.url, prefix });
  const worker = createWorker(
    jobs,
    {
      async sendEmail(job) {
        await job.log(`sending ${job.data.subject}`);
        if (job.data.subject === 'fail') throw new Error('smtp said no');
        return { messageId: `m-${job.id}` };
      },
    },
    { connection: redis.url, prefix, ...fastWorkerSettings },
  );
  try {
    const done = await queue.enqueue('sendEmail', email('hello'));
    const failed = await queue.enqueue('sendEmail', email('fail'), {
      attempts: 1,
    });
    const slides = [];
    for (const title of ['a', 'b'])
      slides.push(
        await queue.enqueue('renderSlideshow', { title, slides: ['s1'] }),
      );
    const delayed = await queue.enqueue(
      'deliverWebhook',
      { url: 'https://example.com/h', event: 'user.created', body: {} },
      { delayMs: 3_600_000 },
    );
    await waitFor(
      async () => {
        const c = await queue.getCounts({ queue: 'email' });
        return c.completed === 1 && c.failed === 1;
      },
      10_000,
      'the email jobs to finish',
    );
    return {
      done: done.id,
      failed: failed.id,
      slides: slides.map((s) => s.id),
      delayed: delayed.id,
    };
  } finally {
    await worker.close();
    await queue.close();
  }
}

describe('jobwire CLI', { timeout: 300_000 }, () => {
  it('shows stats, lists jobs with paging and shows one job', async () => {
    const prefix = uniqueQueue('cli');
    const env = { JOBWIRE_PREFIX: prefix };
    const ids = await seed(prefix);

    const stats = JSON.parse(ok(cli(['stats', '--json'], env))) as {
      completed: number;
      failed: number;
      waiting: number;
      delayed: number;
      byType: Record<string, Record<string, number>>;
      paused: Record<string, boolean>;
    };
    expect(stats).toMatchObject({
      completed: 1,
      failed: 1,
      waiting: 2,
      delayed: 1,
      paused: { email: false, media: false },
    });
    expect(stats.byType.sendEmail).toMatchObject({ completed: 1, failed: 1 });
    expect(stats.byType.renderSlideshow).toMatchObject({ waiting: 2 });
    expect(stats.byType.deliverWebhook).toMatchObject({ delayed: 1 });

    // Human table, one queue; the prefix given as a flag.
    const human = ok(
      cli(['stats', '--queue', 'email', '--prefix', prefix], {
        JOBWIRE_PREFIX: undefined,
      }),
    );
    const lines = human.split('\n');
    expect(lines[0]).toMatch(/^TYPE\s+QUEUE\s+WAITING\s+DELAYED\s+ACTIVE/);
    expect(lines.find((l) => l.startsWith('sendEmail'))?.split(/\s+/)).toEqual([
      'sendEmail',
      'email',
      '0',
      '0',
      '0',
      '1',
      '1',
      '0',
      '0',
    ]);
    expect(human).not.toContain('renderSlideshow');
    expect(human).toContain('paused: none');

    // Paging: the second waiting job only.
    const page = JSON.parse(
      ok(
        cli(
          ['jobs', 'waiting', '--offset', '1', '--limit', '1', '--json'],
          env,
        ),
      ),
    ) as JobInfo[];
    expect(page.map((j) => j.id)).toEqual([ids.slides[1]]);

    const failedList = ok(cli(['jobs', 'failed', '--name', 'sendEmail'], env));
    expect(failedList).toMatch(/^ID\s+NAME\s+QUEUE\s+ATTEMPTS/);
    expect(failedList).toContain(ids.failed);
    expect(failedList).toContain('smtp said no');

    const failed = JSON.parse(
      ok(cli(['job', ids.failed, '--queue', 'email', '--json'], env)),
    ) as JobInfo;
    expect(failed).toMatchObject({
      id: ids.failed,
      name: 'sendEmail',
      state: 'failed',
      attemptsMade: 1,
      attempts: 1,
      data: { subject: 'fail' },
      logs: ['sending fail'],
    });
    expect(failed.errors[0]?.message).toBe('smtp said no');

    const done = ok(cli(['job', ids.done, '--queue', 'email'], env));
    expect(done).toMatch(/^state:\s+completed$/m);
    expect(done).toContain(`"messageId": "m-${ids.done}"`);
    expect(done).toContain('  sending hello');

    const missing = cli(['job', '999999'], env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('error: job 999999 does not exist\n');

    // Generated ids are unique across queues: an id alone finds its job
    // (issue 13), whichever of the two queues holds it.
    const slide = JSON.parse(
      ok(cli(['job', ids.slides[0]!, '--json'], env)),
    ) as JobInfo;
    expect(slide).toMatchObject({
      id: ids.slides[0],
      name: 'renderSlideshow',
      queue: 'media',
    });
    expect(ok(cli(['job', ids.delayed], env))).toMatch(/^state:\s+delayed$/m);
  });

  it('retries, promotes, removes, cleans, pauses and resumes', async () => {
    const prefix = uniqueQueue('cli');
    const env = { JOBWIRE_PREFIX: prefix };
    const ids = await seed(prefix);
    const queue = createQueue(jobs, { connection: redis.url, prefix });
    try {
      expect(ok(cli(['retry', ids.failed, '--queue', 'email'], env))).toBe(
        `retried job ${ids.failed}\n`,
      );
      expect((await queue.getJob(ids.failed, { queue: 'email' }))?.state).toBe(
        'waiting',
      );

      expect(
        JSON.parse(
          ok(cli(['promote', ids.delayed, '--queue', 'email', '--json'], env)),
        ),
      ).toEqual({ ok: true, action: 'promote', id: ids.delayed });
      expect((await queue.getJob(ids.delayed, { queue: 'email' }))?.state).toBe(
        'waiting',
      );

      ok(cli(['remove', ids.slides[0]!, '--queue', 'media'], env));
      expect(
        await queue.getJob(ids.slides[0]!, { queue: 'media' }),
      ).toBeUndefined();

      // A job not in the state the action needs: exit 1, one line.
      const again = cli(['promote', ids.delayed, '--queue', 'email'], env);
      expect(again.status).toBe(1);
      expect(again.stderr.trim().split('\n')).toHaveLength(1);

      expect(
        JSON.parse(ok(cli(['clean', 'completed', '--json'], env))),
      ).toEqual({ removed: [ids.done] });
      expect(await queue.getJob(ids.done, { queue: 'email' })).toBeUndefined();

      expect(ok(cli(['pause', '--queue', 'email'], env))).toBe(
        'paused email\n',
      );
      expect(await queue.isPaused('email')).toBe(true);
      expect(await queue.isPaused('media')).toBe(false);
      ok(cli(['resume'], env));
      expect(await queue.isPaused('email')).toBe(false);
    } finally {
      await queue.close();
    }
  });

  it('cancels a waiting and an active job, refuses a finished one, and lists them', async () => {
    const prefix = uniqueQueue('cli');
    const env = { JOBWIRE_PREFIX: prefix };
    const ids = await seed(prefix);
    const queue = createQueue(jobs, { connection: redis.url, prefix });
    try {
      expect(
        ok(cli(['cancel', ids.slides[0]!, '--reason', 'not needed'], env)),
      ).toBe(`cancelled job ${ids.slides[0]}\n`);
      expect(
        await queue.getJob(ids.slides[0]!, { queue: 'media' }),
      ).toMatchObject({ state: 'cancelled', cancelReason: 'not needed' });

      const finished = cli(['cancel', ids.done, '--queue', 'email'], env);
      expect(finished.status).toBe(1);
      expect(finished.stderr.trim().split('\n')).toHaveLength(1);
      expect(finished.stderr).toContain('is completed');

      // An active job: its handler waits for its signal.
      let started = false;
      const worker = createWorker(
        jobs,
        {
          renderSlideshow: (job) => {
            started = true;
            return new Promise((_, reject) => {
              job.signal.addEventListener('abort', () =>
                reject(job.signal.reason as Error),
              );
            });
          },
        },
        { connection: redis.url, prefix, ...fastWorkerSettings },
      );
      try {
        await waitFor(() => started, 30_000, 'the slideshow to start');
        expect(
          JSON.parse(ok(cli(['cancel', ids.slides[1]!, '--json'], env))),
        ).toEqual({
          ok: true,
          action: 'cancel',
          id: ids.slides[1],
          outcome: 'requested',
        });
        await waitFor(
          async () =>
            (await queue.getJob(ids.slides[1]!))?.state === 'cancelled',
          30_000,
          'the active job to end cancelled',
        );
      } finally {
        await worker.close();
      }

      const list = ok(cli(['jobs', 'cancelled', '--queue', 'media'], env));
      expect(list).toContain(ids.slides[0]);
      expect(list).toContain(ids.slides[1]);
      expect(list).toContain('not needed');
      const stats = JSON.parse(ok(cli(['stats', '--json'], env))) as {
        cancelled: number;
        byType: Record<string, Record<string, number>>;
      };
      expect(stats.cancelled).toBe(2);
      expect(stats.byType.renderSlideshow).toMatchObject({
        waiting: 0,
        active: 0,
        cancelled: 2,
      });
      expect(
        JSON.parse(ok(cli(['clean', 'cancelled', '--json'], env))),
      ).toMatchObject({
        removed: expect.arrayContaining(ids.slides) as unknown,
      });
    } finally {
      await queue.close();
    }
  });

  it('delegates codegen: --check passes on this repository', () => {
    const run = cli(['codegen', '--check']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('codegen: generated files are up to date');
  });

  it('exits 2 on bad input and 1 with one line when Redis is down', () => {
    for (const args of [
      ['jobs', 'sleeping'],
      ['jobs', 'failed', '--limit', 'ten'],
      ['frobnicate'],
      ['stats', '--queue', 'nope'],
    ]) {
      const run = cli(args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^error: /);
      expect(run.stdout).toBe('');
    }
    const noToken = cli(['serve', '--port', '0'], { JOBWIRE_TOKEN: undefined });
    expect(noToken.status).toBe(1);
    expect(noToken.stderr).toMatch(/^error: [^\n]*JOBWIRE_TOKEN[^\n]*\n$/);

    const down = cli(['stats'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(down.status).toBe(1);
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(/^error: Redis not reachable[^\n]*\n$/);
  });

  it('serves the HTTP API with a token and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [...jobwire(), ...rootSchema(['serve', '--port', '0'])],
      {
        cwd: repoRoot,
        env: { ...process.env, REDIS_URL: redis.url, JOBWIRE_TOKEN: 'sekret' },
      },
    );
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await waitFor(() => /http:\/\/\S+/.test(out), 60_000, 'the server');
      const url = /http:\/\/\S+/.exec(out)![0];
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      await health.body?.cancel();
      await waitFor(() => /dashboard at /.test(out), 5000, 'the dashboard');
      const dashboard = /dashboard at (\S+)/.exec(out)![1]!;
      expect(dashboard).toBe(`${url}/`);
      expect(out).toContain('(it asks for JOBWIRE_TOKEN)');
      const page = await fetch(dashboard);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain(
        "default-src 'none'",
      );
      expect(await page.text()).toContain('<title>jobwire dashboard</title>');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
