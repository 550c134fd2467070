/**
 * Found by an outside review (2026-12-01):
 * - a command denied by the Redis user's ACL, inside a script, was reported
 *   as CORRUPT_JOB ("a key holds data jobwire did not write"); outside one,
 *   as an uncoded ReplyError. Both are REDIS_NO_PERMISSION now, and the
 *   ACL documented in connections.md is enough for a queue and a worker;
 * - an ioredis client with keyPrefix was accepted: keys built inside the
 *   scripts went unprefixed and the job was never processed;
 * - a wrong password read only "not reachable …; status reconnecting": the
 *   cause (WRONGPASS) reached the logger alone.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  type JobwireError,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };

function registry(queue: string) {
  return defineJobs({
    echo: job({
      queue,
      payload: z.object({ n: z.number() }),
      result: z.number(),
    }),
  });
}

function userUrl(user: string): string {
  const u = new URL(redis.url);
  u.username = user;
  u.password = 'pw';
  return u.toString();
}

describe('Redis permissions and passed clients', () => {
  it('the documented ACL runs a queue and a worker; a denied command is REDIS_NO_PERMISSION', async () => {
    const admin = new Redis(redis.url);
    try {
      // As docs/connections.md "Permissions" has it.
      await admin.acl(
        'SETUSER',
        'jobwire-app',
        'on',
        '>pw',
        '~jobwire:*',
        'resetchannels',
        '+@all',
        '-@admin',
        '-@dangerous',
        '+config|get',
        '+info',
      );
      // The same, but scripts may not write hashes.
      await admin.acl(
        'SETUSER',
        'no-hset',
        'on',
        '>pw',
        '~jobwire:*',
        '+@all',
        '-@admin',
        '-@dangerous',
        '+config|get',
        '+info',
        '-hset',
      );
      await admin.acl(
        'SETUSER',
        'no-scripts',
        'on',
        '>pw',
        '~*',
        '+@all',
        '-@scripting',
      );
      const q = uniqueQueue('acl');
      const reg = registry(q);
      const url = userUrl('jobwire-app');
      const queue = createQueue(reg, { connection: url, logger: silent });
      const worker = createWorker(
        reg,
        { echo: (j) => Promise.resolve(j.data.n + 1) },
        { connection: url, logger: silent, ...fastWorkerSettings },
      );
      try {
        const h = await queue.enqueue('echo', { n: 1 });
        expect(await h.finished({ timeoutMs: 5000 })).toBe(2);
      } finally {
        await worker.close();
        await queue.close();
      }
      for (const user of ['no-hset', 'no-scripts']) {
        const denied = createQueue(reg, {
          connection: userUrl(user),
          logger: silent,
        });
        try {
          const err = await denied
            .enqueue('echo', { n: 1 })
            .catch((e: unknown) => e);
          expect((err as JobwireError).code, user).toBe(
            ErrorCode.REDIS_NO_PERMISSION,
          );
        } finally {
          await denied.close();
        }
      }
    } finally {
      await admin.quit();
    }
  });

  it('refuses an ioredis client with keyPrefix, naming the prefix option', async () => {
    const client = new Redis(redis.url, { keyPrefix: 'kp:' });
    try {
      let err: unknown;
      try {
        createQueue(registry(uniqueQueue('kp')), { connection: client });
      } catch (e) {
        err = e;
      }
      expect((err as JobwireError).code).toBe(ErrorCode.INVALID_OPTION);
      expect((err as Error).message).toMatch(/keyPrefix.*prefix option/);
    } finally {
      await client.quit();
    }
  });

  it('a wrong password is named in the unreachable error', async () => {
    const admin = new Redis(redis.url);
    await admin.acl('SETUSER', 'jw-pw', 'on', '>right', '~*', '+@all');
    await admin.quit();
    const u = new URL(redis.url);
    u.username = 'jw-pw';
    u.password = 'wrong';
    const queue = createQueue(registry(uniqueQueue('pw')), {
      connection: u.toString(),
      connectTimeoutMs: 1000,
      logger: silent,
    });
    try {
      const err = await queue
        .enqueue('echo', { n: 1 })
        .catch((e: unknown) => e);
      expect((err as JobwireError).code).toBe(ErrorCode.REDIS_UNAVAILABLE);
      expect((err as Error).message).toMatch(/last error: WRONGPASS/);
    } finally {
      await queue.close();
    }
  });
});
