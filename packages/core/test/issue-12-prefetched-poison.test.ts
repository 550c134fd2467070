/**
 * The `maxStalls + 2` bound of docs/guarantees.md, clause 6, for a job that
 * kills its worker and was first delivered from the prefetch buffer. Such a
 * delivery counts as unstarted until the worker reports the start; the pill
 * kills the worker before that report, so the stall check re-queues it
 * once without a stall (a free re-queue). After that every delivery counts,
 * so with `maxStalls: 1` it fails with STALL_LIMIT on its third delivery,
 * never later.
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createQueue } from '../src/index.ts';
import { JobField } from '../src/redis/job-fields.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep } from './helpers/wait.ts';
import { readLedger, taskRegistry } from './processes/worker-process.ts';
import { useWorkerProcesses } from './helpers/worker-processes.ts';

const redis = useRedis();
const workers = useWorkerProcesses(redis);

const MAX_STALLS = 1;

describe('issue 12: a poison pill first delivered from the prefetch buffer', () => {
  it('fails with STALL_LIMIT after maxStalls + 2 deliveries: one free re-queue, then every stall counts', async () => {
    const raw = new Redis(redis.url);
    const dir = workers.ledgerDir();
    try {
      // Prefetching needs handlers measured short: on a loaded machine a
      // round may not get there (then the pill fills a free slot), so up to
      // three rounds, each on its own queue so a missed round's pill stays
      // out of the way.
      let found: { q: string; id: string; ledger: string } | undefined;
      for (let round = 0; round < 3 && found === undefined; round++) {
        const q = uniqueQueue();
        const ledger = path.join(dir, `ledger-${round}.jsonl`);
        const config = {
          queue: q,
          ledger,
          behaviour: 'kill-on-flag',
          concurrency: 1,
          maxStalls: MAX_STALLS,
        } as const;
        const queue = createQueue(taskRegistry(q), { connection: redis.url });
        try {
          const a = workers.start(config);
          await a.ready;
          const warm = await queue.enqueueBulk(
            Array.from({ length: 30 }, (_, n) => ({
              name: 'task' as const,
              payload: { n },
            })),
          );
          await Promise.all(warm.map((h) => h.finished({ timeoutMs: 10_000 })));
          // One fetch leases the first job for the free slot and prefetches
          // the pill, which starts from the buffer when that job ends.
          const [, pill] = await queue.enqueueBulk([
            { name: 'task' as const, payload: { n: 100 } },
            { name: 'task' as const, payload: { n: 101, kill: true } },
          ]);
          await a.exited;
          const jk = queueKeys('jobwire', q).job(pill!.id);
          // Still marked unstarted: its start was never reported.
          if ((await raw.hget(jk, JobField.unstarted)) === '1')
            found = { q, id: pill!.id, ledger };
        } finally {
          await queue.close();
        }
      }
      expect(found).toBeDefined();
      const { q, id, ledger } = found!;
      const k = queueKeys('jobwire', q);
      const queue = createQueue(taskRegistry(q), { connection: redis.url });
      try {
        // A supervisor respawns each worker the pill kills.
        const config = {
          queue: q,
          ledger,
          behaviour: 'kill-on-flag',
          concurrency: 1,
          maxStalls: MAX_STALLS,
        } as const;
        const deadline = Date.now() + 60_000;
        let current = workers.start(config);
        for (;;) {
          const info = await queue.getJob(id, { queue: q });
          if (info?.state === 'failed') break;
          if (Date.now() > deadline)
            throw new Error(`the pill is still ${String(info?.state)}`);
          if (current.child.exitCode !== null || current.child.signalCode)
            current = workers.start(config);
          await sleep(50);
        }
        const info = await queue.getJob(id, { queue: q });
        expect(info).toMatchObject({
          state: 'failed',
          deliveries: MAX_STALLS + 2,
          stalls: MAX_STALLS + 1,
          attemptsMade: 0,
        });
        expect(info?.errors.at(-1)?.code).toBe('STALL_LIMIT');
        // Each delivery started the handler and killed its own process.
        const starts = readLedger(ledger).filter(
          (e) => e.ev === 'start' && e.id === id,
        );
        expect(starts).toHaveLength(MAX_STALLS + 2);
        expect(new Set(starts.map((e) => e.pid)).size).toBe(MAX_STALLS + 2);
        // The first delivery was re-queued free, then each stall counted.
        const outcomes = (await raw.xrange(k.events, '-', '+'))
          .map(([, f]) => f)
          .filter(
            (f) =>
              f[3] === id &&
              (f.includes('released') ||
                f[1] === 'stalled' ||
                f[1] === 'failed'),
          )
          .map((f) => (f[1] === 'failed' ? f.slice(0, 6) : f));
        expect(outcomes).toEqual([
          ['ev', 'waiting', 'id', id, 'n', 'task', 'released', '1'],
          ['ev', 'stalled', 'id', id, 'n', 'task', 'sc', '1'],
          ['ev', 'failed', 'id', id, 'n', 'task'],
        ]);
        await current.close();
      } finally {
        await queue.close();
      }
    } finally {
      raw.disconnect();
    }
  });
});
