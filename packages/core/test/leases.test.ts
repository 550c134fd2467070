import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  createWorker,
  defineJobs,
  job,
  LeaseLostError,
} from '../src/index.ts';
import type { QueueEvent, Worker, WorkerEvents } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import {
  fastWorkerSettings,
  PROCESS_START_MS,
  sleep,
  waitFor,
} from './helpers/wait.ts';
import {
  readLedger,
  spawnWorkerProcess,
  taskRegistry,
} from './processes/worker-process.ts';
import type {
  WorkerProcess,
  WorkerProcessConfig,
} from './processes/worker-process.ts';

const redis = useRedis();

const LEASE_MS = fastWorkerSettings.leaseMs;
const STALL_CHECK_MS = fastWorkerSettings.stallCheckIntervalMs;

function collectEvents(queue: string): {
  events: QueueEvent[];
  close: () => Promise<void>;
} {
  const events: QueueEvent[] = [];
  const ev = createQueueEvents({ connection: redis.url, queue, from: '0' });
  ev.on('event', (e) => events.push(e));
  return { events, close: () => ev.close() };
}

// Child processes and temp dirs of the current test, cleaned up after it.
const children: WorkerProcess[] = [];
const tempDirs: string[] = [];

function ledgerFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-ledger-'));
  tempDirs.push(dir);
  return path.join(dir, 'ledger.jsonl');
}

function startChild(config: Omit<WorkerProcessConfig, 'url'>): WorkerProcess {
  const wp = spawnWorkerProcess({
    url: redis.url,
    ...fastWorkerSettings,
    ...config,
  });
  children.push(wp);
  return wp;
}

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
  for (const d of tempDirs.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

describe('leases: crashed workers', () => {
  it('re-delivers the jobs of a SIGKILLed worker process to another worker', async () => {
    const q = uniqueQueue();
    const reg = taskRegistry(q);
    const ledger = ledgerFile();
    const queue = createQueue(reg, { connection: redis.url });
    const events = collectEvents(q);
    const redelivered = new Map<string, { at: number; attempt: number }>();
    let worker: Worker<typeof reg.jobs> | undefined;
    try {
      const a = startChild({ queue: q, ledger, concurrency: 2 });
      await a.ready;
      const handles = [
        await queue.enqueue('task', { n: 1, ms: 30_000 }),
        await queue.enqueue('task', { n: 2, ms: 30_000 }),
      ];
      const ids = handles.map((h) => h.id).sort();
      await waitFor(
        () => readLedger(ledger).filter((e) => e.ev === 'start').length === 2,
        15_000,
        'both jobs started in the child',
      );
      // A second worker, idle for now: there is nothing left to take.
      worker = createWorker(
        reg,
        {
          task: (j) => {
            redelivered.set(j.id, { at: Date.now(), attempt: j.attempt });
            return { n: j.data.n * 10 };
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      await sleep(200);
      expect(redelivered.size).toBe(0);

      await a.kill9();
      const killedAt = Date.now();
      expect((await a.exited).signal).toBe('SIGKILL');

      const results = await Promise.all(
        handles.map((h) => h.finished({ timeoutMs: 10_000 })),
      );
      expect(results).toEqual([{ n: 10 }, { n: 20 }]);
      expect([...redelivered.keys()].sort()).toEqual(ids);
      for (const { at, attempt } of redelivered.values()) {
        expect(at - killedAt).toBeLessThanOrEqual(
          LEASE_MS + STALL_CHECK_MS + 2000,
        );
        // A stall is not an attempt.
        expect(attempt).toBe(1);
      }
      for (const id of ids) {
        const info = await queue.getJob(id, { queue: q });
        expect(info?.state).toBe('completed');
        expect(info?.stalls).toBe(1);
        expect(info?.deliveries).toBe(2);
        expect(info?.attemptsMade).toBe(1);
      }
      const ledgerEntries = readLedger(ledger);
      expect(ledgerEntries.filter((e) => e.ev === 'end')).toEqual([]);

      await waitFor(
        () => events.events.filter((e) => e.event === 'completed').length === 2,
        3000,
        'completed events',
      );
      const stalled = events.events.filter((e) => e.event === 'stalled');
      expect(stalled.map((e) => e.jobId).sort()).toEqual(ids);
      expect(stalled.map((e) => e.stalls)).toEqual([1, 1]);
      // Durable log order per job: stalled comes before the second active.
      for (const id of ids) {
        const mine = events.events
          .filter((e) => e.jobId === id)
          .map((e) => e.event)
          .filter(
            (e) => e === 'active' || e === 'stalled' || e === 'completed',
          );
        expect(mine).toEqual(['active', 'stalled', 'active', 'completed']);
      }
    } finally {
      await worker?.close();
      await events.close();
      await queue.close();
    }
  });

  it(
    'a poison pill that kills its worker fails with STALL_LIMIT after maxStalls + 1 deliveries',
    async () => {
      const q = uniqueQueue();
      const reg = taskRegistry(q);
      const ledger = ledgerFile();
      const queue = createQueue(reg, { connection: redis.url });
      const config = {
        queue: q,
        ledger,
        behaviour: 'kill-on-flag',
        maxStalls: 2,
        concurrency: 1,
      } as const;
      try {
        const poison = await queue.enqueue('task', { n: 0, kill: true });
        const normal = [
          await queue.enqueue('task', { n: 1 }),
          await queue.enqueue('task', { n: 2 }),
          await queue.enqueue('task', { n: 3 }),
        ];
        // Four worker start-ups in a row, each seconds long on a loaded
        // machine: a deadline for a hang (the test asserts no speed).
        const deadline = Date.now() + 4 * PROCESS_START_MS;
        let spawned = 0;
        let current = startChild(config);
        spawned++;
        for (;;) {
          const info = await queue.getJob(poison.id, { queue: q });
          if (info?.state === 'failed') break;
          if (Date.now() > deadline) {
            throw new Error(
              `poison job still ${String(info?.state)} after ${spawned} workers`,
            );
          }
          if (current.child.exitCode !== null || current.child.signalCode) {
            // The worker died: respawn it, as a process supervisor would.
            current = startChild(config);
            spawned++;
          }
          await sleep(50);
        }
        const results = await Promise.all(
          normal.map((h) => h.finished({ timeoutMs: 10_000 })),
        );
        expect(results).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);

        const info = await queue.getJob(poison.id, { queue: q });
        expect(info?.state).toBe('failed');
        expect(info?.stalls).toBe(3);
        expect(info?.deliveries).toBe(3);
        expect(info?.attemptsMade).toBe(0);
        expect(info?.errors.at(-1)?.code).toBe('STALL_LIMIT');
        await expect(
          poison.finished({ timeoutMs: 1000 }),
        ).rejects.toMatchObject({
          code: 'STALL_LIMIT',
        });

        const entries = readLedger(ledger);
        const poisonStarts = entries.filter(
          (e) => e.ev === 'start' && e.id === poison.id,
        );
        expect(poisonStarts).toHaveLength(3);
        // Each delivery killed a different process.
        expect(new Set(poisonStarts.map((e) => e.pid)).size).toBe(3);
        expect(spawned).toBe(4);
        // Every normal job ran once, or twice when the kill came in the same
        // turn of the event loop as its completion, whose batch had not been
        // sent (docs/guarantees.md); it completed once either way.
        for (const h of normal) {
          const runs = entries.filter((e) => e.ev === 'end' && e.id === h.id);
          expect(runs.length).toBeGreaterThanOrEqual(1);
          expect(runs.length).toBeLessThanOrEqual(2);
        }
        await current.close();
        expect((await current.exited).code).toBe(0);
      } finally {
        await queue.close();
      }
    },
    5 * PROCESS_START_MS,
  );
});

describe('leases: renewal and fencing', () => {
  it('renewal keeps long jobs exclusive across two workers', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      long: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const events = collectEvents(q);
    const invocations = new Map<string, number>();
    const stalledWorkerEvents: WorkerEvents['stalled'][0][] = [];
    const opts = {
      connection: redis.url,
      leaseMs: 500,
      stallCheckIntervalMs: 250,
      blockTimeoutMs: 1000,
      concurrency: 2,
    };
    const handler = async (j: { id: string }): Promise<void> => {
      invocations.set(j.id, (invocations.get(j.id) ?? 0) + 1);
      await sleep(2000);
    };
    const w1 = createWorker(reg, { long: handler }, opts);
    const w2 = createWorker(reg, { long: handler }, opts);
    for (const w of [w1, w2])
      w.on('stalled', (e) => stalledWorkerEvents.push(e));
    try {
      const handles = [];
      for (let n = 0; n < 4; n++) {
        handles.push(await queue.enqueue('long', { n }));
      }
      await Promise.all(handles.map((h) => h.finished({ timeoutMs: 10_000 })));
      await sleep(300);
      expect(invocations.size).toBe(4);
      expect([...invocations.values()]).toEqual([1, 1, 1, 1]);
      for (const h of handles) {
        const info = await queue.getJob(h.id, { queue: q });
        expect(info?.state).toBe('completed');
        expect(info?.stalls).toBe(0);
        expect(info?.deliveries).toBe(1);
      }
      expect(stalledWorkerEvents).toEqual([]);
      expect(events.events.filter((e) => e.event === 'stalled')).toEqual([]);
      expect(events.events.filter((e) => e.event === 'completed')).toHaveLength(
        4,
      );
    } finally {
      await w1.close();
      await w2.close();
      await events.close();
      await queue.close();
    }
  });

  it('a renewal racing a completion in flight reports no lost lease', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      quick: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        retention: { completed: false },
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const lost: WorkerEvents['leaseLost'][0][] = [];
    let done = 0;
    // Renewals every 50 ms against a steady stream of completion batches:
    // many renewals are sent while a batch is on its way, and find jobs it
    // just completed. Those were once reported as lost leases.
    const w = createWorker(
      reg,
      {
        quick: async () => {
          await sleep(1);
          done++;
        },
      },
      { connection: redis.url, leaseMs: 150, concurrency: 20 },
    );
    w.on('leaseLost', (e) => lost.push(e));
    try {
      await queue.enqueueBulk(
        Array.from({ length: 6000 }, (_, n) => ({
          name: 'quick' as const,
          payload: { n },
        })),
      );
      await waitFor(() => done === 6000, 30_000, '6000 jobs');
      await sleep(200);
      expect(lost).toEqual([]);
      expect((await queue.getCounts()).failed).toBe(0);
    } finally {
      await w.close();
      await queue.close();
    }
  });

  it('fencing: a completion after the lease was taken over is refused', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      f: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ n: z.number() }),
      }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const lost: WorkerEvents['leaseLost'][0][] = [];
    const completed: string[] = [];
    const started: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = createWorker(
      reg,
      {
        f: async (j) => {
          started.push(j.id);
          if (j.data.n === 1) await gate;
          return { n: j.data.n };
        },
      },
      // Long lease and stall interval: only the completion can notice.
      {
        connection: redis.url,
        leaseMs: 30_000,
        stallCheckIntervalMs: 60_000,
        blockTimeoutMs: 1000,
      },
    );
    worker.on('leaseLost', (e) => lost.push(e));
    worker.on('completed', (e) => completed.push(e.id));
    try {
      const h = await queue.enqueue('f', { n: 1 });
      await waitFor(() => started.includes(h.id), 5000, 'handler started');
      const key = `jobwire:{${q}}:j:${h.id}`;
      // Another worker took the job over: its token replaces ours.
      await raw.hset(key, 'tk', 'other-worker:9');
      release();
      await waitFor(() => lost.length === 1, 5000, 'leaseLost event');
      expect(lost[0]).toMatchObject({
        id: h.id,
        name: 'f',
        queue: q,
        during: 'completion',
      });
      expect(completed).toEqual([]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('active');
      expect(info?.result).toBeUndefined();
      expect(info?.attemptsMade).toBe(0);
      expect(info?.errors).toEqual([]);
      expect(await raw.hget(key, 'tk')).toBe('other-worker:9');
      const counts = await queue.getCounts({ queue: q });
      expect(counts.completed).toBe(0);
      expect(counts.active).toBe(1);

      // The worker keeps running.
      const next = await queue.enqueue('f', { n: 2 });
      expect(await next.finished({ timeoutMs: 5000 })).toEqual({ n: 2 });
      expect(completed).toEqual([next.id]);
    } finally {
      release();
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });

  it('fencing: a failure after the lease was taken over is refused', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      f: job({ queue: q, payload: z.object({ n: z.number() }), attempts: 3 }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const lost: WorkerEvents['leaseLost'][0][] = [];
    const failed: string[] = [];
    const started: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = createWorker(
      reg,
      {
        f: async (j) => {
          started.push(j.id);
          await gate;
          throw new Error('too late');
        },
      },
      {
        connection: redis.url,
        leaseMs: 30_000,
        stallCheckIntervalMs: 60_000,
        blockTimeoutMs: 1000,
      },
    );
    worker.on('leaseLost', (e) => lost.push(e));
    worker.on('failed', (e) => failed.push(e.id));
    try {
      const h = await queue.enqueue('f', { n: 1 });
      await waitFor(() => started.includes(h.id), 5000, 'handler started');
      await raw.hset(`jobwire:{${q}}:j:${h.id}`, 'tk', 'other-worker:9');
      release();
      await waitFor(() => lost.length === 1, 5000, 'leaseLost event');
      expect(lost[0]?.during).toBe('failure');
      expect(failed).toEqual([]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('active');
      expect(info?.errors).toEqual([]);
      expect(info?.attemptsMade).toBe(0);
      expect(await raw.zscore(`jobwire:{${q}}:delayed`, h.id)).toBe(null);
      expect(worker.health().ready).toBe(true);
    } finally {
      release();
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });

  it('a renewal that finds the lease lost aborts the signal with LeaseLostError', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      f: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const lost: WorkerEvents['leaseLost'][0][] = [];
    const completed: string[] = [];
    const failed: string[] = [];
    let signal: AbortSignal | undefined;
    let abortedAt = 0;
    const worker = createWorker(
      reg,
      {
        f: async (j) => {
          signal = j.signal;
          // A well-behaved handler: stops when its signal aborts.
          await new Promise<void>((resolve) => {
            j.signal.addEventListener(
              'abort',
              () => {
                abortedAt = Date.now();
                resolve();
              },
              { once: true },
            );
          });
        },
      },
      {
        connection: redis.url,
        leaseMs: 600,
        stallCheckIntervalMs: 60_000,
        blockTimeoutMs: 1000,
      },
    );
    worker.on('leaseLost', (e) => lost.push(e));
    worker.on('completed', (e) => completed.push(e.id));
    worker.on('failed', (e) => failed.push(e.id));
    try {
      const h = await queue.enqueue('f', { n: 1 });
      await waitFor(() => signal !== undefined, 5000, 'handler started');
      await raw.hset(`jobwire:{${q}}:j:${h.id}`, 'tk', 'other-worker:9');
      const stolenAt = Date.now();
      // Renewals run every leaseMs / 3 = 200 ms.
      await waitFor(() => signal?.aborted === true, 2000, 'signal aborted');
      expect(abortedAt - stolenAt).toBeLessThanOrEqual(600 + 500);
      expect(signal?.reason).toBeInstanceOf(LeaseLostError);
      expect((signal?.reason as LeaseLostError).jobId).toBe(h.id);
      await waitFor(() => lost.length === 1, 1000, 'leaseLost event');
      expect(lost[0]).toMatchObject({ id: h.id, during: 'renew' });
      await sleep(300);
      // The handler returned after the abort: nothing was written.
      expect(completed).toEqual([]);
      expect(failed).toEqual([]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('active');
      expect(info?.errors).toEqual([]);
      expect(worker.running).toBe(0);
      expect(lost).toHaveLength(1);
    } finally {
      await worker.close();
      await queue.close();
      await raw.quit();
    }
  });
});
