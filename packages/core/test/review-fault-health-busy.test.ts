/**
 * health() of a busy worker while Redis is frozen (SIGSTOP): the sockets
 * stay `ready` and nothing answers. An idle worker's blocking wait has a
 * guard that notices; a busy one makes no blocking wait, and it reported
 * ready for 12-14 s (an outside review), against reliability.md S10 ("not
 * ready during the outage"). Now a lease renewal or a completion write
 * left unanswered past commandTimeoutMs, or a renewal that failed, makes
 * it not ready, with no call of its own.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
const quiet: Logger = { warn: () => {}, error: () => {} };

const LEASE_MS = 3000;

/** Waits `ms`, or until `signal` aborts. */
function held(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function busyWorker(
  jobMs: number,
  count: number,
  commandTimeoutMs: number,
) {
  const jobs = defineJobs({
    hold: job({
      queue: uniqueQueue('health-busy'),
      payload: z.object({ ms: z.number() }),
    }),
  });
  const queue = createQueue(jobs, { connection: redis.url, logger: quiet });
  for (let n = 0; n < count * 20; n++)
    await queue.enqueue('hold', { ms: jobMs });
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
      connection: redis.url,
      concurrency: count,
      leaseMs: LEASE_MS,
      commandTimeoutMs,
      stallCheckIntervalMs: 500,
      logger: quiet,
    },
  );
  worker.on('error', () => {});
  await worker.ready;
  await waitFor(() => started >= count, 5000, 'the jobs to start');
  return { queue, worker };
}

/** Polls health() every 100 ms for `ms`; the times it read not ready. */
async function notReadyTimes(
  worker: { health(): { ready: boolean } },
  ms: number,
): Promise<number[]> {
  const start = Date.now();
  const times: number[] = [];
  while (Date.now() - start < ms) {
    if (!worker.health().ready) times.push(Date.now() - start);
    await sleep(100);
  }
  return times;
}

describe('health() of a busy worker while Redis is frozen', () => {
  for (const [what, jobMs, commandTimeoutMs] of [
    // Before: ready for the whole outage.
    ['jobs longer than the outage (renewals only)', 60_000, 1000],
    // Before: ready for 12-14 s.
    ['jobs ending during the outage (completions)', 700, 5000],
  ] as const) {
    it(`reports not ready within leaseMs / 3 + commandTimeoutMs: ${what}`, async () => {
      // A renewal is due every leaseMs / 3; unanswered past commandTimeoutMs.
      const bound = LEASE_MS / 3 + commandTimeoutMs + 1000;
      const { queue, worker } = await busyWorker(jobMs, 3, commandTimeoutMs);
      try {
        expect(worker.health().ready).toBe(true);
        // Healthy and busy: never not ready.
        expect(await notReadyTimes(worker, 1500)).toEqual([]);
        const frozenAt = Date.now();
        process.kill(redis.server.pid, 'SIGSTOP');
        let flipMs = Infinity;
        let staying = 0;
        try {
          while (Date.now() - frozenAt < bound + 8000) {
            if (!worker.health().ready) {
              flipMs = Date.now() - frozenAt;
              break;
            }
            await sleep(50);
          }
          // It stays not ready for the rest of the outage.
          staying = (await notReadyTimes(worker, 2000)).length;
        } finally {
          process.kill(redis.server.pid, 'SIGCONT');
        }
        console.log(
          `${what}: not ready ${flipMs} ms into the outage, then ${staying}/20`,
        );
        expect(flipMs).toBeLessThan(bound);
        expect(staying).toBeGreaterThanOrEqual(18);
        // Ready again once Redis answers.
        await waitFor(() => worker.health().ready, 10_000, 'ready again');
      } finally {
        await worker.close({ deadlineMs: 200 });
        await queue.close();
      }
    }, 60_000);
  }
});
