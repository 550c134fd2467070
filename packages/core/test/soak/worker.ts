/**
 * A soak worker process: node worker.ts '<json config>' (bundled: test-kit's nodeEntry).
 * Each handler run appends `start` and `end`, and each stored outcome
 * `completed` or `failed`, to this process's ledger
 * (appendFileSync, so a SIGKILL loses nothing already written), sleeps the
 * job's `ms` and returns `{ n }`. Sends `{ type: 'ready' }` once its
 * connections are up.
 */
import { createWorker } from '../../src/index.ts';
import { appendLedger } from '../faults/harness/ledger.ts';
import { soakRegistry } from './registry.ts';

export interface SoakWorkerConfig {
  url: string;
  queue: string;
  ledger: string;
  concurrency: number;
  leaseMs: number;
  stallCheckIntervalMs: number;
  maxStalls: number;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as SoakWorkerConfig;
  const worker = createWorker(
    soakRegistry(c.queue),
    {
      work: async (j) => {
        const base = { jobId: j.id, n: j.data.n, attempt: j.attempt };
        appendLedger(c.ledger, { ev: 'start', ...base });
        await sleep(j.data.ms);
        appendLedger(c.ledger, { ev: 'end', ...base, outcome: 'ok' });
        return { n: j.data.n };
      },
    },
    {
      connection: c.url,
      concurrency: c.concurrency,
      leaseMs: c.leaseMs,
      stallCheckIntervalMs: c.stallCheckIntervalMs,
      maxStalls: c.maxStalls,
      logger: { warn: () => {}, error: () => {} },
    },
  );
  worker.on('error', () => {});
  // Written once the outcome is stored: a job started and not yet here was
  // in flight, even when its handler had already returned.
  worker.on('completed', (e) =>
    appendLedger(c.ledger, { ev: 'completed', jobId: e.id }),
  );
  worker.on('failed', (e) =>
    appendLedger(c.ledger, { ev: 'failed', jobId: e.id }),
  );
  process.on('disconnect', () => process.exit(2));
  const by = Date.now() + 10_000;
  while (!worker.health().ready && Date.now() < by) await sleep(20);
  process.send?.({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`soak worker failed: ${String(err)}\n`);
  process.exit(1);
});
