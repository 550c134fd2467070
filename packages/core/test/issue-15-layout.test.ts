/**
 * Issue 15: the storage layout is versioned. A producer or worker refuses
 * a queue a newer jobwire wrote (LAYOUT_UNSUPPORTED), writing nothing; jobs
 * a layout 1 build stored (payload in the hash as `d`, logs at
 * `j:<id>:log`) are read and run, and `migrateLayout` rewrites them into
 * the current form, losing nothing, idempotently and resumably.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  LAYOUT_VERSION,
  LayoutUnsupportedError,
  type JobInfo,
} from '../src/index.ts';
import { queueKeys, type QueueKeys } from '../src/redis/keys.ts';
import { runScript } from '../src/redis/scripts/index.ts';
import { rejectionOf } from './helpers/assert.ts';
import { scanKeys } from './helpers/redis-keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

function registry(queue: string) {
  return defineJobs({
    task: job({ queue, payload: z.object({ n: z.number() }) }),
  });
}

/**
 * Every key of the queue with its type and whole content, TTL keys (the
 * stall lock) aside: what "Redis untouched" compares.
 */
async function snapshot(k: QueueKeys): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await scanKeys(raw, `${k.base}*`)).sort()) {
    if ((await raw.pttl(key)) !== -1) continue;
    const type = await raw.type(key);
    out[key] =
      type === 'hash'
        ? await raw.hgetall(key)
        : type === 'zset'
          ? await raw.zrange(key, '0', '-1', 'WITHSCORES')
          : type === 'list'
            ? await raw.lrange(key, 0, -1)
            : type === 'set'
              ? (await raw.smembers(key)).sort()
              : type === 'string'
                ? await raw.get(key)
                : await raw.xrange(key, '-', '+');
  }
  return out;
}

/**
 * Turns a job stored by this build into what a layout 1 build stored: the
 * payload in the hash (`d`), no version or fingerprint, and, with `logs`,
 * its log lines at `j:<id>:log`.
 */
async function toLayout1(
  k: QueueKeys,
  id: string,
  logs: string[] = [],
): Promise<void> {
  const payload = await raw.get(k.payload(id));
  expect(payload).not.toBeNull();
  await raw.hset(k.job(id), 'd', payload!);
  await raw.hdel(k.job(id), 'v', 'fp');
  await raw.del(k.payload(id));
  if (logs.length > 0) await raw.rpush(k.legacyLog(id), ...logs);
}

function expectLayoutError(err: unknown, queue: string): void {
  expect(err).toBeInstanceOf(LayoutUnsupportedError);
  const e = err as LayoutUnsupportedError;
  expect(e.code).toBe(ErrorCode.LAYOUT_UNSUPPORTED);
  expect(e.found).toBe(99);
  expect(e.supported).toBe(LAYOUT_VERSION);
  expect(e.message).toContain(`"${queue}"`);
  expect(e.message).toContain('layout 99');
  expect(e.message).toContain(`up to ${String(LAYOUT_VERSION)}`);
  expect(e.message).toContain('upgrade');
}

describe('layout version', () => {
  it('a producer records the layout, and refuses a newer one writing nothing', async () => {
    const q = uniqueQueue('layout-p');
    const k = queueKeys('jobwire', q);
    const queue = createQueue(registry(q), { connection: redis.url });
    try {
      expect(await queue.getLayout({ queue: q })).toEqual([
        { queue: q, layout: undefined, supported: LAYOUT_VERSION },
      ]);
      await queue.enqueue('task', { n: 1 });
      expect(await raw.hget(k.meta, 'layout')).toBe(String(LAYOUT_VERSION));
      expect(await queue.getLayout({ queue: q })).toEqual([
        { queue: q, layout: LAYOUT_VERSION, supported: LAYOUT_VERSION },
      ]);
    } finally {
      await queue.close();
    }

    // A newer jobwire took the queue over: a fresh producer refuses it.
    await raw.hset(k.meta, 'layout', '99');
    const before = await snapshot(k);
    const again = createQueue(registry(q), { connection: redis.url });
    try {
      expectLayoutError(await rejectionOf(again.enqueue('task', { n: 2 })), q);
      expectLayoutError(
        await rejectionOf(
          again.enqueueBulk([{ name: 'task', payload: { n: 3 } }]),
        ),
        q,
      );
      expectLayoutError(
        await rejectionOf(
          again.repeat('task', { n: 4 }, { everyMs: 60_000, key: 'r' }),
        ),
        q,
      );
      expectLayoutError(await rejectionOf(again.migrateLayout()), q);
      expect(await snapshot(k)).toEqual(before);
      expect((await again.getCounts()).waiting).toBe(1);
    } finally {
      await again.close();
    }
  });

  it('a worker refuses a newer layout: it runs nothing, writes nothing, and says why', async () => {
    const q = uniqueQueue('layout-w');
    const k = queueKeys('jobwire', q);
    const reg = registry(q);
    const queue = createQueue(reg, { connection: redis.url });
    await queue.enqueue('task', { n: 1 });
    // And one active whose lease ran out: a stall check would requeue it.
    const { id } = await queue.enqueue('task', { n: 2 }, { delayMs: 60_000 });
    await queue.close();
    await raw.zrem(k.delayed, id);
    await raw.zadd(k.active, 1, id);
    await raw.hset(k.job(id), 's', 'a', 'tk', 'old:1');
    await raw.hset(k.meta, 'layout', '99');
    const before = await snapshot(k);
    const ran: number[] = [];
    const errors: unknown[] = [];
    const worker = createWorker(
      reg,
      { task: (j) => void ran.push(j.data.n) },
      { connection: redis.url, ...fastWorkerSettings },
    );
    worker.on('error', (err) => errors.push(err));
    try {
      await waitFor(() => errors.length > 0, 10_000, 'the refusal');
      expectLayoutError(errors[0], q);
      // Stall checks and reader notes run meanwhile: none may touch the queue.
      await sleep(1500);
      expect(ran).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(worker.health().ready).toBe(false);
      expect(worker.health().connections[0]).toMatchObject({
        queue: q,
        reachable: false,
      });
      expect(await snapshot(k)).toEqual(before);
    } finally {
      await worker.close();
    }
  });

  it('a worker records the layout of a queue holding data, but creates no key in an empty one', async () => {
    const empty = uniqueQueue('layout-e');
    const worker = createWorker(
      registry(empty),
      { task: () => undefined },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await waitFor(() => worker.health().ready, 10_000, 'worker ready');
      await sleep(300);
      // Only the stall check's lock, which expires.
      expect(await snapshot(queueKeys('jobwire', empty))).toEqual({});
    } finally {
      await worker.close();
    }

    // Jobs from a build that recorded no layout.
    const q = uniqueQueue('layout-d');
    const k = queueKeys('jobwire', q);
    const queue = createQueue(registry(q), { connection: redis.url });
    const { id } = await queue.enqueue('task', { n: 7 });
    await raw.hdel(k.meta, 'layout');
    const seen: number[] = [];
    const w2 = createWorker(
      registry(q),
      { task: (j) => void seen.push(j.data.n) },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await waitFor(() => seen.length === 1, 10_000, 'the job to run');
      expect(await raw.hget(k.meta, 'layout')).toBe(String(LAYOUT_VERSION));
      // The handler ran; its completion lands a round trip later.
      await waitFor(
        async () => (await queue.getJob(id))?.state === 'completed',
        5000,
        'the job completed',
      );
    } finally {
      await w2.close();
      await queue.close();
    }
  });
});

describe('layout 1 jobs', () => {
  it('are read and run, and migrateLayout moves them to the current form losing nothing; a second run changes nothing', async () => {
    const q = uniqueQueue('layout-m');
    const k = queueKeys('jobwire', q);
    const reg = registry(q);
    const queue = createQueue(reg, { connection: redis.url });
    try {
      // `x:log`'s hash sits where layout 1 kept `x`'s log: not a log.
      for (const [i, id] of ['w0', 'w1', 'x', 'x:log'].entries())
        await queue.enqueue('task', { n: i }, { jobId: id });
      await queue.enqueue(
        'task',
        { n: 9 },
        { jobId: 'd0', delayMs: 3_600_000 },
      );
      await toLayout1(k, 'w0', ['old w0 a', 'old w0 b']);
      await toLayout1(k, 'w1', ['old w1']);
      await toLayout1(k, 'x');
      await toLayout1(k, 'x:log');
      await toLayout1(k, 'd0', ['old d0']);
      await raw.hdel(k.meta, 'layout');

      // Read as they are.
      const w0 = await queue.getJob('w0', { queue: q });
      expect(w0?.data).toEqual({ n: 0 });
      expect(w0?.logs).toEqual(['old w0 a', 'old w0 b']);
      expect((await queue.getJob('x:log', { queue: q }))?.data).toEqual({
        n: 3,
      });

      // And run: the handler gets the payload, its log follows the old lines.
      const seen: Record<string, number> = {};
      const worker = createWorker(
        reg,
        {
          task: async (j) => {
            seen[j.id] = j.data.n;
            await j.log(`new ${j.id}`);
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await waitFor(
          async () => (await queue.getCounts()).completed === 4,
          10_000,
          'four completions',
        );
      } finally {
        await worker.close();
      }
      expect(seen).toEqual({ w0: 0, w1: 1, x: 2, 'x:log': 3 });
      expect((await queue.getJob('w0', { queue: q }))?.logs).toEqual([
        'old w0 a',
        'old w0 b',
        'new w0',
      ]);

      const ids = ['w0', 'w1', 'x', 'x:log', 'd0'];
      const read = async () => {
        const out: Record<string, Partial<JobInfo> | undefined> = {};
        for (const id of ids) {
          const j = await queue.getJob(id, { queue: q });
          out[id] = j && {
            state: j.state,
            data: j.data,
            logs: j.logs,
            result: j.result,
          };
        }
        return out;
      };
      const jobsBefore = await read();
      const countsBefore = await queue.getCounts({ queue: q });
      expect(countsBefore).toMatchObject({ completed: 4, delayed: 1 });

      // A dry run counts, writing nothing.
      const snap = await snapshot(k);
      const [dry] = await queue.migrateLayout({ queue: q, dryRun: true });
      expect(dry).toMatchObject({
        queue: q,
        dryRun: true,
        payloads: 5,
        logs: 3,
        complete: false,
      });
      expect(await snapshot(k)).toEqual(snap);

      const [report] = await queue.migrateLayout({ queue: q, batchSize: 2 });
      expect(report).toEqual({
        queue: q,
        dryRun: false,
        layoutBefore: LAYOUT_VERSION,
        layout: LAYOUT_VERSION,
        payloads: 5,
        logs: 3,
        passes: 2,
        complete: true,
      });
      // The current form: payload keys, `l:` logs, no hash copy, no old list.
      for (const id of ids) {
        expect(await raw.hexists(k.job(id), 'd'), id).toBe(0);
        expect(await raw.exists(k.payload(id)), id).toBe(1);
      }
      for (const id of ['w0', 'w1', 'd0'])
        expect(await raw.exists(k.legacyLog(id)), id).toBe(0);
      expect(await raw.lrange(k.log('w0'), 0, -1)).toEqual([
        'old w0 a',
        'old w0 b',
        'new w0',
      ]);
      expect(await raw.lrange(k.log('d0'), 0, -1)).toEqual(['old d0']);
      expect(await raw.type(k.legacyLog('x'))).toBe('hash');
      expect(await raw.hget(k.legacyLog('x'), 'n')).toBe('task');
      // Nothing lost.
      expect(await read()).toEqual(jobsBefore);
      expect(await queue.getCounts({ queue: q })).toEqual(countsBefore);

      // Idempotent.
      const after = await snapshot(k);
      const [again] = await queue.migrateLayout({ queue: q });
      expect(again).toMatchObject({ payloads: 0, logs: 0, passes: 1 });
      expect(await snapshot(k)).toEqual(after);

      // The delayed one still runs, from its payload key.
      await queue.promote('d0', { queue: q });
      const ran: number[] = [];
      const w2 = createWorker(
        reg,
        { task: (j) => void ran.push(j.data.n) },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await waitFor(() => ran.length === 1, 10_000, 'd0 to run');
      } finally {
        await w2.close();
      }
      expect(ran).toEqual([9]);
    } finally {
      await queue.close();
    }
  });

  it('a migration stopped midway is resumed by running it again', async () => {
    const q = uniqueQueue('layout-r');
    const k = queueKeys('jobwire', q);
    const queue = createQueue(registry(q), { connection: redis.url });
    try {
      const ids: string[] = [];
      for (let n = 0; n < 7; n++) {
        const { id } = await queue.enqueue('task', { n }, { jobId: `j${n}` });
        ids.push(id);
        await toLayout1(k, id, [`old ${id}`]);
      }
      // One job already logged in the current form too: both lists survive.
      await raw.rpush(k.log('j6'), 'new j6');
      // One with a payload key beside the hash copy: readers use the key, so it stays.
      await raw.set(k.payload('j5'), JSON.stringify({ n: 55 }));
      const before = await queue.getJobs('waiting', { queue: q });
      expect(before.map((j) => j.logs[0])).toEqual(ids.map((i) => `old ${i}`));

      // The first batch of a run that then stopped (crash between batches).
      const first = (await runScript(
        raw,
        'migrateLayout',
        [k.meta],
        [k.base, LAYOUT_VERSION, '0', 'j0', 'j1', 'j2'],
      )) as number[];
      expect(first).toEqual([3, 3, LAYOUT_VERSION]);
      expect(await raw.hexists(k.job('j3'), 'd')).toBe(1);

      const [report] = await queue.migrateLayout({ queue: q, batchSize: 3 });
      expect(report).toMatchObject({ payloads: 4, logs: 4, complete: true });
      const after = await queue.getJobs('waiting', { queue: q });
      expect(after).toEqual(before);
      expect(await raw.lrange(k.log('j6'), 0, -1)).toEqual([
        'old j6',
        'new j6',
      ]);
      for (const id of ids) {
        expect(await raw.hexists(k.job(id), 'd'), id).toBe(0);
        expect(await raw.exists(k.legacyLog(id)), id).toBe(0);
        expect(await raw.get(k.payload(id)), id).toBe(
          JSON.stringify({ n: id === 'j5' ? 55 : Number(id.slice(1)) }),
        );
      }
    } finally {
      await queue.close();
    }
  });
});
