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
  PermanentError,
} from '../src/index.ts';
import type { EnqueueOptions } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { scanKeys } from './helpers/redis-keys.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function registryFor(queue: string) {
  return defineJobs({
    tiny: job({ queue, payload: z.object({ n: z.number() }) }),
  });
}

const base = (q: string): string => `jobwire:{${q}}:`;

/** Ids of the job hashes of a queue (skips any key of another type). */
async function jobHashIds(raw: Redis, q: string): Promise<string[]> {
  const keys = await scanKeys(raw, `${base(q)}j:*`);
  const types = await Promise.all(keys.map((k) => raw.type(k)));
  return keys
    .filter((_, i) => types[i] === 'hash')
    .map((k) => k.slice(`${base(q)}j:`.length));
}

const letters = {
  delayed: 'd',
  active: 'a',
  completed: 'c',
  failed: 'f',
  expired: 'x',
} as const;

/**
 * Every job hash sits in exactly one state structure, every structure entry
 * has a hash, and the counts hash matches the structures.
 */
async function assertConsistent(
  raw: Redis,
  q: string,
  types: string[],
): Promise<void> {
  const b = base(q);
  const where = new Map<string, string[]>();
  const tally = new Map<string, number>();
  const add = (id: string, name: string, letter: string): void => {
    where.set(id, [...(where.get(id) ?? []), letter]);
    const f = `${name}|${letter}`;
    tally.set(f, (tally.get(f) ?? 0) + 1);
  };
  for (const t of types) {
    for (const id of await raw.zrange(`${b}w:${t}`, '0', '-1')) add(id, t, 'w');
  }
  for (const [state, letter] of Object.entries(letters)) {
    const ids = await raw.zrange(`${b}${state}`, '0', '-1');
    const names = await Promise.all(
      ids.map((id) => raw.hget(`${b}j:${id}`, 'n')),
    );
    ids.forEach((id, i) => add(id, names[i] ?? '?missing', letter));
  }
  const hashes = await jobHashIds(raw, q);
  for (const id of hashes) {
    expect(where.get(id), `job ${id} structures`).toHaveLength(1);
    const s = await raw.hget(`${b}j:${id}`, 's');
    expect(where.get(id)![0], `job ${id} state letter`).toBe(s);
  }
  // No index entry without its hash.
  expect(where.size).toBe(hashes.length);
  const counts = await raw.hgetall(`${b}counts`);
  for (const [field, value] of Object.entries(counts)) {
    expect(Number(value), `counts ${field}`).toBe(tally.get(field) ?? 0);
  }
  for (const [field, n] of tally) {
    expect(Number(counts[field] ?? 0), `counts ${field}`).toBe(n);
  }
}

async function runJobs(
  q: string,
  count: number,
  options: EnqueueOptions | undefined,
  handler: (n: number) => void = () => {},
  concurrency = 1,
): Promise<string[]> {
  const reg = registryFor(q);
  const queue = createQueue(reg, { connection: redis.url });
  let settled = 0;
  const worker = createWorker(
    reg,
    {
      tiny: (j) => {
        handler(j.data.n);
      },
    },
    { connection: redis.url, ...fastWorkerSettings, concurrency },
  );
  worker.on('completed', () => settled++);
  worker.on('failed', () => settled++);
  try {
    const handles = await queue.enqueueBulk(
      Array.from({ length: count }, (_, n) => ({
        name: 'tiny' as const,
        payload: { n },
        ...(options ? { options } : {}),
      })),
    );
    await waitFor(() => settled === count, 20_000, `${count} jobs settled`);
    return handles.map((h) => h.id);
  } finally {
    await worker.close();
    await queue.close();
  }
}

describe('retention', () => {
  it('defaults keep at most 1000 completed jobs and leave no orphan hash', async () => {
    const q = uniqueQueue('ret');
    const raw = new Redis(redis.url);
    try {
      await runJobs(q, 1200, undefined, () => {}, 20);
      const b = base(q);
      const kept = await raw.zcard(`${b}completed`);
      expect(kept).toBeLessThanOrEqual(1000);
      expect(kept).toBeGreaterThan(0);
      const hashes = await jobHashIds(raw, q);
      expect(hashes.length).toBe(kept);
      expect(Number(await raw.hget(`${b}counts`, 'tiny|c'))).toBe(kept);
      await assertConsistent(raw, q, ['tiny']);
    } finally {
      await raw.quit();
    }
  });

  it('completed: false keeps nothing', async () => {
    const q = uniqueQueue('ret');
    const raw = new Redis(redis.url);
    try {
      await runJobs(q, 30, { retention: { completed: false } });
      expect(await raw.zcard(`${base(q)}completed`)).toBe(0);
      expect(await jobHashIds(raw, q)).toEqual([]);
      expect(await scanKeys(raw, `${base(q)}j:*`)).toEqual([]);
      expect(await scanKeys(raw, `${base(q)}l:*`)).toEqual([]);
      await assertConsistent(raw, q, ['tiny']);
    } finally {
      await raw.quit();
    }
  });

  it('completed: { count: 5 } keeps the 5 newest', async () => {
    const q = uniqueQueue('ret');
    const raw = new Redis(redis.url);
    try {
      const ids = await runJobs(q, 20, {
        retention: { completed: { count: 5 } },
      });
      const kept = await raw.zrange(`${base(q)}completed`, '0', '-1');
      // Concurrency 1: finish order is enqueue order.
      expect([...kept].sort()).toEqual(ids.slice(-5).sort());
      expect((await jobHashIds(raw, q)).sort()).toEqual(ids.slice(-5).sort());
      await assertConsistent(raw, q, ['tiny']);
    } finally {
      await raw.quit();
    }
  });

  it('completed: { ageMs: 200 } drops old ones as later jobs complete', async () => {
    const q = uniqueQueue('ret');
    const raw = new Redis(redis.url);
    try {
      const opts = { retention: { completed: { ageMs: 200 } } };
      const first = await runJobs(q, 5, opts);
      expect(
        (await raw.zrange(`${base(q)}completed`, '0', '-1')).sort(),
      ).toEqual([...first].sort());
      await sleep(400);
      const second = await runJobs(q, 1, opts);
      expect(await raw.zrange(`${base(q)}completed`, '0', '-1')).toEqual(
        second,
      );
      expect(await jobHashIds(raw, q)).toEqual(second);
      await assertConsistent(raw, q, ['tiny']);
    } finally {
      await raw.quit();
    }
  });

  it('failed: { count: 3 } keeps the 3 newest failures', async () => {
    const q = uniqueQueue('ret');
    const raw = new Redis(redis.url);
    try {
      const ids = await runJobs(
        q,
        8,
        { retention: { failed: { count: 3 } } },
        (n) => {
          throw new PermanentError(`bad ${n}`);
        },
      );
      const kept = await raw.zrange(`${base(q)}failed`, '0', '-1');
      expect([...kept].sort()).toEqual(ids.slice(-3).sort());
      expect(Number(await raw.hget(`${base(q)}counts`, 'tiny|f'))).toBe(3);
      await assertConsistent(raw, q, ['tiny']);
    } finally {
      await raw.quit();
    }
  });
});

describe('clean()', () => {
  it('clean(completed, 0, limit) removes the oldest and returns their ids', async () => {
    const q = uniqueQueue('cln');
    const raw = new Redis(redis.url);
    const queue = createQueue(registryFor(q), { connection: redis.url });
    try {
      const ids = await runJobs(q, 10, { retention: { completed: true } });
      await sleep(5);
      const removed = await queue.clean('completed', 0, 4);
      expect(removed).toHaveLength(4);
      const left = await raw.zrange(`${base(q)}completed`, '0', '-1');
      expect(left).toHaveLength(6);
      expect([...removed, ...left].sort()).toEqual([...ids].sort());
      for (const id of removed) {
        expect(await raw.exists(`${base(q)}j:${id}`)).toBe(0);
      }
      expect((await queue.getCounts()).completed).toBe(6);
      await assertConsistent(raw, q, ['tiny']);
      expect(await queue.clean('completed', 0)).toHaveLength(6);
      expect((await queue.getCounts()).completed).toBe(0);
      expect(await queue.clean('completed', 0)).toEqual([]);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });

  it('clean(failed, olderThan) spares recent failures', async () => {
    const q = uniqueQueue('cln');
    const raw = new Redis(redis.url);
    const queue = createQueue(registryFor(q), { connection: redis.url });
    const fail = (n: number): void => {
      throw new PermanentError(`bad ${n}`);
    };
    try {
      const old = await runJobs(q, 3, undefined, fail);
      await sleep(500);
      const recent = await runJobs(q, 2, undefined, fail);
      const removed = await queue.clean('failed', 300);
      expect([...removed].sort()).toEqual([...old].sort());
      expect((await raw.zrange(`${base(q)}failed`, '0', '-1')).sort()).toEqual(
        [...recent].sort(),
      );
      expect((await queue.getCounts()).failed).toBe(2);
      await assertConsistent(raw, q, ['tiny']);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });

  it('rejects invalid arguments with INVALID_OPTION', async () => {
    const q = uniqueQueue('cln');
    const queue = createQueue(registryFor(q), { connection: redis.url });
    try {
      const bad: [string, number, number | undefined][] = [
        ['active', 0, undefined],
        ['waiting', 0, undefined],
        ['completed', -1, undefined],
        ['completed', Number.NaN, undefined],
        ['completed', 0, 0],
        ['completed', 0, -5],
        ['completed', 0, 1.5],
      ];
      for (const [state, older, limit] of bad) {
        const err = await queue
          .clean(state as 'completed', older, limit)
          .catch((e: unknown) => e);
        expect(err, `${state} ${older} ${limit}`).toBeInstanceOf(JobwireError);
        expect((err as JobwireError).code).toBe(ErrorCode.INVALID_OPTION);
      }
    } finally {
      await queue.close();
    }
  });
});

describe('remove()', () => {
  it('removes waiting, delayed, completed and failed jobs with their log, index entry and count', async () => {
    const q = uniqueQueue('rm');
    const reg = registryFor(q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const b = base(q);
    try {
      const worker = createWorker(
        reg,
        {
          tiny: async (j) => {
            await j.log(`ran ${j.data.n}`);
            if (j.data.n === 2) throw new PermanentError('bad');
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      let done: string;
      let failed: string;
      try {
        const h1 = await queue.enqueue('tiny', { n: 1 });
        const h2 = await queue.enqueue('tiny', { n: 2 });
        await h1.finished({ timeoutMs: 5000 });
        await expect(h2.finished({ timeoutMs: 5000 })).rejects.toThrow('bad');
        done = h1.id;
        failed = h2.id;
      } finally {
        await worker.close();
      }
      const waiting = (await queue.enqueue('tiny', { n: 3 })).id;
      const delayed = (
        await queue.enqueue('tiny', { n: 4 }, { delayMs: 60_000 })
      ).id;
      expect(await raw.exists(`${b}l:${done}`)).toBe(1);
      expect(await raw.exists(`${b}l:${failed}`)).toBe(1);
      expect(await queue.getCounts()).toMatchObject({
        waiting: 1,
        delayed: 1,
        completed: 1,
        failed: 1,
      });

      for (const id of [waiting, delayed, done, failed]) {
        await queue.remove(id);
        expect(await raw.exists(`${b}j:${id}`, `${b}l:${id}`)).toBe(0);
        expect(await queue.getJob(id)).toBeUndefined();
      }
      for (const key of ['w:tiny', 'delayed', 'completed', 'failed']) {
        expect(await raw.zcard(`${b}${key}`), key).toBe(0);
      }
      const counts = await queue.getCounts();
      expect(counts).toMatchObject({
        waiting: 0,
        delayed: 0,
        active: 0,
        completed: 0,
        failed: 0,
      });
      const removedEvents = (await raw.xrange(`${b}events`, '-', '+'))
        .map(([, f]) => f)
        .filter((f) => f[1] === 'removed')
        .map((f) => f[3]);
      expect(removedEvents).toEqual([waiting, delayed, done, failed]);
      // Removing again: gone.
      await expect(queue.remove(done)).rejects.toMatchObject({
        code: ErrorCode.JOB_NOT_FOUND,
      });
      await assertConsistent(raw, q, ['tiny']);
    } finally {
      await queue.close();
      await raw.quit();
    }
  });

  it('refuses to remove an active job (JOB_NOT_IN_STATE); unknown id is JOB_NOT_FOUND', async () => {
    const q = uniqueQueue('rm');
    const reg = registryFor(q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    const worker = createWorker(
      reg,
      {
        tiny: async () => {
          started = true;
          await gate;
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('tiny', { n: 1 });
      await waitFor(() => started, 5000, 'job to start');
      const err = await queue.remove(h.id).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(JobwireError);
      expect((err as JobwireError).code).toBe(ErrorCode.JOB_NOT_IN_STATE);
      expect(await raw.hget(`${base(q)}j:${h.id}`, 's')).toBe('a');
      expect(await raw.zscore(`${base(q)}active`, h.id)).not.toBeNull();
      release();
      await h.finished({ timeoutMs: 5000 });
      expect((await queue.getJob(h.id))?.state).toBe('completed');

      const unknown = await queue.remove('nope-1').catch((e: unknown) => e);
      expect(unknown).toBeInstanceOf(JobwireError);
      expect((unknown as JobwireError).code).toBe(ErrorCode.JOB_NOT_FOUND);
    } finally {
      release();
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });
});

describe('memory bound', () => {
  it('20,000 tiny jobs with default retention grow used_memory by < 10 MB', async () => {
    const q = uniqueQueue('mem');
    const reg = registryFor(q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const usedMemory = async (): Promise<number> => {
      const info = await raw.info('memory');
      const m = /^used_memory:(\d+)/m.exec(info);
      return Number(m![1]);
    };
    let done = 0;
    const worker = createWorker(
      reg,
      { tiny: () => {} },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 50 },
    );
    worker.on('completed', () => done++);
    try {
      await queue.getCounts();
      const baseline = await usedMemory();
      const total = 20_000;
      for (let start = 0; start < total; start += 5000) {
        await queue.enqueueBulk(
          Array.from({ length: 5000 }, (_, i) => ({
            name: 'tiny' as const,
            payload: { n: start + i },
          })),
        );
      }
      await waitFor(() => done === total, 30_000, `${total} completions`);
      const counts = await queue.getCounts();
      expect(counts.waiting + counts.active + counts.delayed).toBe(0);
      expect(counts.completed).toBeLessThanOrEqual(1000);
      const grown = (await usedMemory()) - baseline;
      expect(grown).toBeLessThan(10 * 1024 * 1024);
      // A CI run once found 1001 job hashes here for 1000 completed jobs,
      // not seen since: a stray hash is shown whole, with its events.
      const hashes = await jobHashIds(raw, q);
      const completed = new Set(
        await raw.zrange(`${base(q)}completed`, '0', '-1'),
      );
      const strays = hashes.filter((id) => !completed.has(id));
      const events = await raw.xrange(`${base(q)}events`, '-', '+');
      const strayInfo = await Promise.all(
        strays.map(async (id) => ({
          id,
          hash: await raw.hgetall(`${base(q)}j:${id}`),
          events: events
            .filter(([, f]) => f[3] === id)
            .map(([, f]) => f.join(' ')),
        })),
      );
      expect(strayInfo, 'job hashes outside the completed set').toEqual([]);
      expect(hashes.length).toBe(counts.completed);
      await assertConsistent(raw, q, ['tiny']);
    } finally {
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  }, 40_000);
});
