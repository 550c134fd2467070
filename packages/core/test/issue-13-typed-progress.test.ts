/**
 * Issue 13, item 11: progress was `unknown` to producers, in events and in
 * `getJob()`, so the slideshow example cast it. Events followed with `jobs`,
 * `getJob(id, { name })` and `watchProgress` now type progress and results
 * by job name, parsed with the schemas of the type named in Redis. The
 * compile-time half lives in fixtures/types (types.test.ts).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  type JobwireError,
  type TypedQueueEvent,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

function registries(queue: string) {
  const render = {
    queue,
    payload: z.object({ slides: z.number() }),
    result: z.object({ pages: z.number() }),
  };
  // What producers declare: progress output gets a default the stored
  // input lacks, so a typed read shows the schema's output.
  const producer = defineJobs({
    render: job({
      ...render,
      progress: z.object({
        percent: z.number(),
        stage: z.string().default('render'),
      }),
    }),
    ping: job({ queue, payload: z.object({}) }),
  });
  // An older worker: its progress schema allows values producers refuse,
  // and it runs a type producers do not declare.
  const worker = defineJobs({
    render: job({
      ...render,
      progress: z.object({ percent: z.number().or(z.string()) }),
    }),
    ping: job({ queue, payload: z.object({}) }),
    other: job({ queue, payload: z.object({}) }),
  });
  return { producer, worker };
}

function startWorker(reg: ReturnType<typeof registries>['worker']) {
  return createWorker(
    reg,
    {
      render: async (j) => {
        for (let i = 1; i <= j.data.slides; i++)
          await j.progress({ percent: (i / j.data.slides) * 100 });
        if (j.data.slides === 0) await j.progress({ percent: 'half' });
        return { pages: j.data.slides };
      },
      ping: async (j) => {
        await j.progress(50);
      },
      other: async (j) => {
        await j.progress(7);
      },
    },
    { connection: redis.url, ...fastWorkerSettings },
  );
}

describe('issue 13: typed progress and results for producers', () => {
  it('QueueEvents with jobs parses and types progress and result by name', async () => {
    const q = uniqueQueue();
    const { producer, worker: wreg } = registries(q);
    const queue = createQueue(producer, { connection: redis.url });
    const other = createQueue(wreg, { connection: redis.url });
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
      jobs: producer,
    });
    const worker = startWorker(wreg);
    const seen: TypedQueueEvent<typeof producer.jobs>[] = [];
    events.on('event', (e) => seen.push(e));
    try {
      const h = await queue.enqueue('render', { slides: 2 });
      const bad = await queue.enqueue('render', { slides: 0 });
      const ping = await queue.enqueue('ping', {});
      const foreign = await other.enqueue('other', {});
      await Promise.all([h, bad, ping].map((x) => x.finished()));
      await foreign.finished();
      await waitFor(
        () => seen.filter((e) => e.event === 'completed').length === 3,
        10_000,
        'three completed events',
      );
      const progress = seen.filter(
        (e) => e.event === 'progress' && e.jobId === h.id,
      );
      expect(progress.map((e) => e.progress)).toEqual([
        { percent: 50, stage: 'render' },
        { percent: 100, stage: 'render' },
      ]);
      const done = seen.find(
        (e) => e.event === 'completed' && e.jobId === h.id,
      );
      expect(done?.result).toEqual({ pages: 2 });
      // Typed by name at compile time too.
      if (done?.name === 'render')
        expectTypeOf(done.result).toEqualTypeOf<
          { pages: number } | undefined
        >();
      expect(
        seen.find((e) => e.event === 'progress' && e.jobId === ping.id)
          ?.progress,
      ).toBe(50);
      // A value that fails the producer's schema is kept raw, untyped.
      const odd = seen.find(
        (e) => e.event === 'progress' && e.jobId === bad.id,
      );
      expect(odd?.progress).toBeUndefined();
      expect(
        odd && 'unchecked' in odd ? odd.unchecked : undefined,
      ).toMatchObject({ progress: { percent: 'half' } });
      // Events of a type this registry does not declare are skipped.
      expect(seen.some((e) => e.jobId === foreign.id)).toBe(false);
    } finally {
      await worker.close();
      await events.close();
      await other.close();
      await queue.close();
    }
  });

  it('getJob(id, { name }) checks the stored name and types progress and result', async () => {
    const q = uniqueQueue();
    const { producer, worker: wreg } = registries(q);
    const queue = createQueue(producer, { connection: redis.url });
    const worker = startWorker(wreg);
    try {
      const h = await queue.enqueue('render', { slides: 4 });
      await h.finished({ timeoutMs: 10_000 });
      const info = await queue.getJob(h.id, { name: 'render' });
      expect(info).toMatchObject({
        name: 'render',
        progress: { percent: 100, stage: 'render' },
        result: { pages: 4 },
      });
      expectTypeOf(info?.progress).toEqualTypeOf<
        { percent: number; stage: string } | undefined
      >();
      // The untyped read keeps what was stored.
      expect((await queue.getJob(h.id))?.progress).toEqual({ percent: 100 });
      const wrong = await queue
        .getJob(h.id, { name: 'ping' })
        .catch((e: unknown) => e);
      expect((wrong as JobwireError).code).toBe(ErrorCode.INVALID_OPTION);
      expect((wrong as Error).message).toContain('is a "render" job');
      expect(await queue.getJob('nope', { name: 'render' })).toBeUndefined();
      const bad = await queue.enqueue('render', { slides: 0 });
      await bad.finished({ timeoutMs: 10_000 });
      const invalid = await queue
        .getJob(bad.id, { name: 'render' })
        .catch((e: unknown) => e);
      expect((invalid as JobwireError).code).toBe(ErrorCode.VALIDATION_FAILED);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('watchProgress reports every value in order, those before the call too, then the result', async () => {
    const q = uniqueQueue();
    const { producer, worker: wreg } = registries(q);
    const queue = createQueue(producer, { connection: redis.url });
    const worker = startWorker(wreg);
    try {
      const early = await queue.enqueue('render', { slides: 3 });
      await early.finished({ timeoutMs: 10_000 });
      const before: number[] = [];
      const r1 = await queue.watchProgress('render', early.id, (p) =>
        before.push(p.percent),
      );
      expect(r1).toEqual({ pages: 3 });
      expect(before).toEqual([1, 2, 3].map((i) => (i / 3) * 100));

      const h = await queue.enqueue('render', { slides: 5 });
      const stages: string[] = [];
      const percents: number[] = [];
      const result = await queue.watchProgress(
        'render',
        h.id,
        (p) => {
          percents.push(p.percent);
          stages.push(p.stage);
        },
        { timeoutMs: 10_000 },
      );
      expectTypeOf(result).toEqualTypeOf<{ pages: number }>();
      expect(result).toEqual({ pages: 5 });
      expect(percents).toEqual([20, 40, 60, 80, 100]);
      expect(new Set(stages)).toEqual(new Set(['render']));
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
