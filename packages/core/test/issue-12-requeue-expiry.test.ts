/**
 * Issue 12, defect 5: a job that went back to waiting after a stall or a
 * release kept the expiry time it got before it started, and was then
 * expired as "expired before it started". The rule now: `expireAfterMs`
 * only applies until a job is first leased; a started job never expires.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
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
  for (const d of tempDirs.splice(0))
    fs.rmSync(d, { recursive: true, force: true });
});

/** The events the durable log holds for one job, in order. */
async function eventsOf(raw: Redis, q: string, id: string): Promise<string[]> {
  const entries = await raw.xrange(`jobwire:{${q}}:events`, '-', '+');
  return entries
    .map(([, f]) => f)
    .filter((f) => f[f.indexOf('id') + 1] === id)
    .map((f) => f[f.indexOf('ev') + 1]!);
}

describe('issue 12: a started job keeps no expiry', () => {
  it('a job released at shutdown after its expiry time runs on the next worker', async () => {
    const q = uniqueQueue('i12x');
    const reg = defineJobs({
      slow: job({ queue: q, payload: z.object({ n: z.number() }) }),
    });
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const runs: string[] = [];
    let started = false;
    const first = createWorker(
      reg,
      {
        slow: async (j) => {
          started = true;
          // Runs until the shutdown deadline aborts it.
          await new Promise<void>((resolve) => {
            j.signal.addEventListener('abort', () => resolve());
          });
          throw new Error('aborted');
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    try {
      const h = await queue.enqueue('slow', { n: 1 }, { expireAfterMs: 300 });
      await waitFor(() => started, 5000, 'the job to start');
      // Past its expiry time while it runs; then released at the deadline.
      await sleep(500);
      await first.close({ deadlineMs: 50 });
      expect((await queue.getJob(h.id))?.state).toBe('waiting');

      const second = createWorker(
        reg,
        {
          slow: (j) => {
            runs.push(j.id);
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        await h.finished({ timeoutMs: 5000 });
      } finally {
        await second.close();
      }
      expect(runs).toEqual([h.id]);
      expect((await queue.getJob(h.id))?.state).toBe('completed');
      expect(await eventsOf(raw, q, h.id)).not.toContain('expired');
      // Its first lease ended the expiry for good.
      const hash = await raw.hgetall(`jobwire:{${q}}:j:${h.id}`);
      expect(hash.x).toBeUndefined();
      expect(hash.ea).toBeUndefined();
    } finally {
      await first.close();
      await queue.close();
      await raw.quit();
    }
  });

  it('a job recovered from a crashed worker after its expiry time runs again', async () => {
    const q = uniqueQueue('i12x');
    const reg = taskRegistry(q);
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-i12x-'));
    tempDirs.push(dir);
    const ledger = path.join(dir, 'ledger.jsonl');
    const child = spawnWorkerProcess({
      url: redis.url,
      ...fastWorkerSettings,
      queue: q,
      ledger,
    });
    children.push(child);
    const runs: string[] = [];
    try {
      await child.ready;
      const h = await queue.enqueue(
        'task',
        { n: 1, ms: 60_000 },
        { expireAfterMs: 300 },
      );
      await waitFor(
        () => readLedger(ledger).some((e) => e.ev === 'start'),
        5000,
        'the job to start in the child',
      );
      await sleep(400);
      await child.kill9();

      const worker = createWorker(
        reg,
        {
          task: (j) => {
            runs.push(j.id);
            return { n: j.data.n };
          },
        },
        { connection: redis.url, ...fastWorkerSettings },
      );
      try {
        expect(await h.finished({ timeoutMs: 10_000 })).toEqual({ n: 1 });
      } finally {
        await worker.close();
      }
      expect(runs).toEqual([h.id]);
      const info = await queue.getJob(h.id);
      expect(info?.state).toBe('completed');
      expect(info?.stalls).toBe(1);
      expect(await eventsOf(raw, q, h.id)).toContain('stalled');
      expect(await eventsOf(raw, q, h.id)).not.toContain('expired');
    } finally {
      await queue.close();
      await raw.quit();
    }
  });
});
