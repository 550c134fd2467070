/**
 * The CLI phrases the library's errors from their fields, not their text:
 * a refusal names the call that refused (`removeJob: job 7 does not
 * exist`) in `operation`, the rest in `problem`; a connect wait that ran
 * out carries `hint.option: 'connectTimeoutMs'`. Before, the CLI rewrote
 * the text by regex, so a reworded message in core silently reached the
 * user as the library's words. The unit cases reword a message and keep
 * its fields; the end-to-end cases check what a user sees for a missing
 * job, a job in the wrong state and an unreachable Redis.
 */
import {
  createQueue,
  createTestQueue,
  ErrorCode,
  JobwireError,
  RedisUnavailableError,
} from '@jobwire/core';
import { freePort } from '@jobwire/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { jobs } from '../../../jobs.schema.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { cliMessage } from '../src/messages.ts';
import { runJobwire } from './jobwire-bin.ts';

const redis = useRedis();

function cli(args: string[], env: Record<string, string> = {}) {
  return runJobwire(redis.url, args, env);
}

const savedUrl = process.env.REDIS_URL;
afterEach(() => {
  if (savedUrl === undefined) delete process.env.REDIS_URL;
  else process.env.REDIS_URL = savedUrl;
});

describe('CLI messages come from the error fields', () => {
  it('a refusal: the problem without the call, whatever the message says', () => {
    const reworded = new JobwireError(
      ErrorCode.JOB_NOT_FOUND,
      'no job 7 here (asked by removeJob)',
      { operation: 'removeJob', problem: 'job 7 does not exist' },
    );
    expect(cliMessage(reworded)).toBe('job 7 does not exist');
    const state = new JobwireError(
      ErrorCode.JOB_NOT_IN_STATE,
      'RETRYJOB refused job 7 (state: waiting)',
      { operation: 'retryJob', problem: 'job 7 is not failed or expired' },
    );
    expect(cliMessage(state)).toBe('job 7 is not failed or expired');
  });

  it('a connect wait bounded by connectTimeoutMs: the problem and REDIS_URL advice, whatever the message says', () => {
    const down = new RedisUnavailableError({
      message: 'Redis gave no answer in 1000 ms [connectTimeoutMs]',
      hint: {
        option: 'connectTimeoutMs',
        problem: 'Redis not reachable within 1000 ms; status connecting',
      },
    });
    process.env.REDIS_URL = 'redis://:secret@127.0.0.1:1';
    expect(cliMessage(down)).toBe(
      'Redis not reachable within 1000 ms; status connecting; is Redis running at redis://:***@127.0.0.1:1 (REDIS_URL)?',
    );
    delete process.env.REDIS_URL;
    expect(cliMessage(down)).toBe(
      'Redis not reachable within 1000 ms; status connecting; is Redis running at 127.0.0.1:6379? (the default; set REDIS_URL to use another)',
    );
  });

  it("an error without fields keeps the library's message", () => {
    expect(
      cliMessage(
        new JobwireError(ErrorCode.JOB_NOT_FOUND, 'removeJob: job 7 gone'),
      ),
    ).toBe('removeJob: job 7 gone');
    expect(
      cliMessage(
        new RedisUnavailableError(
          'Redis not reachable within 1000 ms (connectTimeoutMs); status end',
        ),
      ),
    ).toBe('Redis not reachable within 1000 ms (connectTimeoutMs); status end');
  });
});

describe('the library sets the fields the CLI reads', () => {
  it('a script refusal keeps its message and carries the call and problem', async () => {
    const prefix = uniqueQueue('fields');
    const queue = createQueue(jobs, { connection: redis.url, prefix });
    try {
      const err = await queue.remove('nosuchjob').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(JobwireError);
      expect(err).toMatchObject({
        code: ErrorCode.JOB_NOT_FOUND,
        message: 'removeJob: job nosuchjob does not exist',
        operation: 'removeJob',
        problem: 'job nosuchjob does not exist',
      });
    } finally {
      await queue.close();
    }
  });

  it('cancel of a finished job keeps its message and carries the call and problem, in the test queue too', async () => {
    const prefix = uniqueQueue('fields-cancel');
    const queue = createQueue(jobs, { connection: redis.url, prefix });
    const testQueue = createTestQueue(jobs);
    try {
      for (const q of [queue, testQueue]) {
        const { id } = await q.enqueue('sendEmail', {
          to: 'ada@example.com',
          subject: 'hi',
          body: 'hi',
        });
        expect(await q.cancel(id)).toBe('cancelled');
        const problem = `job ${id} is cancelled; only waiting, delayed or active jobs can be cancelled`;
        await expect(q.cancel(id)).rejects.toMatchObject({
          code: ErrorCode.JOB_NOT_IN_STATE,
          message: `cancel: ${problem}`,
          operation: 'cancel',
          problem,
        });
        await expect(q.cancel('nosuchjob')).rejects.toMatchObject({
          code: ErrorCode.JOB_NOT_FOUND,
          problem: 'job nosuchjob does not exist',
        });
      }
    } finally {
      await queue.close();
    }
  });

  it('a connect timeout keeps its message and carries a connectTimeoutMs hint', async () => {
    const port = await freePort();
    const queue = createQueue(jobs, {
      connection: `redis://127.0.0.1:${String(port)}`,
      connectTimeoutMs: 300,
    });
    try {
      const err = await queue.getJob('x').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RedisUnavailableError);
      const down = err as RedisUnavailableError;
      expect(down.message).toMatch(
        /^Redis not reachable within 300 ms \(connectTimeoutMs\); status \w+/,
      );
      expect(down.hint?.option).toBe('connectTimeoutMs');
      expect(down.hint?.problem).toBe(
        down.message.replace(' (connectTimeoutMs)', ''),
      );
    } finally {
      await queue.close();
    }
  });
});

describe('what a CLI user sees', { timeout: 300_000 }, () => {
  it('a missing job, a job in the wrong state, an unreachable Redis', async () => {
    const prefix = uniqueQueue('cli-fields');
    const missing = cli(['remove', 'nosuchjob', '--prefix', prefix]);
    expect(missing.stderr).toBe('error: job nosuchjob does not exist\n');
    expect(missing.status).toBe(1);

    const queue = createQueue(jobs, { connection: redis.url, prefix });
    let id: string;
    try {
      const handle = await queue.enqueue('sendEmail', {
        to: 'ada@example.com',
        subject: 'hi',
        body: 'hi',
      });
      id = handle.id;
    } finally {
      await queue.close();
    }
    const waiting = cli(['retry', id, '--prefix', prefix]);
    expect(waiting.stderr).toBe(`error: job ${id} is not failed or expired\n`);
    expect(waiting.status).toBe(1);

    expect(cli(['cancel', id, '--prefix', prefix]).status).toBe(0);
    const again = cli(['cancel', id, '--prefix', prefix]);
    expect(again.stderr).toBe(
      `error: job ${id} is cancelled; only waiting, delayed or active jobs can be cancelled\n`,
    );
    expect(again.status).toBe(1);

    const port = await freePort();
    const url = `redis://:secret@127.0.0.1:${String(port)}`;
    const down = cli(['stats', '--prefix', prefix], { REDIS_URL: url });
    expect(down.stdout).toBe('');
    expect(down.stderr).toMatch(
      new RegExp(
        `^error: Redis not reachable within \\d+ ms; status \\w+[^\\n]*; is Redis running at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${String(port)} \\(REDIS_URL\\)\\?\\n$`,
      ),
    );
    expect(down.status).toBe(1);
  });
});
