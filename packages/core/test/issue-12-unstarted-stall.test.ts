/**
 * Issue 12, defect 9: jobs that a worker leased but never started were
 * charged a stall when the worker died. A worker prefetches jobs beyond its
 * free slots while handlers are short; when it crashed, its prefetched jobs
 * waited out their lease and each got a stall it did not cause. With
 * `maxStalls: 0` one such incident failed them with STALL_LIMIT before they
 * ever ran.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createQueue } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { waitFor } from './helpers/wait.ts';
import { readLedger, taskRegistry } from './processes/worker-process.ts';
import { useWorkerProcesses } from './helpers/worker-processes.ts';

const redis = useRedis();
const workers = useWorkerProcesses(redis);

describe('issue 12: a stall is charged only to jobs that started', () => {
  it('re-queues the prefetched jobs of a crashed worker without a stall', async () => {
    const q = uniqueQueue();
    const dir = workers.ledgerDir();
    const ledger = path.join(dir, 'ledger.jsonl');
    const queue = createQueue(taskRegistry(q), { connection: redis.url });
    try {
      // Prefetching needs handlers measured short (under 10 ms): on a loaded
      // machine a round may not get there, so up to three rounds.
      const pills = [];
      const prefetched = [];
      for (let round = 0; round < 3 && prefetched.length === 0; round++) {
        const a = workers.start({
          queue: q,
          ledger,
          behaviour: 'kill-on-flag',
          concurrency: 1,
          maxStalls: 0,
        });
        await a.ready;
        // Short handlers switch prefetching on.
        const warm = await queue.enqueueBulk(
          Array.from({ length: 30 }, (_, n) => ({
            name: 'task' as const,
            payload: { n },
          })),
        );
        await Promise.all(warm.map((h) => h.finished({ timeoutMs: 10_000 })));
        // One fetch leases the pill for the free slot and prefetches the
        // rest; the pill kills the worker before any of those starts.
        const [pill, ...rest] = await queue.enqueueBulk([
          { name: 'task' as const, payload: { n: 100, kill: true } },
          ...Array.from({ length: 8 }, (_, n) => ({
            name: 'task' as const,
            payload: { n: 101 + n },
          })),
        ]);
        pills.push(pill!);
        await a.exited;
        const started = new Set(
          readLedger(ledger)
            .filter((e) => e.ev === 'start')
            .map((e) => e.id),
        );
        for (const h of rest) {
          const info = await queue.getJob(h.id, { queue: q });
          if (info?.state === 'active' && !started.has(h.id))
            prefetched.push(h);
        }
      }
      expect(prefetched.length).toBeGreaterThan(0);

      // Spawning is slow on a loaded machine: time the wait from its start.
      await workers.start({ queue: q, ledger, concurrency: 4, maxStalls: 0 })
        .ready;
      const failed = async (id: string) =>
        (await queue.getJob(id, { queue: q }))?.state === 'failed';
      for (const pill of pills)
        await waitFor(() => failed(pill.id), 10_000, 'the pills to fail');
      // The pills started, so their stalls count: with maxStalls 0 they fail.
      for (const pill of pills) {
        const info = await queue.getJob(pill.id, { queue: q });
        expect(info?.errors.at(-1)?.code).toBe('STALL_LIMIT');
      }
      // The prefetched jobs never started: they run, with no stall counted.
      const results = await Promise.all(
        prefetched.map((h) => h.finished({ timeoutMs: 10_000 })),
      );
      expect(results.length).toBe(prefetched.length);
      for (const h of prefetched) {
        const info = await queue.getJob(h.id, { queue: q });
        expect(info?.state).toBe('completed');
        expect(info?.stalls).toBe(0);
      }
    } finally {
      await queue.close();
    }
  });
});
