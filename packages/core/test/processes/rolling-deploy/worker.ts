/**
 * A rolling-deploy worker process that knows one contract version of the
 * `thumbnail` job: node worker.ts '<json config>' (bundled: test-kit's nodeEntry).
 *
 * It imports only its own version's contract module. Each handler call is
 * written to the ledger with the job's stored version, the version this
 * worker knows and the data the handler got; hand-backs (`deferred`),
 * failures and stall recoveries are written too. SIGTERM closes the worker
 * gracefully (closeOnSignals) and exits 0; it exits 2 when its parent goes.
 */
import {
  closeOnSignals,
  createWorker,
  JobwireError,
} from '../../../src/index.ts';
import type { Job, WorkerOptions } from '../../../src/index.ts';
import { append } from './ledger.ts';

export interface RollingWorkerConfig {
  url: string;
  queue: string;
  version: 1 | 2 | 3;
  ledger: string;
  concurrency: number;
  prefetch?: number;
  leaseMs: number;
  stallCheckIntervalMs: number;
  maxStalls: number;
  blockTimeoutMs: number;
  /** Each handler sleeps a random time in [min, max] ms. */
  workMs: [number, number];
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as RollingWorkerConfig;
  const [lo, hi] = c.workMs;
  const handler = async (j: Job<{ n: number }, number>): Promise<void> => {
    append(c.ledger, {
      ev: 'run',
      id: j.id,
      n: j.data.n,
      stored: j.version,
      known: c.version,
      attempt: j.attempt,
      data: j.data,
    });
    await sleep(lo + Math.random() * (hi - lo));
  };
  const options: WorkerOptions = {
    connection: c.url,
    concurrency: c.concurrency,
    prefetch: c.prefetch,
    leaseMs: c.leaseMs,
    stallCheckIntervalMs: c.stallCheckIntervalMs,
    maxStalls: c.maxStalls,
    blockTimeoutMs: c.blockTimeoutMs,
    logger: { warn: () => {}, error: () => {} },
  };
  // One branch per version, so that each worker loads only its own module.
  let worker;
  if (c.version === 1) {
    const { rollingJobs } = await import('./contract-v1.ts');
    worker = createWorker(
      rollingJobs(c.queue),
      { thumbnail: handler },
      options,
    );
  } else if (c.version === 2) {
    const { rollingJobs } = await import('./contract-v2.ts');
    worker = createWorker(
      rollingJobs(c.queue),
      { thumbnail: handler },
      options,
    );
  } else {
    const { rollingJobs } = await import('./contract-v3.ts');
    worker = createWorker(
      rollingJobs(c.queue),
      { thumbnail: handler },
      options,
    );
  }
  worker.on('error', () => {});
  worker.on('deferred', (e) =>
    append(c.ledger, {
      ev: 'deferred',
      id: e.id,
      version: e.version,
      known: e.knownVersion,
    }),
  );
  worker.on('failed', (e) =>
    append(c.ledger, {
      ev: 'failed',
      id: e.id,
      code: e.error.code,
      message: e.error.message,
      willRetry: e.willRetry,
    }),
  );
  worker.on('stalled', (e) =>
    append(c.ledger, {
      ev: 'stalled',
      requeued: e.requeued,
      failed: e.failed,
    }),
  );
  closeOnSignals(worker, { deadlineMs: 10_000 });
  process.on('disconnect', () => process.exit(2));
  const by = Date.now() + 30_000;
  while (!worker.health().ready && Date.now() < by) await sleep(20);
  append(c.ledger, { ev: 'ready', known: c.version });
  process.send?.({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `rolling-deploy worker failed: ${err instanceof JobwireError ? err.code : ''} ${String(err)}\n`,
  );
  process.exit(1);
});
