/**
 * A jobwire worker in its own process, with an invocation ledger.
 * Run by children.ts: node worker-child.ts '<json config>' (bundled).
 *
 * One job type, `task`: the handler records its start, optionally spins
 * synchronously (`spinMs`, an event-loop stall), SIGKILLs itself (`kill`),
 * sleeps `ms` ignoring its signal (or until the signal aborts when
 * `honorSignal`), records its end and returns `{ n, pid }`.
 * IPC: `{ cmd: 'health' }` answers `{ type: 'health', health }`; `pause`
 * and `resume` answer `{ type: 'paused' }` and `{ type: 'resumed' }` once
 * applied, so the parent waits on them instead of sleeping.
 */
import { Redis } from 'ioredis';
import {
  closeOnSignals,
  createWorker,
  JobwireError,
} from '../../../src/index.ts';
import { appendLedger } from './ledger.ts';
import { faultRegistry } from './registry.ts';

export interface WorkerChildConfig {
  url: string;
  queue: string;
  ledger: string;
  concurrency?: number;
  leaseMs?: number;
  stallCheckIntervalMs?: number;
  maxStalls?: number;
  blockTimeoutMs?: number;
  /** Spin synchronously this long in every handler (event-loop stall). */
  spinMs?: number;
  /** After the spin, write progress and a log line, unawaited. */
  writeAfterSpin?: boolean;
  honorSignal?: boolean;
  /** Install closeOnSignals with this deadline. */
  deadlineMs?: number;
  /** Create the worker paused (its stall check still runs); IPC `resume`. */
  paused?: boolean;
  /** Read the lease token from Redis at each start (costs one round trip). */
  recordToken?: boolean;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

function codeOf(err: unknown): string {
  return err instanceof JobwireError ? err.code : String(err);
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as WorkerChildConfig;
  const rec = (e: Parameters<typeof appendLedger>[1]) =>
    appendLedger(c.ledger, e);
  process.on('unhandledRejection', (reason) =>
    rec({ ev: 'unhandled', message: String(reason) }),
  );
  const raw = c.recordToken
    ? new Redis(c.url, { lazyConnect: false })
    : undefined;
  raw?.on('error', () => {});
  const quiet = { warn: () => {}, error: () => {} };
  const worker = createWorker(
    faultRegistry(c.queue),
    {
      task: async (j) => {
        const tStart = Date.now();
        let leaseToken: string | undefined;
        if (raw !== undefined) {
          leaseToken =
            (await raw
              .hget(`jobwire:{${c.queue}}:j:${j.id}`, 'tk')
              .catch(() => null)) ?? undefined;
        }
        const base = {
          jobId: j.id,
          n: j.data.n,
          attempt: j.attempt,
          leaseToken,
        };
        rec({ ev: 'start', ...base, t_start: tStart });
        if (j.data.kill === true) {
          process.kill(process.pid, 'SIGKILL');
          await sleep(60_000);
        }
        if (c.spinMs !== undefined) {
          const until = Date.now() + c.spinMs;
          while (Date.now() < until) {
            /* a synchronous stall: no timer or I/O runs */
          }
          if (c.writeAfterSpin === true) {
            const note = (what: string) => (err: unknown) =>
              rec({
                ev: 'refused',
                jobId: j.id,
                during: what,
                code: codeOf(err),
              });
            void j.progress(50).catch(note('progress'));
            void j.log('after the stall').catch(note('log'));
          }
        }
        const ms = j.data.ms ?? 0;
        if (c.honorSignal === true) {
          await Promise.race([
            sleep(ms),
            new Promise<void>((r) =>
              j.signal.addEventListener('abort', () => r(), { once: true }),
            ),
          ]);
        } else if (ms > 0) {
          await sleep(ms);
        }
        rec({
          ev: 'end',
          ...base,
          t_start: tStart,
          t_end: Date.now(),
          outcome: 'ok',
          aborted: j.signal.aborted,
          abortCode: j.signal.aborted ? codeOf(j.signal.reason) : undefined,
        });
        return { n: j.data.n, pid: process.pid };
      },
    },
    {
      connection: c.url,
      concurrency: c.concurrency ?? 1,
      leaseMs: c.leaseMs ?? 1000,
      stallCheckIntervalMs: c.stallCheckIntervalMs ?? 500,
      maxStalls: c.maxStalls ?? 1,
      blockTimeoutMs: c.blockTimeoutMs ?? 1000,
      logger: quiet,
    },
  );
  worker.on('error', () => {});
  if (c.paused === true) worker.pause();
  worker.on('leaseLost', (e) =>
    rec({ ev: 'leaseLost', jobId: e.id, during: e.during }),
  );
  worker.on('completed', (e) => rec({ ev: 'completed', jobId: e.id }));
  if (c.deadlineMs !== undefined) {
    process.on('SIGTERM', () => rec({ ev: 'signal', signal: 'SIGTERM' }));
    closeOnSignals(worker, { deadlineMs: c.deadlineMs });
  }
  process.on('message', (m: unknown) => {
    const cmd = (m as { cmd?: string } | null)?.cmd;
    if (cmd === 'health')
      process.send?.({ type: 'health', health: worker.health() });
    if (cmd === 'resume') {
      worker.resume();
      process.send?.({ type: 'resumed' });
    }
    if (cmd === 'pause') {
      worker.pause();
      process.send?.({ type: 'paused' });
    }
  });
  process.on('disconnect', () => process.exit(2));
  // Connected, or say ready anyway after 30 s (a loaded machine connects
  // slowly; the parent's scenario then shows what is wrong).
  const by = Date.now() + 30_000;
  while (!worker.health().ready && Date.now() < by) await sleep(20);
  rec({ ev: 'ready' });
  process.send?.({ type: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-child failed: ${String(err)}\n`);
  process.exit(1);
});
