/**
 * A repeat schedule's bounds: `startAt`, `endAt` and `limit`. A schedule
 * that ends keeps its spec as ended (listed with `ended: true`), makes no
 * more occurrences (the repair pass does not bring it back), and stays
 * ended when the same spec is declared again at a process's start-up.
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
  JobwireError,
  ValidationError,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
let admin: Redis;
beforeAll(() => {
  admin = new Redis(redis.url);
});
afterAll(() => admin.disconnect());

function setup() {
  const queueName = uniqueQueue('bounds');
  const registry = defineJobs({
    tick: job({ queue: queueName, payload: z.object({ n: z.number() }) }),
  });
  const queue = createQueue(registry, { connection: redis.url });
  const ran: string[] = [];
  const worker = () =>
    createWorker(
      registry,
      { tick: (j) => void ran.push(j.id) },
      { connection: redis.url, ...fastWorkerSettings },
    );
  return { queueName, queue, ran, worker };
}

/** The slot time in an occurrence id `rpt.<key>.<slot>`. */
const slotOf = (id: string) => Number(id.split('.').at(-1));

/** The ids of the queue's delayed jobs. */
function delayedOf(queueName: string): Promise<string[]> {
  return admin.zrange(`jobwire:{${queueName}}:delayed`, '0', '-1');
}

describe('repeat bounds', () => {
  it('limit: runs that many occurrences, then ends and stays ended when declared again', async () => {
    const { queueName, queue, ran, worker } = setup();
    const w = worker();
    try {
      const first = await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'three', everyMs: 150, limit: 3 },
      );
      await waitFor(() => ran.length >= 3, 10_000, 'three runs');
      // Past two more slots and two repair passes (fastWorkerSettings).
      await sleep(600);
      expect(ran).toHaveLength(3);
      expect(ran[0]).toBe(first.id);
      expect(await delayedOf(queueName)).toEqual([]);
      const [spec] = await queue.getRepeats();
      expect(spec).toMatchObject({ key: 'three', limit: 3, ended: true });
      expect(spec?.next).toBeUndefined();

      // Every process declares its schedules at start-up: the same spec
      // again must not start the count afresh.
      const again = await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'three', everyMs: 150, limit: 3 },
      );
      expect(again.id).toBe(ran[2]);
      expect(again.duplicate).toBe(true);
      await sleep(500);
      expect(ran).toHaveLength(3);

      // A changed spec is a new schedule, its limit counted from zero.
      await queue.repeat(
        'tick',
        { n: 2 },
        { key: 'three', everyMs: 150, limit: 2 },
      );
      await waitFor(() => ran.length >= 5, 10_000, 'two more runs');
      await sleep(500);
      expect(ran).toHaveLength(5);
    } finally {
      await w.close();
      await queue.close();
    }
  }, 30_000);

  it('endAt: no occurrence after it; the schedule ends when its next slot would be later', async () => {
    const { queueName, queue, ran, worker } = setup();
    const w = worker();
    try {
      const endAt = new Date(Date.now() + 700);
      await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'until', everyMs: 200, endAt },
      );
      await waitFor(
        async () => (await queue.getRepeats())[0]?.ended === true,
        10_000,
        'the schedule ended',
      );
      await sleep(500);
      // Missed slots are skipped: a loaded machine may run fewer.
      expect(ran.length).toBeGreaterThanOrEqual(1);
      expect(ran.length).toBeLessThanOrEqual(4);
      for (const id of ran) expect(slotOf(id)).toBeLessThanOrEqual(+endAt);
      expect(await delayedOf(queueName)).toEqual([]);
      const ended = await queue.getRepeats();
      expect(ended).toMatchObject([{ key: 'until', endAtMs: +endAt }]);
    } finally {
      await w.close();
      await queue.close();
    }
  }, 30_000);

  it('startAt: an interval counts its slots from it', async () => {
    const { queueName, queue } = setup();
    try {
      // An odd start, off the epoch grid of a 10 s interval.
      const startAt = new Date(Date.now() + 60_000 + 1_234);
      const handle = await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'later', everyMs: 10_000, startAt },
      );
      expect(slotOf(handle.id)).toBe(+startAt);
      expect(await delayedOf(queueName)).toEqual([handle.id]);
      // Taking it (removal, here) schedules startAt + everyMs.
      await queue.cancel(handle.id);
      const [next] = await delayedOf(queueName);
      expect(slotOf(next!)).toBe(+startAt + 10_000);
    } finally {
      await queue.close();
    }
  });

  it('startAt and endAt bound a cron schedule', async () => {
    const { queueName, queue } = setup();
    try {
      const minute = 60_000;
      const startAt = new Date(
        (Math.floor(Date.now() / minute) + 5) * minute + 1,
      );
      const endAt = new Date(+startAt + 2 * minute);
      const handle = await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'cron', cron: '* * * * *', startAt, endAt },
      );
      // The first minute at or after startAt: startAt is 1 ms past one.
      expect(slotOf(handle.id)).toBe(+startAt - 1 + minute);
      await queue.cancel(handle.id);
      const [second] = await delayedOf(queueName);
      expect(slotOf(second!)).toBe(+startAt - 1 + 2 * minute);
      await queue.cancel(second!);
      // The next minute is past endAt: the schedule has ended.
      expect(await delayedOf(queueName)).toEqual([]);
      expect((await queue.getRepeats())[0]?.ended).toBe(true);
    } finally {
      await queue.close();
    }
  });

  it('removeRepeat removes an ended schedule', async () => {
    const { queue, ran, worker } = setup();
    const w = worker();
    try {
      await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'once', everyMs: 100, limit: 1 },
      );
      await waitFor(
        async () => (await queue.getRepeats())[0]?.ended === true,
        10_000,
        'the schedule ended',
      );
      await waitFor(() => ran.length === 1, 10_000, 'its one run');
      expect(await queue.removeRepeat('tick', 'once')).toBe(true);
      expect(await queue.getRepeats()).toEqual([]);
      // Declared again after the removal: a new schedule.
      await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'once', everyMs: 100, limit: 1 },
      );
      await waitFor(() => ran.length === 2, 10_000, 'it ran again');
    } finally {
      await w.close();
      await queue.close();
    }
  }, 30_000);

  it('limit: a process declaring the same spec again and again does not reset the count', async () => {
    const { queue, ran, worker } = setup();
    const w = worker();
    const spec = { key: 'startup', everyMs: 150, limit: 3 } as const;
    try {
      await queue.repeat('tick', { n: 1 }, spec);
      // Every start-up (and every concurrent declarer) declares it again.
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        const again = await queue.repeat('tick', { n: 1 }, spec);
        expect(again.outcome).toBe('duplicate');
        await sleep(100);
      }
      await sleep(300);
      expect(ran).toHaveLength(3);
      expect((await queue.getRepeats())[0]?.ended).toBe(true);
    } finally {
      await w.close();
      await queue.close();
    }
  }, 30_000);

  it('limit: a deploy that changes only the schema (a new fingerprint) keeps the count', async () => {
    const { queueName, queue, ran, worker } = setup();
    const w = worker();
    const spec = { key: 'deploy', everyMs: 200, limit: 3 } as const;
    const next = defineJobs({
      tick: job({
        queue: queueName,
        payload: z.object({ n: z.number(), note: z.string().optional() }),
      }),
    });
    const deployed = createQueue(next, { connection: redis.url });
    try {
      await queue.repeat('tick', { n: 1 }, spec);
      await waitFor(() => ran.length >= 1, 10_000, 'a first run');
      // The new version's start-up declares the same schedule.
      await deployed.repeat('tick', { n: 1 }, spec);
      await waitFor(
        async () => (await queue.getRepeats())[0]?.ended === true,
        10_000,
        'the schedule ended',
      );
      await sleep(500);
      expect(ran).toHaveLength(3);
    } finally {
      await w.close();
      await deployed.close();
      await queue.close();
    }
  }, 30_000);

  it('a declaration refused for having no slot within its bounds writes nothing', async () => {
    const { queueName, queue } = setup();
    try {
      const live = await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'r', everyMs: 60_000 },
      );
      const snapshot = async () => ({
        repeats: await admin.hgetall(`jobwire:{${queueName}}:repeats`),
        delayed: await delayedOf(queueName),
      });
      const before = await snapshot();
      expect(before.delayed).toEqual([live.id]);
      const day = 86_400_000;
      // After the next midnight (UTC) by an hour: the next midnight slot is
      // 23 hours after startAt, past endAt.
      const startAt = new Date(
        (Math.floor(Date.now() / day) + 1) * day + 3_600_000,
      );
      const refusals = [
        // The live schedule, replaced by one whose end has passed.
        { key: 'r', everyMs: 60_000, endAt: new Date(Date.now() - 1000) },
        // A new key whose only slots are past its end.
        {
          key: 'n',
          cron: '0 0 * * *',
          startAt,
          endAt: new Date(+startAt + 1000),
        },
      ];
      for (const spec of refusals) {
        const err = await queue
          .repeat('tick', { n: 2 }, spec)
          .catch((e: unknown) => e);
        expect((err as JobwireError).code, spec.key).toBe(
          ErrorCode.INVALID_OPTION,
        );
      }
      expect(await snapshot()).toEqual(before);
      expect((await queue.getRepeats()).map((r) => [r.key, r.ended])).toEqual([
        ['r', undefined],
      ]);
    } finally {
      await queue.close();
    }
  });

  it('a cron whose startAt is months ahead is scheduled at its first slot from then', async () => {
    const { queue } = setup();
    try {
      const day = 86_400_000;
      const startAt = new Date((Math.floor(Date.now() / day) + 100) * day + 1);
      const handle = await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'later', cron: '0 9 * * *', tz: 'UTC', startAt },
      );
      expect(slotOf(handle.id)).toBe(+startAt - 1 + 9 * 3_600_000);
      expect((await queue.getRepeats())[0]?.next?.id).toBe(handle.id);
    } finally {
      await queue.close();
    }
  });

  it("removeRepeat of another type's ended schedule leaves it", async () => {
    const queueName = uniqueQueue('bounds');
    const registry = defineJobs({
      a: job({ queue: queueName, payload: z.object({}) }),
      b: job({ queue: queueName, payload: z.object({}) }),
    });
    const queue = createQueue(registry, { connection: redis.url });
    const ran: string[] = [];
    const w = createWorker(
      registry,
      { a: (j) => void ran.push(j.id), b: () => {} },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      await queue.repeat('a', {}, { key: 'k', everyMs: 100, limit: 1 });
      await waitFor(
        async () => (await queue.getRepeats())[0]?.ended === true,
        10_000,
        'ended',
      );
      expect(await queue.removeRepeat('b', 'k')).toBe(false);
      expect((await queue.getRepeats()).map((r) => [r.name, r.key])).toEqual([
        ['a', 'k'],
      ]);
      expect(await queue.removeRepeat('a', 'k')).toBe(true);
    } finally {
      await w.close();
      await queue.close();
    }
  }, 30_000);

  it('an ended key declared again by an older jobwire is listed once, as live', async () => {
    const { queueName, queue, worker } = setup();
    const w = worker();
    try {
      await queue.repeat(
        'tick',
        { n: 1 },
        { key: 'k', everyMs: 100, limit: 1 },
      );
      await waitFor(
        async () => (await queue.getRepeats())[0]?.ended === true,
        10_000,
        'ended',
      );
      // An older producer knows no `:ended`: it writes the bare spec.
      const hash = `jobwire:{${queueName}}:repeats`;
      const spec = JSON.parse((await admin.hget(hash, 'k:ended'))!) as object;
      await admin.hset(hash, 'k', JSON.stringify({ ...spec, data: '{"n":2}' }));
      const listed = await queue.getRepeats();
      expect(listed.map((r) => [r.key, r.ended, r.data])).toEqual([
        ['k', undefined, '{"n":2}'],
      ]);
    } finally {
      await w.close();
      await queue.close();
    }
  }, 30_000);

  it('refuses bad bounds naming the field, and writes nothing', async () => {
    const { queueName, queue } = setup();
    try {
      const now = Date.now();
      const cases: [Record<string, unknown>, string][] = [
        [{ limit: 0 }, 'limit'],
        [{ limit: 1.5 }, 'limit'],
        [{ startAt: new Date(Number.NaN) }, 'startAt'],
        [{ endAt: '2030-01-01' }, 'endAt'],
        [
          { startAt: new Date(now + 2000), endAt: new Date(now + 1000) },
          'endAt',
        ],
      ];
      for (const [bounds, field] of cases) {
        const err = await queue
          .repeat('tick', { n: 1 }, {
            key: 'bad',
            everyMs: 1000,
            ...bounds,
          } as never)
          .catch((e: unknown) => e);
        expect(err, JSON.stringify(bounds)).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).issues[0]?.path).toBe(field);
      }
      expect(await admin.exists(`jobwire:{${queueName}}:repeats`)).toBe(0);
      // An endAt already past (by Redis time) has no slot to offer.
      const past = await queue
        .repeat(
          'tick',
          { n: 1 },
          {
            key: 'past',
            everyMs: 1000,
            endAt: new Date(now - 1000),
          },
        )
        .catch((e: unknown) => e);
      expect(past).toBeInstanceOf(JobwireError);
      expect((past as JobwireError).code).toBe(ErrorCode.INVALID_OPTION);
      expect((past as Error).message).toMatch(/endAt/);
    } finally {
      await queue.close();
    }
  });
});
