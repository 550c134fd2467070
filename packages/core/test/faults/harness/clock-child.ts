/**
 * S15-S19 child process: a worker (`role: 'worker'`) or a producer
 * (`role: 'producer'`) for the `clock` registry, meant to run under
 * `faketime` too (see wrapped.ts). Times that matter are measured by the
 * parent on its own clock: the worker sends `{ type: 'start', jobId,
 * attempt }` over IPC at each handler start (when `ipcStarts`), the producer
 * answers `{ cmd: 'enqueue' }` with `{ type: 'enqueued', id }` as soon as the
 * enqueue resolved. Both append to a ledger as well.
 */
import {
  closeOnSignals,
  createQueue,
  createWorker,
  PermanentError,
} from '../../../src/index.ts';
import type { EnqueueOptions } from '../../../src/index.ts';
import { appendLedger } from './ledger.ts';
import { clockRegistry } from './clock-registry.ts';
import type { ClockPayload } from './clock-registry.ts';

export interface ClockChildConfig {
  role: 'worker' | 'producer';
  url: string;
  queue: string;
  ledger: string;
  concurrency?: number;
  leaseMs?: number;
  stallCheckIntervalMs?: number;
  blockTimeoutMs?: number;
  /** Send an IPC `start` message at every handler start. */
  ipcStarts?: boolean;
  /** Install closeOnSignals with this deadline. */
  deadlineMs?: number;
  /**
   * Create the worker paused (a spare, started ahead of time); IPC
   * `{ cmd: 'resume' }` resumes it and answers `{ type: 'resumed' }`.
   */
  paused?: boolean;
}

interface EnqueueCommand {
  cmd: 'enqueue';
  payload: ClockPayload;
  options?: EnqueueOptions;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));
const quiet = { warn: () => {}, error: () => {} };

async function worker(c: ClockChildConfig): Promise<void> {
  const rec = (e: Parameters<typeof appendLedger>[1]) =>
    appendLedger(c.ledger, e);
  const w = createWorker(
    clockRegistry(c.queue),
    {
      t: async (j) => {
        const tStart = Date.now();
        const base = { jobId: j.id, n: j.data.n, attempt: j.attempt };
        rec({ ev: 'start', ...base, t_start: tStart });
        if (c.ipcStarts === true)
          process.send?.({ type: 'start', jobId: j.id, attempt: j.attempt });
        if ((j.data.ms ?? 0) > 0) await sleep(j.data.ms ?? 0);
        const end = (outcome: 'ok' | 'threw') =>
          rec({
            ev: 'end',
            ...base,
            t_start: tStart,
            t_end: Date.now(),
            outcome,
          });
        if (j.data.mode === 'throw') {
          end('threw');
          throw new Error(`attempt ${j.attempt} fails on purpose`);
        }
        if (j.data.mode === 'permanent') {
          end('threw');
          throw new PermanentError('not retryable');
        }
        end('ok');
        return { n: j.data.n };
      },
    },
    {
      connection: c.url,
      concurrency: c.concurrency ?? 1,
      leaseMs: c.leaseMs ?? 1000,
      stallCheckIntervalMs: c.stallCheckIntervalMs ?? 500,
      blockTimeoutMs: c.blockTimeoutMs ?? 1000,
      logger: quiet,
    },
  );
  w.on('error', () => {});
  if (c.paused === true) w.pause();
  process.on('message', (m: unknown) => {
    if ((m as { cmd?: string } | null)?.cmd !== 'resume') return;
    w.resume();
    process.send?.({ type: 'resumed' });
  });
  w.on('stalled', (e) =>
    rec({ ev: 'leaseLost', during: `stalled:${e.requeued}:${e.failed}` }),
  );
  if (c.deadlineMs !== undefined)
    closeOnSignals(w, { deadlineMs: c.deadlineMs });
  process.on('disconnect', () => process.exit(2));
  // Connected, or say ready anyway after 30 s (a loaded machine connects
  // slowly; the parent's scenario then shows what is wrong).
  const by = Date.now() + 30_000;
  while (!w.health().ready && Date.now() < by) await sleep(20);
  rec({ ev: 'ready' });
  process.send?.({ type: 'ready' });
  process.send?.({ type: 'clock', now: Date.now() });
}

async function producer(c: ClockChildConfig): Promise<void> {
  const queue = createQueue(clockRegistry(c.queue), {
    connection: c.url,
    logger: quiet,
  });
  process.on('message', (m: unknown) => {
    const msg = m as EnqueueCommand | null;
    if (msg?.cmd !== 'enqueue') return;
    void queue.enqueue('t', msg.payload, msg.options).then(
      (h) => process.send?.({ type: 'enqueued', id: h.id }),
      (err: unknown) =>
        process.send?.({ type: 'enqueued', error: String(err) }),
    );
  });
  process.on('disconnect', () => {
    void queue.close().finally(() => process.exit(0));
  });
  process.send?.({ type: 'ready' });
  process.send?.({ type: 'clock', now: Date.now() });
}

const config = JSON.parse(process.argv[2]!) as ClockChildConfig;
(config.role === 'worker' ? worker(config) : producer(config)).catch(
  (err: unknown) => {
    process.stderr.write(`clock-child failed: ${String(err)}\n`);
    process.exit(1);
  },
);
