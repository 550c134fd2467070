/**
 * The success paths of `durability` on real servers: `{ replicas: n }` with
 * a real replica (a second redis-server started with --replicaof), and
 * `{ aof: true }`, which needs WAITAOF (Redis 7.2 or later, or Valkey).
 * The suite's Redis is Debian bookworm's 7.0, which has no WAITAOF, so the
 * AOF tests run only when a 7.2+ server binary is found: the path in
 * REDIS_SERVER_72, else `valkey-server` or `redis-server` on the PATH when
 * its version is 7.2 or later (Debian's bookworm-backports has
 * valkey-server 8.0). They are skipped otherwise, and say so.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  defineJobs,
  DurabilityError,
  ErrorCode,
  job,
} from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { rejectionOf } from './helpers/assert.ts';
import {
  startRedis,
  uniqueQueue,
  type RedisServer,
} from './helpers/redis-server.ts';
import { waitFor } from './helpers/wait.ts';

const quiet = { warn: () => {}, error: () => {} };
const registry = (queue: string) =>
  defineJobs({ t: job({ queue, payload: z.object({ n: z.number() }) }) });

/** The server's version from `<binary> --version`, or undefined. */
function versionOf(binary: string): number[] | undefined {
  const res = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (res.error || res.status !== 0) return undefined;
  const v = /\bv=(\d+)\.(\d+)\.(\d+)/.exec(res.stdout);
  return v ? [Number(v[1]), Number(v[2]), Number(v[3])] : undefined;
}

/** A server binary with WAITAOF (7.2 or later), if this machine has one. */
function findServer72(): string | undefined {
  const candidates = [
    process.env.REDIS_SERVER_72,
    'valkey-server',
    'redis-server',
  ].filter((b): b is string => b !== undefined && b !== '');
  return candidates.find((b) => {
    const v = versionOf(b);
    return v !== undefined && (v[0]! > 7 || (v[0] === 7 && v[1]! >= 2));
  });
}

/** Starts a replica of `primary` and waits until the primary sees it online. */
async function startReplica(
  primary: RedisServer,
  opts: { binary?: string; appendonly?: boolean } = {},
): Promise<RedisServer> {
  const replica = await startRedis({
    ...opts,
    extraArgs: [
      '--replicaof',
      '127.0.0.1',
      String(primary.port),
      ...(opts.appendonly ? ['--appendfsync', 'always'] : []),
    ],
  });
  const admin = new Redis(primary.url);
  try {
    await waitFor(
      async () => /slave0:.*state=online/.test(await admin.info('replication')),
      20_000,
      'the replica to be online',
    );
  } finally {
    admin.disconnect();
  }
  return replica;
}

describe('durability: replicas with a real replica', () => {
  it('replicas: 1 resolves once the replica has the job, for one enqueue and a bulk; replicas: 2 with one replica times out naming 1/2', async () => {
    const primary = await startRedis();
    const replica = await startReplica(primary);
    const onReplica = new Redis(replica.url);
    const q = uniqueQueue();
    const k = queueKeys('jobwire', q);
    const queue = createQueue(registry(q), {
      connection: primary.url,
      logger: quiet,
      durability: { replicas: 1, timeoutMs: 2000 },
    });
    try {
      const h = await queue.enqueue('t', { n: 1 });
      // WAIT returned 1: the replica has applied the enqueue already.
      expect(await onReplica.exists(k.job(h.id))).toBe(1);
      const bulk = await queue.enqueueBulk([
        { name: 't', payload: { n: 2 } },
        { name: 't', payload: { n: 3 } },
      ]);
      for (const b of bulk) expect(await onReplica.exists(k.job(b.id))).toBe(1);

      const err = await rejectionOf(
        queue.enqueue(
          't',
          { n: 4 },
          { durability: { replicas: 2, timeoutMs: 500 } },
        ),
      );
      expect(err).toBeInstanceOf(DurabilityError);
      const e = err as DurabilityError;
      expect(e.code).toBe(ErrorCode.DURABILITY_TIMEOUT);
      expect(e.message).toMatch(/replicas 1\/2/);
      expect(e.acked).toEqual({ local: 0, replicas: 1 });
      expect(await onReplica.exists(k.job(e.jobIds[0]!))).toBe(1);
    } finally {
      await queue.close();
      onReplica.disconnect();
      await replica.stop();
      await primary.stop();
    }
  });
});

const server72 = findServer72();

describe.skipIf(server72 === undefined)(
  `durability: aof on a server with WAITAOF (${server72 ?? 'none found: set REDIS_SERVER_72 to a Redis >= 7.2 or Valkey binary'})`,
  () => {
    it('aof: true resolves once the local AOF is fsynced; with replicas: 1, once the replica has fsynced too', async () => {
      const primary = await startRedis({
        binary: server72,
        appendonly: true,
        extraArgs: ['--appendfsync', 'always'],
      });
      const replica = await startReplica(primary, {
        binary: server72,
        appendonly: true,
      });
      const q = uniqueQueue();
      const k = queueKeys('jobwire', q);
      const admin = new Redis(primary.url);
      const queue = createQueue(registry(q), {
        connection: primary.url,
        logger: quiet,
        durability: { aof: true, timeoutMs: 2000 },
      });
      try {
        const h = await queue.enqueue('t', { n: 1 });
        expect(await admin.exists(k.job(h.id))).toBe(1);
        const both = await queue.enqueue(
          't',
          { n: 2 },
          { durability: { aof: true, replicas: 1, timeoutMs: 2000 } },
        );
        expect(await admin.exists(k.job(both.id))).toBe(1);
        // More replicas than there are: the reply names what was acked.
        const err = await rejectionOf(
          queue.enqueue(
            't',
            { n: 3 },
            // Long enough for the replica's fsync ack (it may come with
            // the replica's next once-a-second report).
            { durability: { aof: true, replicas: 2, timeoutMs: 2000 } },
          ),
        );
        expect(err).toBeInstanceOf(DurabilityError);
        const e = err as DurabilityError;
        expect(e.code).toBe(ErrorCode.DURABILITY_TIMEOUT);
        expect(e.acked).toEqual({ local: 1, replicas: 1 });
      } finally {
        await queue.close();
        admin.disconnect();
        await replica.stop();
        await primary.stop();
      }
    });

    it('aof: true on a server with AOF off is DURABILITY_UNAVAILABLE, naming AOF; the job is stored', async () => {
      const server = await startRedis({ binary: server72 });
      const q = uniqueQueue();
      const k = queueKeys('jobwire', q);
      const admin = new Redis(server.url);
      const queue = createQueue(registry(q), {
        connection: server.url,
        logger: quiet,
        durability: { aof: true },
      });
      try {
        const err = await rejectionOf(queue.enqueue('t', { n: 1 }));
        expect(err).toBeInstanceOf(DurabilityError);
        const e = err as DurabilityError;
        expect(e.code).toBe(ErrorCode.DURABILITY_UNAVAILABLE);
        expect(e.message).toMatch(/AOF is off/);
        expect(await admin.exists(k.job(e.jobIds[0]!))).toBe(1);
      } finally {
        await queue.close();
        admin.disconnect();
        await server.stop();
      }
    });
  },
);
