import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type WorkerOptions,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function registry(queue: string) {
  return defineJobs({
    tick: job({
      queue,
      payload: z.object({ n: z.number() }),
      retention: { completed: false },
    }),
  });
}

async function fill(queue: string, count: number): Promise<void> {
  const q = createQueue(registry(queue), { connection: redis.url });
  try {
    await q.enqueueBulk(
      Array.from({ length: count }, (_, n) => ({
        name: 'tick' as const,
        payload: { n },
      })),
    );
  } finally {
    await q.close();
  }
}

/** Samples the active zset (leases held) while `until` is false. */
async function sampleActive(
  raw: Redis,
  queue: string,
  until: () => boolean,
): Promise<number> {
  let most = 0;
  while (!until()) {
    most = Math.max(most, await raw.zcard(`jobwire:{${queue}}:active`));
    await sleep(1);
  }
  return most;
}

describe('prefetch', () => {
  it('leases ahead of the free slot for short handlers, never running more than concurrency', async () => {
    const queue = uniqueQueue();
    await fill(queue, 400);
    const raw = new Redis(redis.url);
    let running = 0;
    let maxRunning = 0;
    let done = 0;
    const order: number[] = [];
    const w = createWorker(
      registry(queue),
      {
        tick: async (j) => {
          order.push(j.data.n);
          running++;
          maxRunning = Math.max(maxRunning, running);
          await sleep(0);
          running--;
          done++;
        },
      },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 1 },
    );
    try {
      const mostLeased = await sampleActive(raw, queue, () => done >= 400);
      expect(maxRunning).toBe(1);
      // One slot keeps strict FIFO, prefetched or not.
      expect(order).toEqual(order.toSorted((x, y) => x - y));
      // One slot, yet more leases held: the prefetched jobs.
      expect(mostLeased).toBeGreaterThan(1);
      expect(mostLeased).toBeLessThanOrEqual(1 + 128 + 1);
    } finally {
      await w.close();
      await raw.quit();
    }
  });

  it('sizes the buffer by handler time: deep for microsecond handlers, a few jobs for 2 ms ones', async () => {
    const mostLeasedWith = async (handlerMs: number, jobs: number) => {
      const queue = uniqueQueue();
      await fill(queue, jobs);
      const raw = new Redis(redis.url);
      let done = 0;
      const w = createWorker(
        registry(queue),
        {
          tick: async () => {
            if (handlerMs > 0) await sleep(handlerMs);
            done++;
          },
        },
        { connection: redis.url, ...fastWorkerSettings, concurrency: 1 },
      );
      try {
        return await sampleActive(raw, queue, () => done >= jobs);
      } finally {
        await w.close();
        await raw.quit();
      }
    };
    // Handlers of 3 ms: 4 ms of work per slot is one job ahead (two if a
    // timer fires early and a run measures under 2 ms), where a fixed
    // buffer would hold up to the whole `prefetch`. Besides the running job
    // and those, one may be leased still: a finished job whose completion
    // has not landed yet. (slot-book.test.ts checks the depth exactly.)
    expect(await mostLeasedWith(3, 40)).toBeLessThanOrEqual(1 + 2 + 1);
    // Handlers that take microseconds: the buffer grows past the old 16.
    expect(await mostLeasedWith(0, 2000)).toBeGreaterThan(1 + 16);
  });

  it('does not prefetch for slow handlers, nor with prefetch: 0', async () => {
    for (const extra of [{}, { prefetch: 0 }] as WorkerOptions[]) {
      const queue = uniqueQueue();
      await fill(queue, 40);
      const raw = new Redis(redis.url);
      let done = 0;
      const slow = extra.prefetch === undefined;
      const w = createWorker(
        registry(queue),
        {
          tick: async () => {
            await sleep(slow ? 15 : 0);
            done++;
          },
        },
        {
          connection: redis.url,
          ...fastWorkerSettings,
          concurrency: 2,
          ...extra,
        },
      );
      try {
        const mostLeased = await sampleActive(raw, queue, () => done >= 40);
        expect(mostLeased).toBeLessThanOrEqual(2);
      } finally {
        await w.close();
        await raw.quit();
      }
    }
  });

  it('hands parked jobs back: after 1 s behind a slow handler, and on close', async () => {
    const queue = uniqueQueue();
    await fill(queue, 30);
    const raw = new Redis(redis.url);
    const base = `jobwire:{${queue}}:`;
    let release: (() => void) | undefined;
    let started = 0;
    const w = createWorker(
      registry(queue),
      {
        // Fast at first (prefetching starts), then one handler hangs.
        tick: async (j) => {
          started++;
          if (j.data.n === 10) await new Promise<void>((r) => (release = r));
        },
      },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 1 },
    );
    try {
      await waitFor(() => release !== undefined, 5000, 'the slow handler');
      const parked = (await raw.zcard(`${base}active`)) - 1;
      expect(parked).toBeGreaterThan(0);
      // Nobody else could take them while parked; after 1 s they go back.
      await waitFor(
        async () => (await raw.zcard(`${base}active`)) === 1,
        3000,
        'parked jobs handed back',
      );
      expect(started).toBe(11);
      const back = await raw.zrange(`${base}w:tick`, '0', '-1');
      expect(back.length).toBe(30 - 11);
      // Handed back without an attempt or a stall counted.
      const [a, sc] = await raw.hmget(`${base}j:${back[0]!}`, 'a', 'sc');
      expect([a, sc]).toEqual([null, null]);
      release!();
      await waitFor(() => started >= 14, 5000, 'more jobs after the slow one');
    } finally {
      await w.close({ deadlineMs: 2000 });
    }
    try {
      // On close, whatever was parked went back too: no lease is left.
      expect(await raw.zcard(`${base}active`)).toBe(0);
      const waiting = await raw.zcard(`${base}w:tick`);
      expect(waiting + started).toBe(30);
    } finally {
      await raw.quit();
    }
  });
});
