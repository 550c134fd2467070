import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  ShutdownError,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';
import {
  readLedger,
  spawnWorkerProcess,
  taskRegistry,
} from './processes/worker-process.ts';
import type { WorkerProcess } from './processes/worker-process.ts';

const redis = useRedis();

const children: WorkerProcess[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) await c.kill9();
  for (const d of tempDirs.splice(0)) {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function testRegistry(q: string) {
  return defineJobs({
    work: job({
      queue: q,
      payload: z.object({ n: z.number() }),
      result: z.object({ n: z.number() }),
    }),
  });
}

describe('worker.close()', () => {
  it('lets active jobs finish and starts no new job', async () => {
    const q = uniqueQueue();
    const reg = testRegistry(q);
    const queue = createQueue(reg, { connection: redis.url });
    const starts: { id: string; at: number }[] = [];
    const ends: { id: string; at: number }[] = [];
    const worker = createWorker(
      reg,
      {
        work: async (j) => {
          starts.push({ id: j.id, at: Date.now() });
          await sleep(500);
          ends.push({ id: j.id, at: Date.now() });
          return { n: j.data.n };
        },
      },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 2 },
    );
    let closed = false;
    try {
      const handles = [];
      for (let n = 0; n < 5; n++) {
        handles.push(await queue.enqueue('work', { n }));
      }
      await waitFor(() => starts.length === 2, 5000, 'two jobs started');
      const closeCalledAt = Date.now();
      await worker.close({ deadlineMs: 5000 });
      closed = true;
      const closedAt = Date.now();

      expect(starts).toHaveLength(2);
      expect(starts.every((s) => s.at <= closeCalledAt)).toBe(true);
      expect(ends.map((e) => e.id).sort()).toEqual(
        starts.map((s) => s.id).sort(),
      );
      expect(closedAt).toBeGreaterThanOrEqual(
        Math.max(...ends.map((e) => e.at)),
      );

      const counts = await queue.getCounts({ queue: q });
      expect(counts.completed).toBe(2);
      expect(counts.active).toBe(0);
      expect(counts.waiting).toBe(3);
      const startedIds = new Set(starts.map((s) => s.id));
      for (const h of handles) {
        const info = await queue.getJob(h.id, { queue: q });
        if (startedIds.has(h.id)) {
          expect(info?.state).toBe('completed');
          expect(info?.result).toEqual(info?.data);
        } else {
          expect(info?.state).toBe('waiting');
          expect(info?.attemptsMade).toBe(0);
          expect(info?.deliveries).toBe(0);
        }
      }
      // Still nothing started a little later.
      await sleep(300);
      expect(starts).toHaveLength(2);
    } finally {
      if (!closed) await worker.close();
      await queue.close();
    }
  });

  it('at the deadline aborts handlers with ShutdownError and hands jobs back', async () => {
    const q = uniqueQueue();
    const reg = testRegistry(q);
    const queue = createQueue(reg, { connection: redis.url });
    const raw = new Redis(redis.url);
    const signals: AbortSignal[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = createWorker(
      reg,
      {
        work: async (j) => {
          signals.push(j.signal);
          // Ignores its signal; stands for a 60 s job.
          await Promise.race([gate, sleep(60_000)]);
          return { n: j.data.n };
        },
      },
      { connection: redis.url, ...fastWorkerSettings, concurrency: 2 },
    );
    let closed = false;
    try {
      const handles = [
        await queue.enqueue('work', { n: 1 }),
        await queue.enqueue('work', { n: 2 }),
      ];
      await waitFor(() => signals.length === 2, 5000, 'two jobs started');
      const t0 = Date.now();
      await worker.close({ deadlineMs: 300 });
      closed = true;
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThanOrEqual(1000);

      for (const s of signals) {
        expect(s.aborted).toBe(true);
        expect(s.reason).toBeInstanceOf(ShutdownError);
        expect((s.reason as ShutdownError).code).toBe('SHUTDOWN');
      }
      for (const h of handles) {
        const info = await queue.getJob(h.id, { queue: q });
        expect(info?.state).toBe('waiting');
        expect(info?.attemptsMade).toBe(0);
        expect(info?.stalls).toBe(0);
        expect(info?.errors).toEqual([]);
      }
      expect(await raw.zcard(`jobwire:{${q}}:active`)).toBe(0);
      const counts = await queue.getCounts({ queue: q });
      expect(counts.active).toBe(0);
      expect(counts.waiting).toBe(2);

      // The handlers returning late changes nothing.
      release();
      await sleep(100);
      for (const h of handles) {
        expect((await queue.getJob(h.id, { queue: q }))?.state).toBe('waiting');
      }

      // Another worker runs them as first attempts.
      const attempts: number[] = [];
      const next = createWorker(
        reg,
        {
          work: (j) => {
            attempts.push(j.attempt);
            return { n: j.data.n };
          },
        },
        { connection: redis.url, ...fastWorkerSettings, concurrency: 2 },
      );
      try {
        const results = await Promise.all(
          handles.map((h) => h.finished({ timeoutMs: 5000 })),
        );
        expect(results).toEqual([{ n: 1 }, { n: 2 }]);
        expect(attempts).toEqual([1, 1]);
      } finally {
        await next.close();
      }
    } finally {
      release();
      if (!closed) await worker.close();
      await queue.close();
      await raw.quit();
    }
  });
});

describe('closeOnSignals()', () => {
  it('SIGTERM lets a worker process finish its active jobs and exit 0', async () => {
    const q = uniqueQueue();
    const reg = taskRegistry(q);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-ledger-'));
    tempDirs.push(dir);
    const ledger = path.join(dir, 'ledger.jsonl');
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const wp = spawnWorkerProcess({
        url: redis.url,
        ...fastWorkerSettings,
        queue: q,
        ledger,
        concurrency: 2,
        signals: true,
        deadlineMs: 10_000,
      });
      children.push(wp);
      await wp.ready;
      const handles = [];
      for (let n = 0; n < 4; n++) {
        handles.push(await queue.enqueue('task', { n, ms: 800 }));
      }
      await waitFor(
        () => readLedger(ledger).filter((e) => e.ev === 'start').length === 2,
        5000,
        'two jobs started in the child',
      );
      const signalledAt = Date.now();
      wp.child.kill('SIGTERM');
      const exit = await wp.exited;
      expect(exit, wp.stderr()).toEqual({ code: 0, signal: null });

      const entries = readLedger(ledger);
      const starts = entries.filter((e) => e.ev === 'start');
      const ends = entries.filter((e) => e.ev === 'end');
      expect(starts).toHaveLength(2);
      expect(starts.every((e) => e.t <= signalledAt)).toBe(true);
      expect(ends.map((e) => e.id).sort()).toEqual(
        starts.map((e) => e.id).sort(),
      );
      expect(
        entries.some((e) => e.ev === 'signal' && e.signal === 'SIGTERM'),
      ).toBe(true);

      const counts = await queue.getCounts({ queue: q });
      expect(counts.completed).toBe(2);
      expect(counts.active).toBe(0);
      expect(counts.waiting).toBe(2);
      const startedIds = new Set(starts.map((e) => e.id));
      for (const h of handles) {
        const info = await queue.getJob(h.id, { queue: q });
        expect(info?.state).toBe(
          startedIds.has(h.id) ? 'completed' : 'waiting',
        );
        if (!startedIds.has(h.id)) expect(info?.attemptsMade).toBe(0);
      }
    } finally {
      await queue.close();
    }
  });
});
