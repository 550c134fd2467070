/**
 * `queue.migrate(name)` (issue 14): queued jobs of an older contract
 * version rewritten in place to the current one. Real Redis; the stored
 * state is read raw, so the test sees what the script wrote, not what the
 * library says it wrote.
 *
 * The fixture: version 1 sends to one address; version 2 to a list, with a
 * subject. The v1 producer fills the queue with waiting jobs of three
 * priorities, delayed jobs (two with the same due time), one job a v1
 * worker holds active, and one whose upcaster throws.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type Queue,
  type Worker,
} from '../src/index.ts';
import { jobFingerprint } from '../src/contract/fingerprint.ts';
import { JobField } from '../src/redis/job-fields.ts';
import { queueKeys, type QueueKeys } from '../src/redis/keys.ts';
import { migrateBatch, payloadSha1 } from '../src/redis/transitions/migrate.ts';
import { scanKeys } from './helpers/redis-keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import {
  sendV1 as v1,
  sendV2 as v2,
  versionedRegistries,
} from './helpers/versioned-jobs.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(() => raw.disconnect());

const contracts = (queue: string) => versionedRegistries(queue);

type Two = ReturnType<typeof contracts>['two']['jobs'];

interface Seeded {
  queue: string;
  k: QueueKeys;
  p2: Queue<Two>;
  /** Waiting v1 jobs that upcast, by address. */
  waiting: Map<string, string>;
  delayed: Map<string, string>;
  bad: string;
  active: string;
  /** Releases the v1 worker's handler and closes it. */
  close(): Promise<void>;
}

async function seed(): Promise<Seeded> {
  const queue = uniqueQueue('migrate');
  const { one, two } = contracts(queue);
  const k = queueKeys('jobwire', queue);
  const p1 = createQueue(one, { connection: redis.url });
  const p2 = createQueue(two, { connection: redis.url });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  // Holds one job active, and takes no other: one slot, no prefetch, and
  // no lease renewal or stall check while a test runs.
  const holder: Worker<typeof one.jobs> = createWorker(
    one,
    { send: () => gate },
    {
      connection: redis.url,
      concurrency: 1,
      prefetch: 0,
      leaseMs: 600_000,
      stallCheckIntervalMs: 600_000,
    },
  );
  const active = (await p1.enqueue('send', { to: 'active@example.com' })).id;
  await waitFor(
    async () => (await p1.getJob(active))?.state === 'active',
    20_000,
    'the held job to be active',
  );
  const waiting = new Map<string, string>();
  const priorities = [10, 0, -10] as const;
  for (let i = 0; i < 9; i++) {
    const to = `w${String(i)}@example.com`;
    const h = await p1.enqueue('send', { to }, { priority: priorities[i % 3] });
    waiting.set(to, h.id);
  }
  const bad = (await p1.enqueue('send', { to: 'throw@example.com' })).id;
  const delayed = new Map<string, string>();
  const runAt = new Date(Date.now() + 3_600_000);
  for (let i = 0; i < 4; i++) {
    const to = `d${String(i)}@example.com`;
    const h = await p1.enqueue(
      'send',
      { to },
      i < 2 ? { runAt } : { delayMs: 3_600_000 + i * 1000 },
    );
    delayed.set(to, h.id);
  }
  await p1.close();
  return {
    queue,
    k,
    p2,
    waiting,
    delayed,
    bad,
    active,
    async close() {
      release();
      await holder.close();
      await p2.close();
    },
  };
}

/** Every key of the queue without a TTL, with its DUMP. */
async function snapshot(queue: string): Promise<Map<string, string>> {
  const keys = (await scanKeys(raw, `jobwire:{${queue}}:*`)).sort();
  const out = new Map<string, string>();
  for (const key of keys) {
    if ((await raw.pttl(key)) !== -1) continue;
    out.set(
      key,
      ((await raw.dumpBuffer(key)) ?? Buffer.alloc(0)).toString('hex'),
    );
  }
  return out;
}

async function zsetWithScores(key: string): Promise<[string, string][]> {
  const r = await raw.zrange(key, 0, '-1', 'WITHSCORES');
  const out: [string, string][] = [];
  for (let i = 0; i < r.length; i += 2) out.push([r[i]!, r[i + 1]!]);
  return out;
}

describe('migrate (issue 14)', { timeout: 120_000 }, () => {
  it('a dry run writes nothing, and reports counts per version, the failure and a sample', async () => {
    const s = await seed();
    try {
      const before = await snapshot(s.queue);
      const report = await s.p2.migrate('send', { dryRun: true, sample: 2 });
      expect(await snapshot(s.queue)).toEqual(before);
      expect(report).toMatchObject({
        queue: s.queue,
        name: 'send',
        version: 2,
        dryRun: true,
        // The active job is not counted: migrate never reads it.
        before: [{ version: 1, waiting: 10, delayed: 4 }],
        after: [
          { version: 1, waiting: 1, delayed: 0 },
          { version: 2, waiting: 9, delayed: 4 },
        ],
        migrated: 13,
        skipped: 0,
        failed: 1,
      });
      expect(report.failures).toEqual([
        {
          id: s.bad,
          state: 'waiting',
          version: 1,
          error: expect.objectContaining({
            code: 'UPCAST_FAILED',
            message: expect.stringMatching(/no address book entry/) as string,
          }) as object,
        },
      ]);
      expect(report.sample).toHaveLength(2);
      for (const x of report.sample) {
        const to = (x.before as { to: string }).to;
        expect(x).toMatchObject({ fromVersion: 1, state: 'waiting' });
        expect(s.waiting.get(to)).toBe(x.id);
        // The stored input of version 2: its default applies in the worker.
        expect(x.after).toEqual({ to: [to] });
      }
    } finally {
      await s.close();
    }
  });

  it('migrates waiting and delayed jobs in place, keeping order and due times; the active and the failing job stay as they were', async () => {
    const s = await seed();
    try {
      const k = s.k;
      const waitingBefore = await zsetWithScores(k.wait('send'));
      const delayedBefore = await zsetWithScores(k.delayed);
      const untouched = async () =>
        Promise.all(
          [s.active, s.bad].flatMap((id) => [
            raw.dumpBuffer(k.job(id)),
            raw.dumpBuffer(k.payload(id)),
          ]),
        );
      const activeAndBad = await untouched();
      const activeScore = await raw.zscore(k.active, s.active);
      const lastEvent = (
        await raw.xrevrange(k.events, '+', '-', 'COUNT', 1)
      )[0]![0];

      const report = await s.p2.migrate('send', { batchSize: 4 });
      expect(report).toMatchObject({
        dryRun: false,
        before: [{ version: 1, waiting: 10, delayed: 4 }],
        after: [
          { version: 1, waiting: 1, delayed: 0 },
          { version: 2, waiting: 9, delayed: 4 },
        ],
        migrated: 13,
        skipped: 0,
        failed: 1,
        sample: [],
      });
      expect(report.failures.map((f) => f.id)).toEqual([s.bad]);

      // Waiting jobs moved to the version 2 lane with their scores, so in
      // the order (priority, then FIFO) workers would have taken them.
      expect(await zsetWithScores(k.wait('send', 2))).toEqual(
        waitingBefore.filter(([id]) => id !== s.bad),
      );
      expect(await zsetWithScores(k.wait('send'))).toEqual(
        waitingBefore.filter(([id]) => id === s.bad),
      );
      expect(await raw.smembers(k.lanes)).toEqual(['send@2']);
      expect(await raw.zcard(k.marker('send', 2))).toBe(1);
      // Delayed jobs keep their place and due time.
      expect(await zsetWithScores(k.delayed)).toEqual(delayedBefore);

      const fp = jobFingerprint(contracts(s.queue).two.jobs.send);
      for (const [to, id] of [...s.waiting, ...s.delayed]) {
        const [v, f, legacy] = await raw.hmget(
          k.job(id),
          JobField.version,
          JobField.fingerprint,
          JobField.legacyData,
        );
        expect([v, f, legacy]).toEqual(['2', fp, null]);
        expect(JSON.parse((await raw.get(k.payload(id)))!)).toEqual({
          to: [to],
        });
        const info = await s.p2.getJob(id, { upcast: true });
        expect(info).toMatchObject({
          version: 2,
          dataVersion: 2,
          data: { to: [to], subject: '(none)' },
        });
      }
      expect(await untouched()).toEqual(activeAndBad);
      expect(await raw.zscore(k.active, s.active)).toBe(activeScore);
      expect(await raw.hget(k.counts, 'send|w')).toBe('10');
      expect(await raw.hget(k.counts, 'send|d')).toBe('4');
      expect(await raw.hget(k.counts, 'send|a')).toBe('1');

      // One `migrated` event per batch that wrote jobs, none per job.
      const events = (await raw.xrange(k.events, `(${lastEvent}`, '+')).map(
        ([, f]) => f,
      );
      expect(events.length).toBeGreaterThan(1);
      let total = 0;
      for (const f of events) {
        expect(f.slice(0, 6)).toEqual([
          'ev',
          'migrated',
          'id',
          '',
          'n',
          'send',
        ]);
        expect(f[f.indexOf('v') + 1]).toBe('2');
        total += Number(f[f.indexOf('count') + 1]);
      }
      expect(total).toBe(13);

      // A second run finds nothing left but the failing job.
      const again = await s.p2.migrate('send');
      expect(again).toMatchObject({ migrated: 0, skipped: 0, failed: 1 });
      expect(again.before).toEqual(report.after);
    } finally {
      await s.close();
    }
  });

  it('compare-and-set: a job leased, removed, re-created or migrated after it was read is skipped and left as it is', async () => {
    const queue = uniqueQueue('cas');
    const { one, two } = contracts(queue);
    const k = queueKeys('jobwire', queue);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    let holder: Worker<typeof one.jobs> | undefined;
    try {
      const ids: Record<string, string> = {};
      for (const name of ['keep', 'leased', 'removed', 'recreated', 'bumped'])
        ids[name] = (
          await p1.enqueue(
            'send',
            { to: `${name}@example.com` },
            { jobId: name, priority: name === 'leased' ? -100 : 0 },
          )
        ).id;
      // What migrate read: each job's version and payload bytes.
      const read = new Map<string, Buffer>();
      for (const id of Object.values(ids))
        read.set(id, (await raw.getBuffer(k.payload(id)))!);

      // Meanwhile: a worker takes `leased`; `removed` is removed;
      // `recreated` is removed and enqueued again under the same id with
      // another payload; `bumped` is migrated by another run.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      holder = createWorker(
        one,
        { send: () => gate },
        {
          connection: redis.url,
          concurrency: 1,
          prefetch: 0,
          leaseMs: 600_000,
        },
      );
      await waitFor(
        async () => (await p1.getJob('leased'))?.state === 'active',
        20_000,
        'the lease',
      );
      await p1.remove('removed');
      await p1.remove('recreated');
      await p1.enqueue(
        'send',
        { to: 'other@example.com' },
        { jobId: 'recreated' },
      );
      await raw.hset(k.job('bumped'), JobField.version, '2');
      const leasedBefore = await raw.dumpBuffer(k.job('leased'));
      const recreatedBefore = await raw.dumpBuffer(k.payload('recreated'));

      const result = await migrateBatch(
        raw,
        k,
        100,
        'send',
        2,
        'fp',
        { lane: 'send' },
        Object.values(ids).map((id) => ({
          id,
          version: 1,
          payloadSha1: payloadSha1(read.get(id)!),
          payload: JSON.stringify({ to: [`${id}@example.com`] }),
        })),
      );
      expect(result).toEqual({ migrated: 1, skipped: 4 });
      expect(await raw.hget(k.job('keep'), JobField.version)).toBe('2');
      expect(await raw.zscore(k.wait('send', 2), 'keep')).not.toBeNull();
      // Each of the others is as the change left it.
      expect(await raw.dumpBuffer(k.job('leased'))).toEqual(leasedBefore);
      expect(await raw.zscore(k.wait('send', 2), 'leased')).toBeNull();
      expect(await raw.exists(k.job('removed'), k.payload('removed'))).toBe(0);
      expect(await raw.zscore(k.wait('send', 2), 'removed')).toBeNull();
      expect(await raw.dumpBuffer(k.payload('recreated'))).toEqual(
        recreatedBefore,
      );
      expect(await raw.hget(k.job('recreated'), JobField.version)).toBe('1');
      expect(JSON.parse((await raw.get(k.payload('bumped')))!)).toEqual({
        to: 'bumped@example.com',
      });
      release();
    } finally {
      await holder?.close();
      await p1.close();
      await p2.close();
    }
  });

  it('a job removed while its batch is upcast is counted as skipped, not written back', async () => {
    const queue = uniqueQueue('cas2');
    const k = queueKeys('jobwire', queue);
    const one = defineJobs({ send: job({ queue, payload: v1 }) });
    // The upcaster runs between migrate's read and its write. readPayload
    // awaits what an upcaster returns, so this one can remove another job
    // of the same batch at that moment, as an operator might, and be sure
    // the removal is done before the batch is written.
    const toV2 = async (old: z.output<typeof v1>) => {
      if (old.to === 'first@example.com')
        await raw.eval(
          // A removal as removeJob-6.lua does it, in one step.
          `redis.call('ZREM', KEYS[1], ARGV[1])
           redis.call('DEL', KEYS[2], KEYS[3])`,
          3,
          k.wait('send'),
          k.job('second'),
          k.payload('second'),
          'second',
        );
      return { to: [old.to] };
    };
    const two = defineJobs({
      send: job({
        queue,
        version: 2,
        payload: v2,
        upcast: {
          1: {
            from: v1,
            to: toV2 as unknown as (
              old: z.output<typeof v1>,
            ) => z.input<typeof v2>,
          },
        },
      }),
    });
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    try {
      await p1.enqueue('send', { to: 'first@example.com' }, { jobId: 'first' });
      await p1.enqueue(
        'send',
        { to: 'second@example.com' },
        { jobId: 'second' },
      );
      const report = await p2.migrate('send');
      expect(report).toMatchObject({ migrated: 1, skipped: 1, failed: 0 });
      expect(await raw.exists(k.job('second'), k.payload('second'))).toBe(0);
      expect(await raw.zrange(k.wait('send', 2), 0, '-1')).toEqual(['first']);
    } finally {
      await p1.close();
      await p2.close();
    }
  });

  it('jobs of versions 1 and 2 reach version 3 through the whole chain, into the version 3 lane in their order', async () => {
    const queue = uniqueQueue('chain');
    const k = queueKeys('jobwire', queue);
    const v3 = z.object({
      to: z.array(z.email()).min(1),
      subject: z.string(),
    });
    const upcast12 = {
      from: v1,
      to: (old: z.output<typeof v1>) => ({ to: [old.to] }),
    };
    const { one, two } = contracts(queue);
    const three = defineJobs({
      send: job({
        queue,
        version: 3,
        payload: v3,
        upcast: {
          1: upcast12,
          2: {
            from: v2,
            to: (old) => ({ ...old, subject: old.subject.toUpperCase() }),
          },
        },
      }),
    });
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    const p3 = createQueue(three, { connection: redis.url });
    try {
      const sent = new Map<string, string>();
      for (let i = 0; i < 3; i++) {
        const a = `a${String(i)}@example.com`;
        const b = `b${String(i)}@example.com`;
        sent.set(
          (await p1.enqueue('send', { to: a }, { priority: 5 - i })).id,
          a,
        );
        sent.set(
          (await p2.enqueue('send', { to: [b] }, { priority: 5 - i })).id,
          b,
        );
      }
      const ids = [...sent.keys()];
      // Where each job waits now (lane 1, or the version 2 lane once
      // producers write lanes), with its score.
      const scores = new Map<string, string>();
      for (const id of ids)
        scores.set(
          id,
          ((await raw.zscore(k.wait('send'), id)) ??
            (await raw.zscore(k.wait('send', 2), id)))!,
        );
      const report = await p3.migrate('send', { batchSize: 2 });
      expect(report).toMatchObject({
        before: [
          { version: 1, waiting: 3, delayed: 0 },
          { version: 2, waiting: 3, delayed: 0 },
        ],
        after: [{ version: 3, waiting: 6, delayed: 0 }],
        migrated: 6,
        failed: 0,
      });
      expect(await raw.zcard(k.wait('send'))).toBe(0);
      expect(await raw.zcard(k.wait('send', 2))).toBe(0);
      expect(await raw.smembers(k.lanes)).toContain('send@3');
      const lane3 = await zsetWithScores(k.wait('send', 3));
      expect(new Map(lane3)).toEqual(scores);
      expect(lane3.map(([, score]) => Number(score))).toEqual(
        [...lane3.map(([, score]) => Number(score))].sort((a, b) => a - b),
      );
      for (const [id, to] of sent) {
        const info = await p3.getJob(id);
        expect(info?.version).toBe(3);
        // Version 2's default applied between the steps, then step 2 ran.
        expect(info?.data).toEqual({ to: [to], subject: '(NONE)' });
      }
    } finally {
      await p1.close();
      await p2.close();
      await p3.close();
    }
  });

  it('a page of large payloads is written in several batches of at most about 8 MB', async () => {
    const queue = uniqueQueue('big');
    const k = queueKeys('jobwire', queue);
    const doc1 = z.object({ body: z.string() });
    const one = defineJobs({ store: job({ queue, payload: doc1 }) });
    const two = defineJobs({
      store: job({
        queue,
        version: 2,
        payload: z.object({ body: z.string(), size: z.number() }),
        upcast: {
          1: { from: doc1, to: (old) => ({ ...old, size: old.body.length }) },
        },
      }),
    });
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    try {
      const body = 'x'.repeat(400_000);
      for (let i = 0; i < 24; i++) await p1.enqueue('store', { body });
      const last = (await raw.xrevrange(k.events, '+', '-', 'COUNT', 1))[0]![0];
      const report = await p2.migrate('store');
      expect(report).toMatchObject({ migrated: 24, skipped: 0, failed: 0 });
      const counts = (await raw.xrange(k.events, `(${last}`, '+')).map(
        ([, f]) => Number(f[f.indexOf('count') + 1]),
      );
      // 24 payloads of 400 kB, counted at 3 bytes a character: 6 a batch.
      expect(counts).toEqual([6, 6, 6, 6]);
    } finally {
      await p1.close();
      await p2.close();
    }
  });

  it(
    `a worker leasing while thousands of jobs are migrated runs each job exactly once, in the version 2 shape`,
    { timeout: 300_000 },
    async () => {
      const queue = uniqueQueue('race');
      const { one, two } = contracts(queue);
      const k = queueKeys('jobwire', queue);
      const p1 = createQueue(one, { connection: redis.url });
      const p2 = createQueue(two, { connection: redis.url });
      const N = 3000;
      const runs = new Map<string, unknown[]>();
      let worker: Worker<Two> | undefined;
      try {
        const items = Array.from({ length: N }, (_, i) => ({
          name: 'send' as const,
          payload: { to: `r${String(i)}@example.com` },
          options: {
            jobId: `r${String(i)}`,
            priority: (i % 3) - 1,
            // A tenth are delayed, due while the migration runs or after it.
            ...(i % 10 === 0 ? { delayMs: 200 + (i % 7) * 100 } : {}),
          },
        }));
        for (let i = 0; i < N; i += 500)
          await p1.enqueueBulk(items.slice(i, i + 500));

        worker = createWorker(
          two,
          {
            send: (j) => {
              const seen = runs.get(j.id) ?? [];
              seen.push(j.data);
              runs.set(j.id, seen);
            },
          },
          {
            connection: redis.url,
            ...fastWorkerSettings,
            // Long leases: a lease lost under load would re-run a job by
            // design (at least once), which is not what this test is about.
            leaseMs: 60_000,
            concurrency: 8,
          },
        );
        const report = await p2.migrate('send', { batchSize: 100 });
        expect(report.failed).toBe(0);
        expect(report.migrated).toBeGreaterThan(0);
        const settled = async () => {
          const c = await p2.getCounts();
          const lane2 = await raw.zcard(k.wait('send', 2));
          return (
            c.delayed === 0 &&
            c.active === 0 &&
            c.waiting === lane2 &&
            runs.size + lane2 === N
          );
        };
        await waitFor(() => runs.size === N, 240_000, `${String(N)} runs`);
        await waitFor(settled, 240_000, 'every job run or waiting in lane 2');
        await worker.close();
        const waitingInLane2 = new Set(
          await raw.zrange(k.wait('send', 2), 0, '-1'),
        );
        expect(waitingInLane2.size).toBe(0);
        for (let i = 0; i < N; i++) {
          const id = `r${String(i)}`;
          const ran = runs.get(id);
          if (waitingInLane2.has(id)) {
            expect(ran, id).toBeUndefined();
            expect(await raw.hget(k.job(id), JobField.version)).toBe('2');
          } else {
            expect(ran, id).toEqual([
              { to: [`${id}@example.com`], subject: '(none)' },
            ]);
          }
        }
        expect(await raw.zcard(k.wait('send'))).toBe(0);
      } finally {
        await worker?.close();
        await p1.close();
        await p2.close();
      }
    },
  );
});
