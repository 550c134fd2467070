/**
 * Flow control, lease side (issue 16): type-wide rate limits, per-key
 * concurrency with round-robin fairness and per-key rate limits, enforced
 * in the lease scripts across workers; every path that ends or re-queues
 * an active keyed job gives its key's slot back.
 *
 * Keyed jobs: until the producer routes them at enqueue (the enqueue side
 * of #16), these tests store a job delayed, set its group key (F.flowKey)
 * by hand, and promote it: promotion goes through pushWait, which routes a
 * keyed job into its key's group and ring, as every re-queue does.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type FlowOptions,
  type WorkerOptions,
} from '../src/index.ts';
import { getDefinition } from '../src/contract/define.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { JobField } from '../src/redis/job-fields.ts';
import {
  complete,
  moveToActive,
  recoverStalled,
  release,
  type LeaseRequest,
} from '../src/redis/transitions/lease.ts';
import { deferNewer, fail } from '../src/redis/transitions/job-run.ts';
import { cancelJob } from '../src/redis/transitions/operator.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { PROCESS_START_MS, sleep, waitFor } from './helpers/wait.ts';
import { useWorkerProcesses } from './helpers/worker-processes.ts';
import { readLedger, taskRegistry } from './processes/worker-process.ts';

const redis = useRedis();
const processes = useWorkerProcesses(redis);

const payload = z.object({ k: z.string(), n: z.number() });
type Payload = z.output<typeof payload>;
const byK = (p: Payload) => p.k;

const open: { close(): Promise<unknown> }[] = [];
const raws: Redis[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
  for (const r of raws.splice(0)) r.disconnect();
});

/** A queue with one type `send` under the given flow rules. */
function setup(flow: FlowOptions<Payload>) {
  const queue = uniqueQueue('flow');
  const reg = defineJobs({
    send: job({
      queue,
      payload,
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 10 },
      ...flow,
    }),
  });
  const raw = new Redis(redis.url);
  raws.push(raw);
  const producer = createQueue(reg, { connection: redis.url });
  open.push(producer);
  const k = queueKeys('jobwire', queue);
  const rules = getDefinition(reg, 'send').flow;
  /** A lease request of `total` jobs of `send` under its flow rules. */
  const lease = (
    prefix: string,
    total = 10,
    leaseMs = 30_000,
  ): LeaseRequest => ({
    leaseMs,
    tokenPrefix: prefix,
    total,
    immediate: total,
    quotas: [['send', total]],
    flow: new Map([['send', rules]]),
  });
  const worker = (
    handler: (p: Payload, signal: AbortSignal) => Promise<unknown> | unknown,
    options: WorkerOptions = {},
  ) => {
    const w = createWorker(
      reg,
      {
        send: async (j) => {
          await handler(j.data, j.signal);
          return undefined;
        },
      },
      { connection: redis.url, blockTimeoutMs: 1000, ...options },
    );
    w.on('error', () => {});
    open.push(w);
    return w;
  };
  /** Stores jobs waiting in their keys' groups (see the file comment). */
  const addKeyed = async (items: Payload[]): Promise<string[]> => {
    const ids = await Promise.all(
      items.map(
        async (p) =>
          (await producer.enqueue('send', p, { delayMs: 3_600_000 })).id,
      ),
    );
    const pipe = raw.pipeline();
    ids.forEach((id, i) => pipe.hset(k.job(id), JobField.flowKey, items[i]!.k));
    await pipe.exec();
    for (const id of ids) await producer.promote(id);
    return ids;
  };
  return { queue, reg, raw, producer, k, lease, worker, addKeyed };
}

/** Redis commands run per name while `fn` runs (INFO commandstats). */
async function callsDuring(raw: Redis, fn: () => Promise<unknown>) {
  await raw.config('RESETSTAT');
  await fn();
  const info = await raw.info('commandstats');
  const calls: Record<string, number> = {};
  for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g))
    calls[m[1]!] = Number(m[2]);
  return calls;
}

/** Start times (Redis clock, F.startedAt) of the given jobs, sorted. */
async function startTimes(
  raw: Redis,
  k: ReturnType<typeof queueKeys>,
  ids: string[],
) {
  const pipe = raw.pipeline();
  for (const id of ids) pipe.hget(k.job(id), JobField.startedAt);
  const res = (await pipe.exec())!;
  return res.map(([, v]) => Number(v)).sort((a, b) => a - b);
}

describe('type-wide rate limit', () => {
  it('never starts more than `limit` jobs in any window, runs the rest later, and does not spin', async () => {
    const LIMIT = 20;
    const PER = 500;
    const s = setup({ rateLimit: { limit: LIMIT, perMs: PER } });
    const ids: string[] = [];
    for (let n = 0; n < 60; n++)
      ids.push((await s.producer.enqueue('send', { k: 'x', n })).id);
    let done = 0;
    const calls = await callsDuring(s.raw, async () => {
      for (let i = 0; i < 2; i++)
        s.worker(() => void done++, { concurrency: 8 });
      await waitFor(() => done === 60, 10_000, 'all 60 jobs');
    });
    const starts = await startTimes(s.raw, s.k, ids);
    // Sliding windows: the (i+LIMIT)-th start is at least PER after the i-th.
    for (let i = 0; i + LIMIT < starts.length; i++)
      expect(starts[i + LIMIT]! - starts[i]!).toBeGreaterThanOrEqual(PER);
    // 60 jobs at 20 per 500 ms: three windows, so at least 1000 ms.
    expect(starts[59]! - starts[0]!).toBeGreaterThanOrEqual(2 * PER);
    // Each leasing call of the type trims its window once: the calls while
    // held back are bounded (a worker that re-armed its marker would call
    // in a loop, thousands of times in the ~1 s the jobs are held back).
    // Once the first window is full, slots free one per spacing (paced
    // starts), and each worker asks once per slot: about 2 calls per job.
    expect(calls.zremrangebyscore ?? 0).toBeLessThan(4 * 60);
  });
});

describe('per-key concurrency', () => {
  it('never runs more than `limit` jobs of a key at once across two workers, and reaches it', async () => {
    const s = setup({ concurrency: { limit: 2, key: byK } });
    const items: Payload[] = [];
    for (let n = 0; n < 12; n++)
      for (const key of ['a', 'b', 'c']) items.push({ k: key, n });
    await s.addKeyed(items);
    const now: Record<string, number> = {};
    const max: Record<string, number> = {};
    let done = 0;
    let sampledMax = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const key of ['a', 'b', 'c'])
          sampledMax = Math.max(
            sampledMax,
            await s.raw.zcard(`${s.k.base}ga:send:${key}`),
          );
        await sleep(2);
      }
    })();
    const handler = async (p: Payload) => {
      now[p.k] = (now[p.k] ?? 0) + 1;
      max[p.k] = Math.max(max[p.k] ?? 0, now[p.k]!);
      await sleep(15);
      now[p.k]!--;
      done++;
    };
    s.worker(handler, { concurrency: 10 });
    s.worker(handler, { concurrency: 10 });
    await waitFor(() => done === 36, 15_000, 'all 36 jobs');
    sampling = false;
    await sampler;
    for (const key of ['a', 'b', 'c']) {
      expect(max[key]).toBeLessThanOrEqual(2);
    }
    expect(Math.max(...Object.values(max))).toBe(2);
    expect(sampledMax).toBeLessThanOrEqual(2);
    // Every slot was given back.
    expect(await s.raw.keys(`${s.k.base}ga:*`)).toEqual([]);
    expect(await s.raw.hlen(`${s.k.base}gp:send`)).toBe(0);
  });

  it.each([1, 5])(
    'fairness (per-key limit %i): with one key holding 500 jobs and nine keys holding 5, the nine start within the first 60 jobs',
    async (limit) => {
      const s = setup({ concurrency: { limit, key: byK } });
      // The deep key first: a FIFO queue would run all 500 before the rest.
      const items: Payload[] = [];
      for (let n = 0; n < 500; n++) items.push({ k: 'big', n });
      for (let n = 0; n < 5; n++)
        for (let i = 1; i <= 9; i++) items.push({ k: `small${i}`, n });
      await s.addKeyed(items);
      const order: string[] = [];
      s.worker(
        async (p) => {
          order.push(p.k);
          await sleep(1);
        },
        { concurrency: 2, prefetch: 0 },
      );
      await waitFor(
        () => order.filter((k) => k !== 'big').length === 45,
        20_000,
        'the nine small keys',
      );
      const lastSmall = order.findLastIndex((k) => k !== 'big');
      console.log(
        `fairness, per-key limit ${limit}: last small-key job started ${lastSmall + 1}th of 545`,
      );
      // Round robin: each turn over the 10 keys starts one job of each, so
      // the 45 small jobs start within 5 turns = 50 starts; 10 of slack for
      // the order keys come back in after a slot frees.
      expect(lastSmall).toBeLessThan(60);
    },
  );

  it('a stale member in ga: (a release that never ran) does not wedge the key: the lease drops it', async () => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    await s.raw.zadd(`${s.k.base}ga:send:a`, 1, 'ghost');
    const [a] = await s.addKeyed([{ k: 'a', n: 1 }]);
    const r = await moveToActive(s.raw, s.k, 1000, s.lease('t1'));
    expect(r.jobs.map((j) => j.id)).toEqual([a]);
    expect(await s.raw.zrange(`${s.k.base}ga:send:a`, '0', '-1')).toEqual([a]);
    expect(await s.raw.hlen(`${s.k.base}gp:send`)).toBe(0);
  });
});

describe('a release that never ran', () => {
  it('does not wedge a parked key: the stall check drops its stale slot and unparks it', async () => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    const [a, b] = await s.addKeyed([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
    ]);
    const first = await moveToActive(s.raw, s.k, 1000, s.lease('t1'));
    expect(first.jobs.map((j) => j.id)).toEqual([a]);
    expect(await s.raw.hget(`${s.k.base}gp:send`, 'a')).toBe('send');
    // Job a vanishes by hand, its slot never given back.
    await s.raw.del(s.k.job(a!));
    await s.raw.zrem(s.k.active, a!);
    expect((await moveToActive(s.raw, s.k, 1000, s.lease('t2'))).jobs).toEqual(
      [],
    );
    await recoverStalled(s.raw, s.k, 1000, 5, 1);
    expect(await s.raw.hget(`${s.k.base}gp:send`, 'a')).toBeNull();
    const next = await moveToActive(s.raw, s.k, 1000, s.lease('t3'));
    expect(next.jobs.map((j) => j.id)).toEqual([b]);
  });
});

describe('a keyed job gives its slot back on every path that ends or re-queues it', () => {
  type Ctx = ReturnType<typeof setup>;
  type Held = { id: string; token: string };
  const paths: [string, (s: Ctx, held: Held) => Promise<unknown>][] = [
    [
      'complete',
      (s, h) =>
        complete(
          s.raw,
          s.k,
          1000,
          [{ ...h, result: '', keep: [-1, 0] }],
          s.lease('c', 0),
          [],
        ),
    ],
    [
      'complete, removed at once',
      (s, h) =>
        complete(
          s.raw,
          s.k,
          1000,
          [{ ...h, result: '', keep: [0, 0] }],
          s.lease('c', 0),
          [],
        ),
    ],
    [
      'fail for good',
      (s, h) =>
        fail(s.raw, s.k, 1000, h, {
          error: '{}',
          retryDelayMs: -1,
          keep: [-1, 0],
        }),
    ],
    [
      'fail, retry now',
      (s, h) =>
        fail(s.raw, s.k, 1000, h, {
          error: '{}',
          retryDelayMs: 0,
          keep: [-1, 0],
        }),
    ],
    [
      'fail, retry later',
      (s, h) =>
        fail(s.raw, s.k, 1000, h, {
          error: '{}',
          retryDelayMs: 60_000,
          keep: [-1, 0],
        }),
    ],
    ['release', (s, h) => release(s.raw, s.k, 1000, h)],
    ['deferNewer', (s, h) => deferNewer(s.raw, s.k, 1000, h, 60_000, 1)],
    [
      'cancel of the active job',
      async (s, h) => {
        expect(await cancelJob(s.raw, s.k, 1000, h.id, 'stop')).toBe(
          'requested',
        );
        const r = await complete(
          s.raw,
          s.k,
          1000,
          [{ ...h, result: '', keep: [-1, 0] }],
          s.lease('c', 0),
          [],
        );
        expect(r.codes).toEqual([3]);
      },
    ],
  ];
  it.each(paths)('%s', async (_name, end) => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    const [a, b] = await s.addKeyed([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
    ]);
    const first = await moveToActive(s.raw, s.k, 1000, s.lease('t1'));
    // One job of the key, the other held back: the key is parked.
    expect(first.jobs.map((j) => j.id)).toEqual([a]);
    expect(await s.raw.hget(`${s.k.base}gp:send`, 'a')).toBe('send');
    expect(await s.raw.zrange(`${s.k.base}ga:send:a`, '0', '-1')).toEqual([a]);
    expect((await moveToActive(s.raw, s.k, 1000, s.lease('t2'))).jobs).toEqual(
      [],
    );
    await s.raw.del(s.k.marker('send'));
    await end(s, { id: a!, token: first.jobs[0]!.token });
    expect(await s.raw.zcard(`${s.k.base}ga:send:a`)).toBe(0);
    expect(await s.raw.hget(`${s.k.base}gp:send`, 'a')).toBeNull();
    expect(await s.raw.zscore(`${s.k.base}gr:send`, 'a')).not.toBeNull();
    // A blocked worker is woken to take the key's next job.
    expect(await s.raw.exists(s.k.marker('send'))).toBe(1);
    const next = await moveToActive(s.raw, s.k, 1000, s.lease('t3'));
    expect(next.jobs).toHaveLength(1);
    expect([a, b]).toContain(next.jobs[0]!.id);
  });

  it('stall recovery: a worker that dies holding a slot gives it back within lease + check interval', async () => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    const [a, b] = await s.addKeyed([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
    ]);
    // The dead worker: it leased job a for 300 ms and never came back.
    const dead = await moveToActive(s.raw, s.k, 1000, s.lease('dead', 10, 300));
    expect(dead.jobs.map((j) => j.id)).toEqual([a]);
    const leasedAt = dead.nowMs;
    const ran: string[] = [];
    s.worker((p) => void ran.push(`${p.k}${p.n}`), {
      stallCheckIntervalMs: 100,
    });
    await waitFor(() => ran.length === 2, 5000, 'both jobs of the key');
    expect(ran).toEqual(['a2', 'a1']);
    const [startB] = await startTimes(s.raw, s.k, [b!]);
    // Not before the dead lease ran out, and within one check interval
    // (plus the lease call) of it.
    expect(startB!).toBeGreaterThanOrEqual(leasedAt + 300);
    expect(startB! - (leasedAt + 300)).toBeLessThan(100 + 400);
    const report = await recoverStalled(s.raw, s.k, 1000, 5, 1);
    expect(report?.requeued ?? 0).toBe(0);
  });

  it('cancel of an active keyed job frees its slot for the next job of the key', async () => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    const [a] = await s.addKeyed([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
    ]);
    const ran: number[] = [];
    s.worker(
      (p, signal) => {
        ran.push(p.n);
        if (p.n !== 1) return;
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () =>
            reject(signal.reason as Error),
          ),
        );
      },
      { leaseMs: 600, concurrency: 5 },
    );
    await waitFor(() => ran.length === 1, 5000, 'job 1 to start');
    await sleep(300);
    // Held back by the key's limit while job 1 runs.
    expect(ran).toEqual([1]);
    await s.producer.cancel(a!);
    await waitFor(() => ran.length === 2, 5000, 'job 2 after the cancel');
    expect(ran).toEqual([1, 2]);
    await waitFor(
      async () => (await s.producer.getJobs('cancelled')).length === 1,
      3000,
      'job 1 cancelled',
    );
  });
});

describe('jobs of a keyed type stored without a key', () => {
  it('still run (an older producer, or jobs from before the type had a key)', async () => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    await s.addKeyed([{ k: 'a', n: 1 }]);
    // Stored by a producer whose contract has no key yet: in w:send, with
    // no F.flowKey and in no group.
    const older = createQueue(
      defineJobs({ send: job({ queue: s.k.queue, payload }) }),
      { connection: redis.url },
    );
    open.push(older);
    const plain = await older.enqueue('send', { k: 'a', n: 2 });
    expect(await s.raw.hget(s.k.job(plain.id), JobField.flowKey)).toBeNull();
    const ran: number[] = [];
    s.worker((p) => void ran.push(p.n));
    await waitFor(() => ran.length === 2, 5000, 'both jobs');
    expect(ran.sort()).toEqual([1, 2]);
  });
});

describe('waiting keyed jobs leave their group when removed', () => {
  it('remove, cancel and drain take the job out of its group', async () => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    const [a, b, c] = await s.addKeyed([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
      { k: 'a', n: 3 },
    ]);
    const group = `${s.k.base}g:send:a`;
    expect(await s.raw.zrange(group, '0', '-1')).toEqual([a, b, c]);
    await s.producer.remove(a!);
    expect(await s.raw.zrange(group, '0', '-1')).toEqual([b, c]);
    await s.producer.cancel(b!);
    expect(await s.raw.zrange(group, '0', '-1')).toEqual([c]);
    await s.producer.drain();
    expect(await s.raw.exists(group)).toBe(0);
    // The ring's key is dropped by the next lease that meets it.
    expect((await moveToActive(s.raw, s.k, 1000, s.lease('t'))).jobs).toEqual(
      [],
    );
    expect(await s.raw.exists(`${s.k.base}gr:send`)).toBe(0);
  });
});

describe('repeat occurrences of a keyed type', () => {
  it('carry their group key and wait in its group, so the per-key limit holds for them', async () => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    const [first] = await s.addKeyed([{ k: 'a', n: 1 }]);
    const occ = await s.producer.repeat(
      'send',
      { k: 'a', n: 2 },
      { key: 'r1', everyMs: 3_600_000 },
    );
    expect(await s.raw.hget(s.k.job(occ.id), JobField.flowKey)).toBe('a');
    // The first job takes key a's only slot; then the occurrence is due.
    const taken = await moveToActive(s.raw, s.k, 1000, s.lease('t1'));
    expect(taken.jobs.map((j) => j.id)).toEqual([first]);
    await s.producer.promote(occ.id);
    expect(await s.raw.zrange(`${s.k.base}g:send:a`, '0', '-1')).toEqual([
      occ.id,
    ]);
    // Key a is at its limit: the occurrence waits (a keyless one would run).
    const next = await moveToActive(s.raw, s.k, 1000, s.lease('t2'));
    expect(next.jobs).toEqual([]);
    expect(await s.raw.zrange(`${s.k.base}w:send`, '0', '-1')).toEqual([
      occ.id,
    ]);
  });
});

describe('a key rule removed while keyed jobs wait', () => {
  it('a worker without the rule runs them from w:<lane> and takes them out of their group', async () => {
    const s = setup({ concurrency: { limit: 1, key: byK } });
    const ids = await s.addKeyed([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
    ]);
    const group = `${s.k.base}g:send:a`;
    expect(await s.raw.zcard(group)).toBe(2);
    // A worker whose definition of send has no rules reads the lane unkeyed.
    const unkeyed: LeaseRequest = { ...s.lease('t'), flow: new Map() };
    const r = await moveToActive(s.raw, s.k, 1000, unkeyed);
    expect(r.jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(await s.raw.exists(group)).toBe(0);
    // The ring's key is dropped by the next keyed lease that meets it.
    expect((await moveToActive(s.raw, s.k, 1000, s.lease('u'))).jobs).toEqual(
      [],
    );
    expect(await s.raw.exists(`${s.k.base}gr:send`)).toBe(0);
  });
});

describe('per-key rate limit', () => {
  it('holds a key over its limit in gd: and says when it frees; other keys go on', async () => {
    const s = setup({ rateLimit: { limit: 2, perMs: 400, key: byK } });
    await s.addKeyed([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
      { k: 'a', n: 3 },
      { k: 'b', n: 1 },
    ]);
    const first = await moveToActive(s.raw, s.k, 1000, s.lease('t1'));
    expect(first.jobs.map((j) => JSON.parse(j.data) as Payload)).toEqual([
      { k: 'a', n: 1 },
      { k: 'b', n: 1 },
      { k: 'a', n: 2 },
    ]);
    // a's third job waits for its window: the reply says when.
    expect(first.nextDueMs).toBe(first.nowMs + 400);
    expect(await s.raw.zscore(`${s.k.base}gd:send`, 'a')).toBe(
      String(first.nowMs + 400),
    );
    // Not re-armed: a worker would wake for nothing.
    await s.raw.del(s.k.marker('send'));
    const second = await moveToActive(s.raw, s.k, 1000, s.lease('t2'));
    expect(second.jobs).toEqual([]);
    expect(await s.raw.exists(s.k.marker('send'))).toBe(0);
    await sleep(Math.max(0, first.nowMs + 410 - second.nowMs));
    const third = await moveToActive(s.raw, s.k, 1000, s.lease('t3'));
    expect(third.jobs.map((j) => JSON.parse(j.data) as Payload)).toEqual([
      { k: 'a', n: 3 },
    ]);
  });
});

describe('a key held by a per-key rate limit a later deploy removed', () => {
  it('comes back once its window frees: the lease promotes gd: keys of every keyed lane', async () => {
    const s = setup({
      concurrency: { limit: 5, key: byK },
      rateLimit: { limit: 1, perMs: 300, key: byK },
    });
    await s.addKeyed([
      { k: 'a', n: 1 },
      { k: 'a', n: 2 },
    ]);
    const first = await moveToActive(s.raw, s.k, 1000, s.lease('t1'));
    expect(first.jobs).toHaveLength(1);
    expect(await s.raw.zscore(`${s.k.base}gd:send`, 'a')).not.toBeNull();
    // The next workers keep the key but drop its rate limit.
    const withoutRate = {
      ...s.lease('t2'),
      flow: new Map([
        [
          'send',
          getDefinition(
            defineJobs({
              send: job({
                queue: s.k.queue,
                payload,
                concurrency: { limit: 5, key: byK },
              }),
            }),
            'send',
          ).flow,
        ],
      ]),
    };
    await sleep(350);
    const second = await moveToActive(s.raw, s.k, 1000, withoutRate);
    expect(second.jobs.map((j) => JSON.parse(j.data) as Payload)).toEqual([
      { k: 'a', n: 2 },
    ]);
  });
});

describe('workers record their flow rules', () => {
  it('writes the type rules into the flow hash at start', async () => {
    const s = setup({
      rateLimit: { limit: 5, perMs: 1000 },
      concurrency: { limit: 3, key: byK },
    });
    s.worker(() => undefined);
    await waitFor(
      async () => (await s.raw.hget(`${s.k.base}flow`, 'send')) !== null,
      5000,
      'the flow hash',
    );
    expect(JSON.parse((await s.raw.hget(`${s.k.base}flow`, 'send'))!)).toEqual({
      rateLimit: { limit: 5, perMs: 1000, keyed: false },
      concurrency: { limit: 3 },
    });
  });
});

describe('cost', () => {
  it('Redis calls per leased job, with and without limits', async () => {
    const N = 20;
    const cases: [string, FlowOptions<Payload>][] = [
      ['no limit', {}],
      ['type-wide rate limit', { rateLimit: { limit: 1000, perMs: 1000 } }],
      ['keyed concurrency', { concurrency: { limit: 5, key: byK } }],
      ['keyed rate limit', { rateLimit: { limit: 5, perMs: 1000, key: byK } }],
    ];
    const perJob: Record<string, number> = {};
    const completed: Record<string, number> = {};
    const commands = (calls: Record<string, number>) =>
      Object.entries(calls)
        .filter(([c]) => !['config', 'info', 'evalsha', 'eval'].includes(c))
        .reduce((sum, [, n]) => sum + n, 0);
    for (const [name, flow] of cases) {
      const s = setup(flow);
      const items = Array.from({ length: N }, (_, n) => ({
        k: `k${n % 10}`,
        n,
      }));
      if (flow.concurrency || flow.rateLimit?.key) await s.addKeyed(items);
      else for (const p of items) await s.producer.enqueue('send', p);
      let leased: { id: string; token: string }[] = [];
      const calls = await callsDuring(s.raw, async () => {
        const r = await moveToActive(s.raw, s.k, 1000, s.lease('t', N));
        expect(r.jobs).toHaveLength(N);
        leased = r.jobs;
      });
      perJob[name] = commands(calls) / N;
      const done = await callsDuring(s.raw, () =>
        complete(
          s.raw,
          s.k,
          1000,
          leased.map((j) => ({
            id: j.id,
            token: j.token,
            result: '',
            keep: [-1, 0] as const,
          })),
          s.lease('c', 0),
          [],
        ),
      );
      completed[name] = commands(done) / N;
    }
    console.log('redis.calls per leased job (20 jobs, one call):', perJob);
    console.log(
      'redis.calls per completed job (20 jobs, one call):',
      completed,
    );
    // Limits cost a few calls per job, never a scan.
    expect(perJob['type-wide rate limit']! - perJob['no limit']!).toBeLessThan(
      0.5,
    );
    expect(perJob['keyed concurrency']! - perJob['no limit']!).toBeLessThan(8);
    expect(perJob['keyed rate limit']! - perJob['no limit']!).toBeLessThan(10);
  });
});

describe('several worker processes', () => {
  /** A queue of the worker processes' `task` type, keyed by `k`, at most `limit` per key. */
  async function taskQueue(limit: number) {
    const queue = uniqueQueue('flowproc');
    const reg = taskRegistry(queue, limit);
    const producer = createQueue(reg, { connection: redis.url });
    open.push(producer);
    const raw = new Redis(redis.url);
    raws.push(raw);
    const k = queueKeys('jobwire', queue);
    const add = async (
      items: { n: number; k: string; ms?: number; kill?: boolean }[],
    ) => {
      for (const p of items) {
        const { id } = await producer.enqueue('task', p, {
          delayMs: 3_600_000,
        });
        await raw.hset(k.job(id), JobField.flowKey, p.k);
        await producer.promote(id);
      }
    };
    /** When the job of payload `n` was last leased, ms on the Redis clock. */
    const leasedAt = async (n: number): Promise<number> => {
      for (const key of await raw.keys(`jobwire:{${queue}}:j:*`)) {
        const [data, started] = await Promise.all([
          raw.get(key.replace(':j:', ':p:')),
          raw.hget(key, JobField.startedAt),
        ]);
        if (data !== null && (JSON.parse(data) as { n: number }).n === n)
          return Number(started);
      }
      throw new Error(`no job with n = ${n}`);
    };
    return { queue, add, leasedAt };
  }

  it('three processes never run more than `limit` jobs of a key at once (ledger intervals)', async () => {
    const t = await taskQueue(2);
    const ledger = processes.ledgerDir() + '/ledger';
    const children = [0, 1, 2].map(() =>
      // Long leases: on a loaded machine a lapsed lease would re-queue a
      // running job (as it should), which is not what this test measures.
      processes.start({
        queue: t.queue,
        ledger,
        concurrency: 3,
        keyLimit: 2,
        leaseMs: 10_000,
        stallCheckIntervalMs: 5000,
      }),
    );
    await Promise.all(children.map((c) => c.ready));
    // One key: any one process alone would run 3 at once without the limit.
    const items = [];
    for (let n = 0; n < 20; n++) items.push({ n, k: 'k0', ms: 60 });
    await t.add(items);
    await waitFor(
      () => readLedger(ledger).filter((e) => e.ev === 'end').length === 20,
      3 * PROCESS_START_MS,
      'all 20 jobs',
    );
    // The most jobs running at once: +1 at a start, -1 at an end (an end
    // before a start at the same ms: the slot was free).
    const edges = readLedger(ledger)
      .filter((e) => e.ev === 'start' || e.ev === 'end')
      .map((e) => [e.t, e.ev === 'start' ? 1 : -1] as const)
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let now = 0;
    let max = 0;
    for (const [, d] of edges) max = Math.max(max, (now += d));
    expect(max).toBe(2);
  });

  it('a worker killed holding a slot gives it back within lease + stall check interval', async () => {
    const t = await taskQueue(1);
    const ledger = processes.ledgerDir() + '/ledger';
    const leaseMs = 1000;
    const checkMs = 300;
    // Both workers enforce the key's limit of 1: without it they hold no
    // slot, and the second job would start as soon as b was up.
    const a = processes.start({
      queue: t.queue,
      ledger,
      behaviour: 'kill-on-flag',
      leaseMs,
      stallCheckIntervalMs: checkMs,
      keyLimit: 1,
    });
    await a.ready;
    await t.add([{ n: 1, k: 'a', kill: true }]);
    await a.exited;
    // The dead worker's lease ran from its lease call, which its handler's
    // start (the ledger) follows by however long a loaded machine takes.
    const killedLease = await t.leasedAt(1);
    await t.add([{ n: 2, k: 'a' }]);
    // Another worker, which ignores the kill flag.
    const b = processes.start({
      queue: t.queue,
      ledger,
      leaseMs,
      stallCheckIntervalMs: checkMs,
      maxStalls: 5,
      keyLimit: 1,
    });
    await b.ready;
    const readyAt = Date.now();
    await waitFor(
      () => readLedger(ledger).filter((e) => e.ev === 'end').length === 2,
      3 * PROCESS_START_MS,
      'both jobs of the key',
    );
    const starts = readLedger(ledger).filter(
      (e) => e.ev === 'start' && e.pid === b.pid,
    );
    const second = starts.find((e) => e.n === 2)!;
    // Held back while the dead worker's lease lasted, then given back by
    // b's stall check: within one interval of the later of the lease's end
    // and b's start (plus a lease call).
    expect(second.t).toBeGreaterThanOrEqual(killedLease + leaseMs - 50);
    expect(second.t - Math.max(killedLease + leaseMs, readyAt)).toBeLessThan(
      checkMs + 500,
    );
  });
});
