/**
 * Issue 13, items 1–4, 6 and 8: hostile job-type names, ids and payloads
 * through the core API. Each refusal is a coded JobwireError, and a refused
 * call leaves Redis untouched.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createTestQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
  ValidationError,
  type Queue,
} from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { rejectionOf } from './helpers/assert.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();
const silent = { warn: () => {}, error: () => {} };
let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

/** Every Object.prototype member a job type name may legally spell. */
const PROTO_NAMES = [
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'toLocaleString',
] as const;

function protoRegistry(queue: string) {
  const jobs: Record<string, ReturnType<typeof job>> = {};
  for (const name of PROTO_NAMES) {
    jobs[name] = job({ queue, payload: z.object({ n: z.number() }) });
  }
  return defineJobs(jobs);
}

function plainRegistry(queue: string) {
  return defineJobs({
    task: job({ queue, payload: z.unknown(), attempts: 1 }),
  });
}

async function keysOf(queue: string): Promise<string[]> {
  return raw.keys(`jobwire:{${queue}}:*`);
}

function codeOf(err: unknown): string {
  expect(err).toBeInstanceOf(JobwireError);
  return (err as JobwireError).code;
}

async function withQueue<T>(
  registry: ReturnType<typeof plainRegistry>,
  fn: (q: Queue<ReturnType<typeof plainRegistry>['jobs']>) => Promise<T>,
): Promise<T> {
  const queue = createQueue(registry, {
    connection: redis.url,
    logger: silent,
  });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

describe('issue 13 · 1: job types named like Object.prototype members', () => {
  it('getCounts counts them like any name and leaves Object.prototype alone', async () => {
    const queueName = uniqueQueue('proto');
    const registry = protoRegistry(queueName);
    const queue = createQueue(registry, {
      connection: redis.url,
      logger: silent,
    });
    const toStringBefore = Object.prototype.toString;
    try {
      for (const [i, name] of PROTO_NAMES.entries()) {
        for (let k = 0; k <= i; k++) await queue.enqueue(name, { n: k });
      }
      const counts = await queue.getCounts();
      for (const [i, name] of PROTO_NAMES.entries()) {
        expect(Object.hasOwn(counts.byType, name)).toBe(true);
        expect(counts.byType[name]?.waiting).toBe(i + 1);
      }
      expect(counts.waiting).toBe(21);
      expect(
        JSON.parse(JSON.stringify(counts)).byType.constructor.waiting,
      ).toBe(1);
      // Nothing was written onto the globals.
      expect(Object.prototype.toString).toBe(toStringBefore);
      expect(Object.hasOwn(Object, 'waiting')).toBe(false);
      expect(Object.hasOwn(Object.prototype.toString, 'waiting')).toBe(false);
    } finally {
      await queue.close();
    }
  });

  it('a test queue never takes an Object.prototype member for a handler', async () => {
    const registry = protoRegistry('default');
    const tq = createTestQueue(registry, {
      handlers: { valueOf: () => {} },
    });
    const handle = await tq.enqueue('toString', { n: 1 });
    await tq.enqueue('valueOf', { n: 2 });
    await tq.runAll();
    // `toString` has no handler: it stays waiting, it is not run by
    // Object.prototype.toString.
    expect(tq.jobs.find((j) => j.id === handle.id)?.state).toBe('waiting');
    expect(tq.jobs.find((j) => j.name === 'valueOf')?.state).toBe('completed');
  });

  it('`__proto__` is refused at defineJobs with INVALID_NAME', () => {
    const spec = job({ payload: z.object({}) });
    const jobs = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    jobs['__proto__'] = spec;
    let thrown: unknown;
    try {
      defineJobs(jobs as Record<string, typeof spec>);
    } catch (err) {
      thrown = err;
    }
    expect(codeOf(thrown)).toBe(ErrorCode.INVALID_NAME);
    expect((thrown as Error).message).toMatch(/"__proto__"/);
  });
});

describe('issue 13 · 2: custom ids `.` and `..`', () => {
  it('are refused at enqueue naming jobId, with Redis untouched', async () => {
    const queueName = uniqueQueue('dots');
    await withQueue(plainRegistry(queueName), async (queue) => {
      for (const jobId of ['.', '..']) {
        const err = await rejectionOf(queue.enqueue('task', 1, { jobId }));
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).issues[0]?.path).toBe('jobId');
        expect((err as Error).message).toMatch(/jobId: .*"\."/);
      }
      expect(await keysOf(queueName)).toEqual([]);
      // Dots inside an id stay allowed.
      const { id } = await queue.enqueue('task', 1, { jobId: '...' });
      expect(id).toBe('...');
    });
  });
});

describe('issue 13 · 3: an id naming another job’s sub-key', () => {
  it('`<id>:log` is not another job’s log list: remove/retry/promote say JOB_NOT_FOUND', async () => {
    const queueName = uniqueQueue('subkey');
    await withQueue(plainRegistry(queueName), async (queue) => {
      const { id } = await queue.enqueue('task', 1);
      await raw.rpush(queueKeys('jobwire', queueName).log(id), 'a line');
      for (const other of [`${id}:log`]) {
        expect(codeOf(await rejectionOf(queue.remove(other)))).toBe(
          ErrorCode.JOB_NOT_FOUND,
        );
        expect(codeOf(await rejectionOf(queue.retry(other)))).toBe(
          ErrorCode.JOB_NOT_FOUND,
        );
        expect(codeOf(await rejectionOf(queue.promote(other)))).toBe(
          ErrorCode.JOB_NOT_FOUND,
        );
        expect(await queue.getJob(other)).toBeUndefined();
      }
      expect((await queue.getJob(id))?.logs).toEqual(['a line']);
    });
  });

  it('custom ids with ":" work end to end, beside a job whose id is their prefix', async () => {
    const queueName = uniqueQueue('colon');
    const registry = plainRegistry(queueName);
    await withQueue(registry, async (queue) => {
      await queue.enqueue('task', 'a', { jobId: 'user' });
      await queue.enqueue('task', 'b', { jobId: 'user:log' });
      await queue.enqueue('task', 'c', { jobId: 'user:123' });
      const worker = createWorker(
        registry,
        {
          task: async (j) => {
            await j.log(`ran ${j.id}`);
            return undefined;
          },
        },
        { connection: redis.url, logger: silent, ...fastWorkerSettings },
      );
      try {
        for (const id of ['user', 'user:log', 'user:123']) {
          await queue.waitForResult('task', id, { timeoutMs: 30_000 });
          expect((await queue.getJob(id))?.logs).toEqual([`ran ${id}`]);
        }
      } finally {
        await worker.close();
      }
      await queue.remove('user:log');
      expect(await queue.getJob('user:log')).toBeUndefined();
      expect((await queue.getJob('user'))?.logs).toEqual(['ran user']);
      await queue.remove('user');
      await queue.remove('user:123');
      const left = (await keysOf(queueName)).filter((k) => /:[jlp]:/.test(k));
      expect(left).toEqual([]);
    });
  });

  it('a job stored before logs moved keeps its log: read, and deleted with the job', async () => {
    const queueName = uniqueQueue('legacy');
    await withQueue(plainRegistry(queueName), async (queue) => {
      const { id } = await queue.enqueue('task', 1);
      const k = queueKeys('jobwire', queueName);
      await raw.rpush(k.legacyLog(id), 'old line');
      expect((await queue.getJob(id))?.logs).toEqual(['old line']);
      await queue.remove(id);
      expect(await raw.exists(k.legacyLog(id))).toBe(0);
    });
  });

  it('a key of the wrong type is CORRUPT_JOB, never REDIS_UNAVAILABLE', async () => {
    const queueName = uniqueQueue('wrongtype');
    await withQueue(plainRegistry(queueName), async (queue) => {
      const k = queueKeys('jobwire', queueName);
      await raw.rpush(k.job('weird'), 'not a hash');
      const waited = await rejectionOf(
        queue.waitForResult('task', 'weird', { timeoutMs: 10_000 }),
      );
      expect(codeOf(waited)).toBe(ErrorCode.CORRUPT_JOB);
      for (const op of [
        () => queue.remove('weird'),
        () => queue.retry('weird'),
        () => queue.promote('weird'),
      ]) {
        expect(codeOf(await rejectionOf(op()))).toBe(ErrorCode.CORRUPT_JOB);
      }
    });
  });
});

const here = fileURLToPath(new URL('.', import.meta.url));

/** Runs `code` in a child process; resolves with its exit code and output. */
function runChild(
  code: string,
  deadlineMs: number,
): Promise<{ exit: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('exit', (exit) => {
      clearTimeout(timer);
      resolve({ exit, out });
    });
  });
}

describe('issue 13 · 4: refused names leave no connection open', () => {
  it('createQueueEvents({ queue: "{" }) and a worker with an unknown type let the process exit', async () => {
    const src = new URL('../src/index.ts', import.meta.url).href;
    const code = `
      import { z } from 'zod';
      import { createQueueEvents, createWorker, defineJobs, job } from ${JSON.stringify(src)};
      const url = ${JSON.stringify(redis.url)};
      try { createQueueEvents({ queue: '{', connection: url }); }
      catch (e) { console.log('events:' + e.code); }
      const registry = defineJobs({ task: job({ payload: z.object({}) }) });
      try { createWorker(registry, { nope: () => {} }, { connection: url }); }
      catch (e) { console.log('worker:' + e.code); }
    `;
    // Before the fix the child never exits (an open socket): killed at the
    // deadline, exit null.
    const { exit, out } = await runChild(code, 45_000);
    expect(out).toContain('events:INVALID_NAME');
    expect(out).toContain('worker:UNKNOWN_JOB_TYPE');
    expect(exit).toBe(0);
  }, 60_000);
});

describe('issue 13 · 6: options.runAt has the same bound as delayMs', () => {
  it('a runAt past 1e12 ms from now is refused naming runAt; at the bound it is delayed', async () => {
    const queueName = uniqueQueue('runat');
    await withQueue(plainRegistry(queueName), async (queue) => {
      for (const t of [8.64e15, Date.now() + 1e12 + 60_000]) {
        const err = await rejectionOf(
          queue.enqueue('task', 1, { runAt: new Date(t) }),
        );
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).issues[0]?.path).toBe('runAt');
      }
      expect(await keysOf(queueName)).toEqual([]);
      const { id } = await queue.enqueue('task', 1, {
        runAt: new Date(Date.now() + 1e12 - 60_000),
      });
      const info = await queue.getJob(id);
      expect(info?.state).toBe('delayed');
      expect(new Date(info!.dueAt!).getTime()).toBe(info!.dueAt);
    });
  });
});

describe('issue 13 · 8: deeply nested payloads', () => {
  it('5,000 levels is a coded validation error, with Redis untouched', async () => {
    const queueName = uniqueQueue('deep');
    await withQueue(plainRegistry(queueName), async (queue) => {
      let deep: unknown = 1;
      for (let i = 0; i < 5000; i++) deep = { a: deep };
      let arrays: unknown = 1;
      for (let i = 0; i < 5000; i++) arrays = [arrays];
      for (const payload of [deep, arrays]) {
        const err = await rejectionOf(queue.enqueue('task', payload));
        expect(err).toBeInstanceOf(ValidationError);
        expect(codeOf(err)).toBe(ErrorCode.VALIDATION_FAILED);
        expect((err as Error).message).toMatch(/nested deeper than 256/);
      }
      const bulk = await rejectionOf(
        queue.enqueueBulk([
          { name: 'task', payload: 1 },
          { name: 'task', payload: deep },
        ]),
      );
      expect(codeOf(bulk)).toBe(ErrorCode.VALIDATION_FAILED);
      expect(await keysOf(queueName)).toEqual([]);
      // 255 levels below the root is allowed.
      let ok: unknown = 1;
      for (let i = 0; i < 255; i++) ok = { a: ok };
      await queue.enqueue('task', ok);
      expect((await queue.getCounts()).waiting).toBe(1);
    });
  });
});
