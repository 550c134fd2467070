/**
 * S20-S24's worker process (run by children.ts), with an invocation ledger.
 * Serves the job types of s20-s24-registry.ts:
 * - `task` records its start, reports `progress` evenly over `ms`, sleeps
 *   the rest and returns `{ n, pid }`; with `hold` it never finishes (a
 *   process to SIGKILL while it holds a lease);
 * - `blob` returns the SHA-256 and UTF-8 size of the payload it received,
 *   so a test can check a round trip byte for byte;
 * - `email` records its start and returns `{ sent: true }`.
 * Every `failed` event goes to the ledger. IPC: `pause`, `resume`.
 */
import { createHash } from 'node:crypto';
import { createWorker } from '../../../src/index.ts';
import { appendLedger } from './ledger.ts';
import { s2xRegistry } from './s20-s24-registry.ts';

export interface S2xWorkerConfig {
  url: string;
  queue: string;
  ledger: string;
  concurrency?: number;
  leaseMs?: number;
  stallCheckIntervalMs?: number;
  /** `task` handlers never finish. */
  hold?: boolean;
  /** Start paused (the stall check still runs); IPC `resume`. */
  paused?: boolean;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as S2xWorkerConfig;
  const rec = (e: Parameters<typeof appendLedger>[1]) =>
    appendLedger(c.ledger, e);
  process.on('unhandledRejection', (reason) =>
    rec({ ev: 'unhandled', message: String(reason) }),
  );
  const worker = createWorker(
    s2xRegistry(c.queue),
    {
      task: async (j) => {
        rec({
          ev: 'start',
          jobId: j.id,
          n: j.data.n,
          attempt: j.attempt,
          t_start: Date.now(),
        });
        if (c.hold === true) await new Promise<never>(() => {});
        const ms = j.data.ms ?? 0;
        const steps = j.data.progress ?? [];
        const slice = ms / (steps.length + 1);
        for (const p of steps) {
          await sleep(slice);
          await j.progress(p);
        }
        if (slice > 0) await sleep(slice);
        rec({ ev: 'end', jobId: j.id, n: j.data.n, outcome: 'ok' });
        return { n: j.data.n, pid: process.pid };
      },
      blob: (j) => {
        rec({ ev: 'start', jobId: j.id, t_start: Date.now() });
        const json = JSON.stringify(j.data);
        return {
          sha256: createHash('sha256').update(json, 'utf8').digest('hex'),
          bytes: Buffer.byteLength(json, 'utf8'),
        };
      },
      email: (j) => {
        rec({ ev: 'start', jobId: j.id, t_start: Date.now() });
        return { sent: true as const };
      },
    },
    {
      connection: c.url,
      concurrency: c.concurrency ?? 1,
      leaseMs: c.leaseMs ?? 1000,
      stallCheckIntervalMs: c.stallCheckIntervalMs ?? 500,
      blockTimeoutMs: 1000,
      logger: { warn: () => {}, error: () => {} },
    },
  );
  worker.on('error', () => {});
  worker.on('failed', (e) =>
    rec({
      ev: 'failed',
      jobId: e.id,
      code: e.error.code,
      message: e.error.message,
      during: e.willRetry ? 'willRetry' : 'final',
    }),
  );
  process.on('message', (m: unknown) => {
    const cmd = (m as { cmd?: string } | null)?.cmd;
    if (cmd === 'resume') worker.resume();
    if (cmd === 'pause') worker.pause();
  });
  process.on('disconnect', () => process.exit(2));
  // Connected, or say ready anyway after 30 s (a loaded machine connects
  // slowly; the parent's scenario then shows what is wrong).
  const by = Date.now() + 30_000;
  while (!worker.health().ready && Date.now() < by) await sleep(20);
  // Paused only once ready: pause() cuts the blocking connection, which
  // would keep health() not-ready until the first resume.
  if (c.paused === true) worker.pause();
  rec({ ev: 'ready' });
  process.send?.({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`s20-s24-worker-child failed: ${String(err)}\n`);
  process.exit(1);
});
