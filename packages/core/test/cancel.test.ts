/**
 * Cancellation (issue 16): a waiting or delayed job ends as cancelled at
 * once; an active job's handler sees its signal abort within one lease
 * renewal interval, and the job ends as cancelled, never retried, also
 * when its worker dies holding it. Every test ends with the structural
 * invariant check (one state structure per job, counts match them).
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CancelledError,
  createQueue,
  createQueueEvents,
  createTestQueue,
  createWorker,
  defineJobs,
  job,
  type Handler,
  type QueueEvent,
  type Worker,
} from '../src/index.ts';
import { checkInvariants } from './faults/harness/invariants.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { PROCESS_START_MS, sleep, waitFor } from './helpers/wait.ts';
import { useWorkerProcesses } from './helpers/worker-processes.ts';
import { readLedger, taskRegistry } from './processes/worker-process.ts';

const redis = useRedis();
const processes = useWorkerProcesses(redis);

const open: { close(): Promise<unknown> }[] = [];
function track<T extends { close(): Promise<unknown> }>(x: T): T {
  open.push(x);
  return x;
}

beforeEach(async () => {
  // The invariant check reads every key of the server: one queue at a time.
  const r = new Redis(redis.url);
  await r.flushall();
  r.disconnect();
});

afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

function registry(queue: string) {
  return defineJobs({
    work: job({
      queue,
      payload: z.object({ n: z.number() }),
      result: z.object({ n: z.number() }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 10 },
    }),
  });
}

type Jobs = ReturnType<typeof registry>['jobs'];

function events(queue: string): QueueEvent[] {
  const seen: QueueEvent[] = [];
  const ev = track(
    createQueueEvents({ connection: redis.url, queue, from: '0' }),
  );
  ev.on('event', (e) => seen.push(e));
  return seen;
}

async function invariants(queue: string): Promise<void> {
  expect(await checkInvariants(redis.url, 'jobwire', queue)).toEqual([]);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('cancel: waiting and delayed jobs', () => {
  it('ends a waiting job as cancelled at once, and no worker runs it', async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const queue = track(createQueue(reg, { connection: redis.url }));
    const seen = events(q);
    const h = await queue.enqueue('work', { n: 1 });
    const other = await queue.enqueue('work', { n: 2 });

    expect(await queue.cancel(h.id, { reason: 'not needed' })).toBe(
      'cancelled',
    );

    const info = await queue.getJob(h.id);
    expect(info?.state).toBe('cancelled');
    expect(info?.cancelReason).toBe('not needed');
    expect(info?.finishedAt).toBeGreaterThan(0);
    const err = await rejection(h.finished({ timeoutMs: 5000 }));
    expect(err).toBeInstanceOf(CancelledError);
    expect(err).toMatchObject({ code: 'CANCELLED', reason: 'not needed' });
    const counts = await queue.getCounts();
    expect(counts).toMatchObject({ waiting: 1, cancelled: 1 });
    expect(counts.byType.work).toMatchObject({ waiting: 1, cancelled: 1 });
    expect((await queue.getJobs('cancelled')).map((j) => j.id)).toEqual([h.id]);
    await waitFor(
      () => seen.some((e) => e.event === 'cancelled'),
      5000,
      'the cancelled event',
    );
    expect(seen.find((e) => e.event === 'cancelled')).toMatchObject({
      jobId: h.id,
      name: 'work',
      reason: 'not needed',
      from: 'waiting',
    });

    const ran: number[] = [];
    const worker = track(
      createWorker(
        reg,
        { work: (j) => (ran.push(j.data.n), { n: j.data.n }) },
        { connection: redis.url },
      ),
    );
    await other.finished({ timeoutMs: 10_000 });
    await worker.close();
    expect(ran).toEqual([2]);
    await invariants(q);
  });

  it('ends a delayed job as cancelled at once', async () => {
    const q = uniqueQueue();
    const queue = track(createQueue(registry(q), { connection: redis.url }));
    const h = await queue.enqueue('work', { n: 1 }, { delayMs: 60_000 });
    expect(await h.cancel()).toBe('cancelled');
    const info = await queue.getJob(h.id);
    expect(info?.state).toBe('cancelled');
    expect(info?.dueAt).toBeUndefined();
    expect(info?.cancelReason).toBeUndefined();
    expect(await queue.getCounts()).toMatchObject({
      delayed: 0,
      cancelled: 1,
    });
    const err = await rejection(h.finished({ timeoutMs: 5000 }));
    expect(err).toMatchObject({ code: 'CANCELLED', reason: undefined });
    await invariants(q);
  });

  it('cancels waiting jobs of contract versions 1 and 2, whichever wait set holds them', async () => {
    // Version 2 jobs wait in their own lane (`w:<type>@2`) once version
    // lanes exist, and in `w:<type>` when a producer before lanes stored
    // them: cancel finds them in either.
    const q = uniqueQueue();
    const one = defineJobs({
      send: job({ queue: q, payload: z.object({ to: z.string() }) }),
    });
    const two = defineJobs({
      send: job({
        queue: q,
        version: 2,
        payload: z.object({ to: z.array(z.string()) }),
        upcast: {
          1: {
            from: z.object({ to: z.string() }),
            to: (o) => ({ to: [o.to] }),
          },
        },
      }),
    });
    const p1 = track(createQueue(one, { connection: redis.url }));
    const p2 = track(createQueue(two, { connection: redis.url }));
    const old = await p1.enqueue('send', { to: 'a' });
    const fresh = await p2.enqueue('send', { to: ['b'] });
    const admin = new Redis(redis.url);
    try {
      // Into its lane, as a producer with version lanes stores it (a no-op
      // where the producer already did).
      const base = `jobwire:{${q}}:`;
      const score = await admin.zscore(`${base}w:send`, fresh.id);
      if (score !== null) {
        await admin.zrem(`${base}w:send`, fresh.id);
        await admin.zadd(`${base}w:send@2`, score, fresh.id);
      }
      expect(await p2.cancel(old.id)).toBe('cancelled');
      expect(await p2.cancel(fresh.id)).toBe('cancelled');
      const waits = await admin.keys(`jobwire:{${q}}:w:*`);
      for (const key of waits)
        expect(await admin.zrange(key, '0', '-1')).toEqual([]);
    } finally {
      admin.disconnect();
    }
    expect((await p2.getCounts()).byType.send).toMatchObject({
      waiting: 0,
      cancelled: 2,
    });
    await invariants(q);
  });

  it('refuses a finished or missing job, and cancels once', async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const queue = track(createQueue(reg, { connection: redis.url }));
    const done = await queue.enqueue('work', { n: 1 });
    const worker = track(
      createWorker(
        reg,
        { work: (j) => ({ n: j.data.n }) },
        {
          connection: redis.url,
        },
      ),
    );
    await done.finished({ timeoutMs: 10_000 });
    await worker.close();
    await expect(queue.cancel(done.id)).rejects.toMatchObject({
      code: 'JOB_NOT_IN_STATE',
      message: expect.stringContaining('is completed') as unknown,
    });
    expect((await queue.getJob(done.id))?.state).toBe('completed');

    const h = await queue.enqueue('work', { n: 2 });
    expect(await queue.cancel(h.id)).toBe('cancelled');
    await expect(queue.cancel(h.id)).rejects.toMatchObject({
      code: 'JOB_NOT_IN_STATE',
      message: expect.stringContaining('is cancelled') as unknown,
    });
    await expect(queue.cancel('no-such-job')).rejects.toMatchObject({
      code: 'JOB_NOT_FOUND',
    });
    await expect(
      queue.cancel(h.id, { reason: 'x'.repeat(1001) }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(await queue.getCounts()).toMatchObject({
      completed: 1,
      cancelled: 1,
    });
    await invariants(q);
  });

  it('keeps cancelled jobs by the failed-job rule; remove and clean take them', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      none: job({
        queue: q,
        payload: z.object({}),
        retention: { failed: false },
      }),
      two: job({
        queue: q,
        payload: z.object({}),
        retention: { failed: { count: 2 } },
      }),
    });
    const queue = track(createQueue(reg, { connection: redis.url }));
    const gone = await queue.enqueue('none', {});
    expect(await queue.cancel(gone.id)).toBe('cancelled');
    expect(await queue.getJob(gone.id)).toBeUndefined();
    // Its outcome is still told, from the event log.
    await expect(gone.finished({ timeoutMs: 5000 })).rejects.toBeInstanceOf(
      CancelledError,
    );

    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const h = await queue.enqueue('two', {});
      await queue.cancel(h.id);
      ids.push(h.id);
    }
    const kept = (await queue.getJobs('cancelled')).map((j) => j.id).sort();
    expect(kept).toEqual(ids.slice(2).sort());
    await queue.remove(ids[2]!);
    expect(await queue.clean('cancelled', 0)).toEqual([ids[3]]);
    expect((await queue.getCounts()).cancelled).toBe(0);
    await invariants(q);
  });
});

describe('cancel: active jobs', () => {
  // Renewal every third of the lease: 2 s. A cancel seen only when the
  // lease ran out (6 s) fails the bound below.
  const LEASE_MS = 6000;
  const RENEW_MS = LEASE_MS / 3;
  const SLACK_MS = 2500;

  function startWorker(
    reg: ReturnType<typeof registry>,
    handler: Handler<Jobs, 'work'>,
  ): { worker: Worker<Jobs>; cancelled: string[] } {
    const cancelled: string[] = [];
    const worker = track(
      createWorker(
        reg,
        { work: handler },
        {
          connection: redis.url,
          leaseMs: LEASE_MS,
          stallCheckIntervalMs: 500,
          blockTimeoutMs: 1000,
        },
      ),
    );
    worker.on('cancelled', (info) => cancelled.push(info.id));
    return { worker, cancelled };
  }

  it("aborts the handler's signal within one renewal interval; the job ends cancelled, not retried", async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const queue = track(createQueue(reg, { connection: redis.url }));
    const seen = events(q);
    let started = false;
    let abortedAt = 0;
    let reason: unknown;
    let runs = 0;
    const { cancelled } = startWorker(reg, async (j) => {
      runs++;
      started = true;
      await new Promise<void>((resolve) => {
        j.signal.addEventListener('abort', () => {
          abortedAt = performance.now();
          reason = j.signal.reason;
          resolve();
        });
      });
      throw j.signal.reason;
    });
    const h = await queue.enqueue('work', { n: 1 });
    await waitFor(() => started, 10_000, 'the handler to start');

    const cancelAt = performance.now();
    expect(await queue.cancel(h.id, { reason: 'user asked' })).toBe(
      'requested',
    );
    const during = await queue.getJob(h.id);
    expect(during?.state).toBe('active');
    expect(during?.cancelRequestedAt).toBeGreaterThan(0);
    // A second cancel while it winds down says the same.
    expect(await queue.cancel(h.id)).toBe('requested');

    const err = await rejection(h.finished({ timeoutMs: 20_000 }));
    expect(err).toBeInstanceOf(CancelledError);
    expect(err).toMatchObject({ reason: 'user asked' });
    expect(abortedAt).toBeGreaterThan(0);
    expect(abortedAt - cancelAt).toBeLessThan(RENEW_MS + SLACK_MS);
    expect(reason).toBeInstanceOf(CancelledError);
    expect(reason).toMatchObject({
      code: 'CANCELLED',
      jobId: h.id,
      reason: 'user asked',
    });

    const info = await queue.getJob(h.id);
    expect(info).toMatchObject({
      state: 'cancelled',
      attemptsMade: 0,
      deliveries: 1,
      errors: [],
      cancelReason: 'user asked',
    });
    await waitFor(() => cancelled.length === 1, 5000, 'the worker event');
    expect(cancelled).toEqual([h.id]);
    // Attempts were left (3), yet nothing retries: give a retry its time.
    await sleep(500);
    expect(runs).toBe(1);
    expect((await queue.getJob(h.id))?.state).toBe('cancelled');
    expect(seen.map((e) => e.event)).not.toContain('retrying');
    expect(seen.find((e) => e.event === 'cancelled')).toMatchObject({
      jobId: h.id,
      from: 'active',
      reason: 'user asked',
    });
    expect(await queue.getCounts()).toMatchObject({
      active: 0,
      failed: 0,
      cancelled: 1,
    });
    await invariants(q);
  });

  it('ends the job cancelled even when the handler ignores the signal and returns', async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const queue = track(createQueue(reg, { connection: redis.url }));
    let started = false;
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const { worker } = startWorker(reg, async (j) => {
      started = true;
      await gate;
      return { n: j.data.n };
    });
    const h = await queue.enqueue('work', { n: 1 });
    await waitFor(() => started, 10_000, 'the handler to start');
    expect(await queue.cancel(h.id)).toBe('requested');
    await expect(h.finished({ timeoutMs: 20_000 })).rejects.toBeInstanceOf(
      CancelledError,
    );
    release();
    await worker.close();
    expect(await queue.getJob(h.id)).toMatchObject({
      state: 'cancelled',
      attemptsMade: 0,
    });
    expect((await queue.getJob(h.id))?.result).toBeUndefined();
    await invariants(q);
  });

  it('a cancel requested before the result is written wins over it', async () => {
    // The lease renewal is far off: the completion itself finds the cancel.
    const q = uniqueQueue();
    const reg = registry(q);
    const queue = track(createQueue(reg, { connection: redis.url }));
    startWorker(reg, async (j) => {
      await queue.cancel(j.id);
      return { n: j.data.n };
    });
    const h = await queue.enqueue('work', { n: 1 });
    await expect(
      queue.waitForResult('work', h.id, { timeoutMs: 20_000 }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(await queue.getJob(h.id)).toMatchObject({
      state: 'cancelled',
      attemptsMade: 0,
    });
    await invariants(q);
  });

  it('a prefetched job whose cancel was requested is handed back cancelled, its handler never run', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      tick: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = track(createQueue(reg, { connection: redis.url }));
    await queue.enqueueBulk(
      Array.from({ length: 30 }, (_, n) => ({
        name: 'tick' as const,
        payload: { n },
      })),
    );
    const ran = new Set<string>();
    let release: (() => void) | undefined;
    const worker = track(
      createWorker(
        reg,
        {
          // Fast at first (so the worker prefetches), then one hangs.
          tick: async (j) => {
            ran.add(j.id);
            if (j.data.n === 10) await new Promise<void>((r) => (release = r));
          },
        },
        { connection: redis.url, leaseMs: 600, concurrency: 1 },
      ),
    );
    await waitFor(() => release !== undefined, 10_000, 'the slow handler');
    const admin = new Redis(redis.url);
    let parked: string[];
    try {
      parked = (await admin.zrange(`jobwire:{${q}}:active`, '0', '-1')).filter(
        (id) => !ran.has(id),
      );
    } finally {
      admin.disconnect();
    }
    // Leased (state active) but not started: cancel asks its worker.
    const target = parked[0];
    if (target === undefined) throw new Error('nothing was prefetched');
    expect(await queue.cancel(target)).toBe('requested');
    await waitFor(
      async () => (await queue.getJob(target))?.state === 'cancelled',
      10_000,
      'the prefetched job to end cancelled',
    );
    release!();
    await worker.close();
    expect(ran.has(target)).toBe(false);
    expect(await queue.getJob(target)).toMatchObject({ attemptsMade: 0 });
    await invariants(q);
  });

  it('a shutdown that hands back a cancel-requested job ends it cancelled, not waiting', async () => {
    const q = uniqueQueue();
    const reg = registry(q);
    const queue = track(createQueue(reg, { connection: redis.url }));
    const seen = events(q);
    let started = false;
    // Ignores its signal: only the shutdown deadline's hand-back ends the run.
    const { worker, cancelled } = startWorker(reg, async (j) => {
      started = true;
      await sleep(3000);
      return { n: j.data.n };
    });
    const h = await queue.enqueue('work', { n: 1 });
    await waitFor(() => started, 10_000, 'the handler to start');
    expect(await queue.cancel(h.id)).toBe('requested');
    await worker.close({ deadlineMs: 50 });
    expect(await queue.getJob(h.id)).toMatchObject({
      state: 'cancelled',
      attemptsMade: 0,
    });
    expect(cancelled).toEqual([h.id]);
    await waitFor(
      () => seen.some((e) => e.event === 'cancelled'),
      5000,
      'the cancelled event',
    );
    // Enqueued, leased, cancelled: never back to waiting.
    expect(seen.map((e) => e.event)).toEqual([
      'waiting',
      'active',
      'cancelled',
    ]);
    await invariants(q);
  });

  it('a worker killed holding a cancelled job: stall recovery ends it cancelled, not re-run', async () => {
    const q = uniqueQueue();
    const reg = taskRegistry(q);
    const queue = track(createQueue(reg, { connection: redis.url }));
    const seen = events(q);
    const dir = processes.ledgerDir();
    const ledger = `${dir}/ledger.jsonl`;
    const child = processes.start({
      queue: q,
      ledger,
      leaseMs: 2000,
      maxStalls: 5,
    });
    await child.ready;
    const h = await queue.enqueue('task', { n: 1, ms: 120_000 });
    await waitFor(
      () => readLedger(ledger).some((e) => e.ev === 'start'),
      PROCESS_START_MS,
      'the child to start the job',
    );
    // Frozen first, so no renewal reaches it between the cancel and the kill.
    process.kill(child.pid, 'SIGSTOP');
    expect(await queue.cancel(h.id, { reason: 'stop' })).toBe('requested');
    await child.kill9();

    const ran: number[] = [];
    const rescuer = track(
      createWorker(
        reg,
        { task: (j) => (ran.push(j.data.n), { n: j.data.n }) },
        { connection: redis.url, leaseMs: 2000, stallCheckIntervalMs: 200 },
      ),
    );
    await expect(h.finished({ timeoutMs: 30_000 })).rejects.toMatchObject({
      code: 'CANCELLED',
      reason: 'stop',
    });
    await rescuer.close();
    expect(ran).toEqual([]);
    expect(await queue.getJob(h.id)).toMatchObject({
      state: 'cancelled',
      attemptsMade: 0,
      stalls: 0,
    });
    const kinds = seen.filter((e) => e.jobId === h.id).map((e) => e.event);
    expect(kinds).not.toContain('stalled');
    expect(kinds.at(-1)).toBe('cancelled');
    await invariants(q);
  });
});

describe('cancel: the test queue', () => {
  it('cancels waiting and active jobs as a queue does', async () => {
    const q = uniqueQueue();
    let aborted: unknown;
    const tq = createTestQueue(registry(q), {
      handlers: {
        work: async (j) => {
          if (j.data.n === 2) {
            await tq.cancel(j.id, { reason: 'late' });
            aborted = j.signal.reason;
            throw j.signal.reason;
          }
          return { n: j.data.n };
        },
      },
    });
    const waiting = await tq.enqueue('work', { n: 1 });
    expect(await waiting.cancel({ reason: 'early' })).toBe('cancelled');
    const active = await tq.enqueue('work', { n: 2 });
    await tq.runAll();
    await expect(waiting.finished()).rejects.toMatchObject({
      code: 'CANCELLED',
      reason: 'early',
    });
    await expect(active.finished()).rejects.toMatchObject({
      code: 'CANCELLED',
      reason: 'late',
    });
    expect(aborted).toBeInstanceOf(CancelledError);
    expect(tq.jobs.map((j) => [j.state, j.attemptsMade])).toEqual([
      ['cancelled', 0],
      ['cancelled', 0],
    ]);
    await expect(tq.cancel(waiting.id)).rejects.toMatchObject({
      code: 'JOB_NOT_IN_STATE',
    });
  });
});
