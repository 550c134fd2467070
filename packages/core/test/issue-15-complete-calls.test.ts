/**
 * Issue 15: Redis work per job. A prefetched job whose start report rides
 * on the same complete call that ends it needs no separate HDEL of its
 * unstarted mark: a removed job's hash goes whole, and a kept job's mark
 * goes in the HDEL that drops its lease token. And a job removed on its
 * first delivery needs no TYPE check of the legacy log key `j:<id>:log`:
 * only an earlier lease could have written a log there. And a worker sends
 * no start report for a prefetched job whose completion is already queued:
 * the completion ends the mark, so a batch split in two (the first half
 * carrying the second half's start reports) costs no HDEL per job.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { JobField } from '../src/redis/job-fields.ts';
import {
  complete,
  moveToActive,
  release,
} from '../src/redis/transitions/lease.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const N = 8;

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

/**
 * Leases N prefetched (unstarted) jobs, then completes them all with their
 * start reports in the same call; returns the calls that complete ran.
 */
async function completeStarted(keep: readonly [number, number]) {
  const queue = uniqueQueue('calls');
  const contract = defineJobs({
    send: job({ queue, payload: z.object({ n: z.number() }) }),
  });
  const k = queueKeys('jobwire', queue);
  const raw = new Redis(redis.url);
  const producer = createQueue(contract, { connection: redis.url });
  try {
    for (let n = 0; n < N; n++) await producer.enqueue('send', { n });
    const leased = await moveToActive(raw, k, 1000, {
      leaseMs: 30_000,
      tokenPrefix: 't1',
      total: N,
      immediate: 0,
      quotas: [['send', N]],
    });
    expect(leased.jobs).toHaveLength(N);
    for (const j of leased.jobs)
      expect(await raw.hexists(k.job(j.id), JobField.unstarted)).toBe(1);
    const batch = leased.jobs.map((j) => ({
      id: j.id,
      token: j.token,
      result: '',
      keep,
    }));
    let codes: number[] = [];
    const calls = await callsDuring(raw, async () => {
      const reply = await complete(
        raw,
        k,
        1000,
        batch,
        {
          leaseMs: 30_000,
          tokenPrefix: 't2',
          total: 0,
          immediate: 0,
          quotas: [],
        },
        leased.jobs.map((j) => j.id),
      );
      codes = reply.codes;
    });
    expect(codes).toEqual(leased.jobs.map(() => 1));
    return { calls, ids: leased.jobs.map((j) => j.id), k, raw };
  } finally {
    await producer.close();
  }
}

describe('issue 15: calls per completed job', () => {
  it('a job removed on its first delivery costs no HDEL and no TYPE: 4.5 calls per job', async () => {
    const { calls, ids, k, raw } = await completeStarted([0, 0]);
    try {
      expect(calls.hdel).toBeUndefined();
      expect(calls.type).toBeUndefined();
      // Per job: HMGET, DEL, XADD; per call: TIME, ZREM, HINCRBY, XTRIM.
      const total = Object.entries(calls)
        .filter(([name]) => name !== 'eval' && name !== 'evalsha')
        .reduce((sum, [, n]) => sum + n, 0);
      expect(total).toBe(3 * N + 4);
      for (const id of ids) expect(await raw.exists(k.job(id))).toBe(0);
    } finally {
      await raw.quit();
    }
  });

  it('a kept job with its start report costs one HDEL (token and mark), and its mark is gone', async () => {
    const { calls, ids, k, raw } = await completeStarted([-1, 0]);
    try {
      expect(calls.hdel).toBe(N);
      for (const id of ids) {
        expect(
          await raw.hmget(
            k.job(id),
            JobField.unstarted,
            JobField.token,
            JobField.state,
          ),
        ).toEqual([null, null, 'c']);
      }
    } finally {
      await raw.quit();
    }
  });

  it('a job removed on a later delivery still loses its legacy log, and only a list is deleted', async () => {
    const queue = uniqueQueue('legacy');
    const contract = defineJobs({
      send: job({ queue, payload: z.object({ n: z.number() }) }),
    });
    const k = queueKeys('jobwire', queue);
    const raw = new Redis(redis.url);
    const producer = createQueue(contract, { connection: redis.url });
    const req = {
      leaseMs: 30_000,
      total: 1,
      immediate: 1,
      quotas: [['send', 1]] as const,
    };
    try {
      const { id } = await producer.enqueue('send', { n: 1 });
      const first = await moveToActive(raw, k, 1000, {
        ...req,
        tokenPrefix: 't1',
      });
      expect(first.jobs.map((j) => j.id)).toEqual([id]);
      // A release from before logs moved wrote this log, then gave the job back.
      await raw.rpush(k.legacyLog(id), 'old line');
      expect(await release(raw, k, 1000, first.jobs[0]!)).toBe(1);
      const second = await moveToActive(raw, k, 1000, {
        ...req,
        tokenPrefix: 't2',
      });
      expect(second.jobs.map((j) => j.id)).toEqual([id]);
      const calls = await callsDuring(raw, () =>
        complete(
          raw,
          k,
          1000,
          [{ id, token: second.jobs[0]!.token, result: '', keep: [0, 0] }],
          {
            leaseMs: 30_000,
            tokenPrefix: 't3',
            total: 0,
            immediate: 0,
            quotas: [],
          },
          [],
        ),
      );
      expect(calls.type).toBe(1);
      expect(await raw.exists(k.job(id))).toBe(0);
      expect(await raw.exists(k.legacyLog(id))).toBe(0);

      // The job whose hash sits at that name is never taken for a log.
      const { id: other } = await producer.enqueue(
        'send',
        { n: 3 },
        { jobId: 'user' },
      );
      await producer.enqueue('send', { n: 4 }, { jobId: 'user:log' });
      const a = await moveToActive(raw, k, 1000, {
        ...req,
        tokenPrefix: 't4',
        total: 3,
        quotas: [['send', 3]],
      });
      const held = a.jobs.find((j) => j.id === other)!;
      expect(await release(raw, k, 1000, held)).toBe(1);
      const b = await moveToActive(raw, k, 1000, { ...req, tokenPrefix: 't5' });
      expect(b.jobs.map((j) => j.id)).toEqual([other]);
      await complete(
        raw,
        k,
        1000,
        [{ id: other, token: b.jobs[0]!.token, result: '', keep: [0, 0] }],
        {
          leaseMs: 30_000,
          tokenPrefix: 't6',
          total: 0,
          immediate: 0,
          quotas: [],
        },
        [],
      );
      expect(await raw.exists(k.job(other))).toBe(0);
      expect(await raw.hget(k.job('user:log'), JobField.name)).toBe('send');
    } finally {
      await producer.close();
      await raw.quit();
    }
  });

  it('a worker whose prefetched jobs finish before their batch is written sends no HDEL', async () => {
    const queue = uniqueQueue('starts');
    const contract = defineJobs({
      send: job({
        queue,
        payload: z.object({ n: z.number() }),
        retention: { completed: false },
      }),
    });
    const raw = new Redis(redis.url);
    const producer = createQueue(contract, { connection: redis.url });
    const total = 600;
    let done = 0;
    const worker = createWorker(
      contract,
      { send: () => void done++ },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 10 },
    );
    try {
      await waitFor(() => worker.health().ready, 5000, 'worker ready');
      // Warm-up: handlers measured short switch prefetching on.
      await producer.enqueue('send', { n: -1 });
      await waitFor(() => done === 1, 5000, 'the warm-up job');
      const calls = await callsDuring(raw, async () => {
        await producer.enqueueBulk(
          Array.from({ length: total }, (_, n) => ({
            name: 'send' as const,
            payload: { n },
          })),
        );
        await waitFor(() => done === total + 1, 20_000, 'every job');
        // The last completion batch, written after the last handler.
        await waitFor(
          async () =>
            (await raw.exists(queueKeys('jobwire', queue).active)) === 0,
          5000,
          'the last completions',
        );
      });
      // Before, about one job in three had its start reported by the batch
      // before its completion's: an HDEL each (182 and 195 of 600 in two
      // runs).
      expect(calls.hdel).toBeUndefined();
    } finally {
      await worker.close();
      await producer.close();
      await raw.quit();
    }
  });
});
