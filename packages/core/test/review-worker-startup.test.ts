/**
 * Two worker defects an outside review found: `strictRedisConfig: true` did
 * not stop a worker (it reported REDIS_CONFIG and leased on), and a worker
 * closed while Redis was unreachable kept Node alive for 60 s, then logged
 * "Redis not reachable within 60000 ms".
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
} from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { nodeEntry } from '@jobwire/test-kit/node-entry';
import { freePort, startRedis, uniqueQueue } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../../..');

const quiet: Logger = { warn: () => {}, error: () => {} };

function registry(queue: string) {
  return defineJobs({
    task: job({ queue, payload: z.object({ n: z.number() }) }),
  });
}

describe('strictRedisConfig on a worker', () => {
  it('refuses to start under allkeys-lru: leases nothing, one REDIS_CONFIG error, not ready', async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    const q = uniqueQueue('strict');
    const reg = registry(q);
    const queue = createQueue(reg, { connection: server.url, logger: quiet });
    const started: number[] = [];
    const errors: Error[] = [];
    try {
      // Stored under noeviction, as before someone changed the policy.
      for (let n = 0; n < 3; n++) await queue.enqueue('task', { n });
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const worker = createWorker(
        reg,
        {
          task: (j) => {
            started.push(j.data.n);
          },
        },
        {
          connection: server.url,
          strictRedisConfig: true,
          logger: quiet,
          ...fastWorkerSettings,
        },
      );
      worker.on('error', (e) => errors.push(e));
      try {
        // Several lease and stall-check intervals. It used to run all three.
        await sleep(3000);
        expect(started).toEqual([]);
        expect(await queue.getCounts()).toMatchObject({
          waiting: 3,
          active: 0,
        });
        expect(errors).toHaveLength(1);
        expect(errors[0]).toBeInstanceOf(JobwireError);
        expect((errors[0] as JobwireError).code).toBe(ErrorCode.REDIS_CONFIG);
        const health = worker.health();
        expect(health.ready).toBe(false);
        expect(health.refused).toMatchObject({ code: ErrorCode.REDIS_CONFIG });
        expect(health.refused?.message).toContain('allkeys-lru');
        const refused = await worker.ready.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(refused).toBeInstanceOf(JobwireError);
        expect((refused as JobwireError).code).toBe(ErrorCode.REDIS_CONFIG);
      } finally {
        await worker.close();
      }
    } finally {
      await queue.close();
      admin.disconnect();
      await server.stop();
    }
  });

  // A review of the fix: a CONFIG GET that timed out (Redis paused, a
  // dropped connection) was taken as "cannot verify": a warning, and the
  // strict worker started under allkeys-lru. It now asks again.
  it('a policy read that times out is asked again, not skipped', async () => {
    const server = await startRedis();
    const admin = new Redis(server.url);
    const q = uniqueQueue('strict-pause');
    const reg = registry(q);
    const queue = createQueue(reg, { connection: server.url, logger: quiet });
    // The worker's command connection, ready before Redis pauses, whose
    // CONFIG GET then times out.
    const client = new Redis(server.url, { commandTimeout: 300 });
    const started: number[] = [];
    try {
      await queue.enqueue('task', { n: 1 });
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await client.ping();
      await admin.client('PAUSE', 1200, 'ALL');
      const worker = createWorker(
        reg,
        {
          task: (j) => {
            started.push(j.data.n);
          },
        },
        {
          connection: client,
          strictRedisConfig: true,
          logger: quiet,
          ...fastWorkerSettings,
        },
      );
      worker.on('error', () => {});
      try {
        const refused = await Promise.race([
          worker.ready.then(
            () => 'started',
            (e: unknown) => (e as JobwireError).code,
          ),
          sleep(8000).then(() => 'pending'),
        ]);
        expect(refused).toBe(ErrorCode.REDIS_CONFIG);
        await sleep(500);
        expect(started).toEqual([]);
      } finally {
        await worker.close();
      }
    } finally {
      await queue.close();
      client.disconnect();
      admin.disconnect();
      await server.stop();
    }
  });

  it('starts under noeviction: ready resolves and jobs run', async () => {
    const server = await startRedis();
    const q = uniqueQueue('strict-ok');
    const reg = registry(q);
    const queue = createQueue(reg, { connection: server.url, logger: quiet });
    const started: number[] = [];
    const worker = createWorker(
      reg,
      {
        task: (j) => {
          started.push(j.data.n);
        },
      },
      {
        connection: server.url,
        strictRedisConfig: true,
        logger: quiet,
        ...fastWorkerSettings,
      },
    );
    try {
      await worker.ready;
      await queue.enqueue('task', { n: 1 });
      await waitFor(() => started.length === 1, 10_000, 'the job to start');
      expect(worker.health().ready).toBe(true);
      expect(worker.health().refused).toBeUndefined();
    } finally {
      await worker.close();
      await queue.close();
      await server.stop();
    }
  });
});

interface ChildLine {
  ev: 'closed' | 'log';
  ms?: number;
  message?: string;
  afterClose?: boolean;
}

describe('worker.ready when the worker closes first', () => {
  // A review of the fix: `ready` rejected with CLOSED on close(), so a
  // `ready.then(…)` chain was an unhandled rejection that ended Node, in a
  // shutdown. It now stays pending; vitest fails a test on an unhandled
  // rejection, so this one would fail with the old code.
  it('stays pending, and a chain on it neither runs nor rejects', async () => {
    const port = await freePort();
    const worker = createWorker(
      registry(uniqueQueue('rdy')),
      { task: async () => {} },
      { connection: `redis://127.0.0.1:${String(port)}`, logger: quiet },
    );
    let chained = 'pending';
    void worker.ready.then(() => {
      chained = 'ran';
    });
    await worker.close();
    await sleep(100);
    expect(chained).toBe('pending');
    const settled = await Promise.race([
      worker.ready.then(
        () => 'resolved',
        () => 'rejected',
      ),
      sleep(100).then(() => 'pending'),
    ]);
    expect(settled).toBe('pending');
  });
});

describe('close while Redis is unreachable', () => {
  it('lets the process exit soon after close(), and logs nothing after it', async () => {
    const port = await freePort(); // nothing listens there
    const child = spawn(
      process.execPath,
      [
        ...nodeEntry(path.join(HERE, 'processes/close-unreachable.ts')),
        `redis://127.0.0.1:${port}`,
        '500',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    let closedAt: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (closedAt === undefined && out.includes('"ev":"closed"'))
        closedAt = Date.now();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    const exit = await new Promise<{ code: number | null; at: number }>(
      (resolve) => {
        // Far below the 60 s the defect kept it alive.
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, at: Date.now() });
        });
      },
    );
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as ChildLine);
    const closed = lines.find((l) => l.ev === 'closed');
    expect(closed, `child output: ${out}\n${err}`).toBeDefined();
    expect(exit.code, err).toBe(0);
    // No job runs: close() need not wait for the lease loop's connection
    // wait (5 s) either.
    expect(closed!.ms).toBeLessThan(2000);
    // ioredis itself holds a socket it cut for up to 2 s.
    expect(exit.at - closedAt!).toBeLessThan(5000);
    const late = lines.filter((l) => l.ev === 'log' && l.afterClose === true);
    expect(late).toEqual([]);
    expect(out).not.toContain('not reachable');
  }, 60_000);
});
