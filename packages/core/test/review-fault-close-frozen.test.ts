/**
 * worker.close({ deadlineMs }) returns while Redis is frozen (SIGSTOP) or
 * behind a silent link, as connections.md and failure-modes.md promise.
 * The sockets stay `ready` then and nothing answers: close() waited on the
 * hand-back of its jobs (retried for a minute), on the loops' last calls
 * (a command timeout each) and on QUIT (none on the blocking connection),
 * so it was still pending after 150 s with jobs held, and took 10 s idle.
 * Now every write at close is bounded: it returns about a second past the
 * deadline, its jobs left to stall recovery, and the process can exit.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { startForwarder } from './faults/harness/forwarder.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { PROCESS_START_MS, sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const quiet: Logger = { warn: () => {}, error: () => {} };
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** close({ deadlineMs: 500 }) must return within this (before: never). */
const CLOSE_BOUND_MS = 3000;

/** Waits `ms`, or until `signal` aborts (the shutdown deadline). */
function held(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function jobsOf(queue: string) {
  return defineJobs({
    hold: job({ queue, payload: z.object({ ms: z.number() }) }),
  });
}

/** Freezes the file's Redis while `fn` runs; always thaws it. */
async function frozen<T>(fn: () => Promise<T>): Promise<T> {
  process.kill(redis.server.pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(redis.server.pid, 'SIGCONT');
  }
}

/** How long `close` took, or Infinity past `bound` (it is left pending). */
async function timed(close: Promise<void>, bound: number): Promise<number> {
  const start = Date.now();
  const done = await Promise.race([
    close.then(() => true),
    sleep(bound * 3).then(() => false),
  ]);
  return done ? Date.now() - start : Infinity;
}

/** A worker running `count` long jobs at once, reaching Redis at `url`. */
async function busyWorker(queueName: string, url: string, count: number) {
  const jobs = jobsOf(queueName);
  const queue = createQueue(jobs, { connection: redis.url, logger: quiet });
  for (let n = 0; n < count; n++) await queue.enqueue('hold', { ms: 60_000 });
  await queue.close();
  let started = 0;
  const worker = createWorker(
    jobs,
    {
      hold: async (j) => {
        started++;
        await held(j.data.ms, j.signal);
      },
    },
    {
      connection: url,
      concurrency: count,
      leaseMs: 2000,
      stallCheckIntervalMs: 500,
      logger: quiet,
    },
  );
  worker.on('error', () => {});
  await worker.ready;
  await waitFor(() => started === count, 5000, 'the jobs to start');
  return { jobs, worker };
}

describe('worker.close() while Redis does not answer', () => {
  it('returns about the deadline after, holding jobs, Redis frozen', async () => {
    const queueName = uniqueQueue('close-frozen');
    const { jobs, worker } = await busyWorker(queueName, redis.url, 5);
    const ms = await frozen(() =>
      timed(worker.close({ deadlineMs: 500 }), CLOSE_BOUND_MS),
    );
    expect(ms).toBeLessThan(CLOSE_BOUND_MS);
    // The jobs were not handed back (Redis was frozen): their leases run
    // out and another worker's stall check takes them back.
    const queue = createQueue(jobs, { connection: redis.url, logger: quiet });
    let done = 0;
    const rescuer = createWorker(
      jobs,
      { hold: () => void done++ },
      { connection: redis.url, stallCheckIntervalMs: 300, logger: quiet },
    );
    rescuer.on('error', () => {});
    try {
      await waitFor(() => done === 5, 15_000, 'stall recovery');
    } finally {
      await rescuer.close();
      await queue.close();
    }
  }, 60_000);

  it('returns at once idle, Redis frozen (took 10 s)', async () => {
    const jobs = jobsOf(uniqueQueue('close-frozen-idle'));
    const worker = createWorker(
      jobs,
      { hold: () => undefined },
      { connection: redis.url, logger: quiet },
    );
    worker.on('error', () => {});
    await worker.ready;
    await sleep(300);
    const ms = await frozen(() =>
      timed(worker.close({ deadlineMs: 500 }), CLOSE_BOUND_MS),
    );
    expect(ms).toBeLessThan(CLOSE_BOUND_MS);
  }, 60_000);

  it('returns holding jobs behind a silent link (blackholed)', async () => {
    const fwd = await startForwarder(redis.server.port);
    try {
      const { worker } = await busyWorker(
        uniqueQueue('close-silent'),
        `redis://127.0.0.1:${fwd.port}`,
        3,
      );
      fwd.blackhole();
      const ms = await timed(worker.close({ deadlineMs: 500 }), CLOSE_BOUND_MS);
      expect(ms).toBeLessThan(CLOSE_BOUND_MS);
    } finally {
      fwd.heal();
      await fwd.close();
    }
  }, 60_000);

  it('lets the process exit, holding jobs, Redis frozen', async () => {
    const queue = uniqueQueue('close-frozen-exit');
    const jobs = jobsOf(queue);
    const producer = createQueue(jobs, { connection: redis.url });
    for (let n = 0; n < 3; n++) await producer.enqueue('hold', { ms: 60_000 });
    await producer.close();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD, queue, redis.url],
      { cwd: HERE, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    try {
      await waitFor(
        () => out.includes('"running":3'),
        PROCESS_START_MS,
        'the child to run its jobs',
      );
      const run = await frozen(async () => {
        const closeStart = Date.now();
        child.kill('SIGTERM');
        const code = await Promise.race([
          exited,
          sleep(CLOSE_BOUND_MS * 3).then(() => 'pending' as const),
        ]);
        return { code, exitMs: Date.now() - closeStart };
      });
      expect(run.code, stderr).toBe(0);
      expect(run.exitMs, stderr).toBeLessThan(CLOSE_BOUND_MS);
      expect(out).toContain('"closed":true');
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);
});

// Never calls process.exit: it must end on its own once closed.
const CHILD = `
import { z } from 'zod';
import { createWorker, defineJobs, job } from '../src/index.ts';
const [queue, url] = process.argv.slice(1);
const jobs = defineJobs({ hold: job({ queue, payload: z.object({ ms: z.number() }) }) });
const quiet = { warn: () => {}, error: () => {} };
const worker = createWorker(jobs, {
  hold: (j) => new Promise((r) => { const t = setTimeout(r, j.data.ms); j.signal.addEventListener('abort', () => { clearTimeout(t); r(); }); }),
}, { connection: url, concurrency: 3, leaseMs: 2000, logger: quiet });
worker.on('error', () => {});
const timer = setInterval(() => {
  if (worker.running === 3) { clearInterval(timer); process.stdout.write(JSON.stringify({ running: 3 }) + '\\n'); }
}, 50);
process.once('SIGTERM', () => {
  worker.close({ deadlineMs: 500 }).then(() => process.stdout.write(JSON.stringify({ closed: true }) + '\\n'));
});
`;
