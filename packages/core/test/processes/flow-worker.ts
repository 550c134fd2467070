/**
 * A jobwire worker process for the flow control tests (issue 16):
 * node flow-worker.ts '<json config>' (bundled: test-kit's nodeEntry).
 *
 * It serves one job type, `flow`, whose flow rules come from the config
 * (`FlowRuleSpec`, a serialisable description: every keyed rule keys on
 * `payload.key`). The test's producer builds the same registry with
 * `flowRegistry`, so both sides enforce and store the same rules.
 *
 * Each handler start and end, each abort its signal sees, and each outcome
 * the worker stores is appended to the ledger with appendFileSync, so a
 * SIGKILL loses nothing written before it. Handlers sleep `payload.ms`
 * (ignoring the signal), or with `payload.untilAbort` wait for the signal
 * and throw its reason. With `killOnFlag`, a job with `payload.kill` kills
 * its own process (SIGKILL) right after its start is recorded (once per
 * `killMarker`).
 *
 * Sends `{ type: 'ready' }` once connected; the IPC message
 * `{ cmd: 'close' }` closes the worker and exits 0; exits 2 when its parent
 * goes away.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { createWorker, defineJobs, job } from '../../src/index.ts';
import { nodeEntry } from '@jobwire/test-kit/node-entry';
import { PROCESS_START_MS } from '../helpers/wait.ts';

/** The flow rules of the `flow` type, as JSON. Keyed rules key on `payload.key`. */
export interface FlowRuleSpec {
  rateLimit?: { limit: number; perMs: number; keyed?: boolean };
  /** Per-key concurrency (always keyed). */
  concurrency?: { limit: number };
  debounce?: { periodMs: number; keyed?: boolean };
  throttle?: { limit: number; periodMs: number; keyed?: boolean };
}

export interface FlowWorkerConfig {
  url: string;
  queue: string;
  ledger: string;
  rules: FlowRuleSpec;
  concurrency?: number;
  prefetch?: number;
  leaseMs?: number;
  stallCheckIntervalMs?: number;
  maxStalls?: number;
  blockTimeoutMs?: number;
  /** A job with `payload.kill` SIGKILLs this process once started. */
  killOnFlag?: boolean;
  /**
   * With `killOnFlag`: a file created (exclusively) before the kill, so of
   * all processes sharing it only the first to run a flagged job dies and
   * the job's re-run completes.
   */
  killMarker?: string;
}

export interface FlowLedgerEntry {
  ev:
    'ready' | 'start' | 'end' | 'abort' | 'completed' | 'failed' | 'cancelled';
  pid: number;
  /** Date.now() when written. */
  t: number;
  id?: string;
  n?: number;
  key?: string;
  attempt?: number;
}

const flowPayload = z.object({
  n: z.number().int(),
  key: z.string().min(1),
  ms: z.number().int().min(0).optional(),
  kill: z.boolean().optional(),
  untilAbort: z.boolean().optional(),
});

/**
 * The registry both sides use: one type `flow` in `queue` with the given
 * rules, keeping every finished job (tests read their hashes afterwards).
 * Three attempts, so a test can tell "not retried" from "no attempts left".
 */
export function flowRegistry(queue: string, rules: FlowRuleSpec) {
  // One function for every keyed rule: job() refuses two different ones.
  const key = (p: z.output<typeof flowPayload>): string => p.key;
  return defineJobs({
    flow: job({
      queue,
      payload: flowPayload,
      result: z.object({ n: z.number().int() }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 10 },
      retention: { completed: true, failed: true },
      ...(rules.rateLimit
        ? {
            rateLimit: {
              limit: rules.rateLimit.limit,
              perMs: rules.rateLimit.perMs,
              ...(rules.rateLimit.keyed === true ? { key } : {}),
            },
          }
        : {}),
      ...(rules.concurrency
        ? { concurrency: { limit: rules.concurrency.limit, key } }
        : {}),
      ...(rules.debounce
        ? {
            debounce: {
              periodMs: rules.debounce.periodMs,
              ...(rules.debounce.keyed === true ? { key } : {}),
            },
          }
        : {}),
      ...(rules.throttle
        ? {
            throttle: {
              limit: rules.throttle.limit,
              periodMs: rules.throttle.periodMs,
              ...(rules.throttle.keyed === true ? { key } : {}),
            },
          }
        : {}),
    }),
  });
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** True for the first caller across processes sharing `killMarker`. */
function firstKill(c: FlowWorkerConfig): boolean {
  if (c.killMarker === undefined) return true;
  try {
    fs.closeSync(fs.openSync(c.killMarker, 'wx'));
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error('flow-worker: pass the config JSON');
  const c = JSON.parse(raw) as FlowWorkerConfig;
  const record = (e: Omit<FlowLedgerEntry, 'pid' | 't'>): void => {
    const line: FlowLedgerEntry = { ...e, pid: process.pid, t: Date.now() };
    fs.appendFileSync(c.ledger, `${JSON.stringify(line)}\n`);
  };
  const worker = createWorker(
    flowRegistry(c.queue, c.rules),
    {
      flow: async (j) => {
        const base = { id: j.id, n: j.data.n, key: j.data.key };
        record({ ev: 'start', ...base, attempt: j.attempt });
        if (c.killOnFlag === true && j.data.kill === true && firstKill(c)) {
          process.kill(process.pid, 'SIGKILL');
          await sleep(60_000);
        }
        if (j.data.untilAbort === true) {
          await new Promise<void>((resolve) => {
            if (j.signal.aborted) resolve();
            j.signal.addEventListener('abort', () => resolve(), {
              once: true,
            });
          });
          record({ ev: 'abort', ...base });
          throw j.signal.reason;
        }
        await sleep(j.data.ms ?? 0);
        record({ ev: 'end', ...base });
        return { n: j.data.n };
      },
    },
    {
      connection: c.url,
      concurrency: c.concurrency ?? 1,
      ...(c.prefetch !== undefined ? { prefetch: c.prefetch } : {}),
      leaseMs: c.leaseMs ?? 1000,
      stallCheckIntervalMs: c.stallCheckIntervalMs ?? 500,
      maxStalls: c.maxStalls ?? 1,
      blockTimeoutMs: c.blockTimeoutMs ?? 1000,
      logger: { warn: () => {}, error: () => {} },
    },
  );
  // Redis restarts in the fault test: errors are expected there.
  worker.on('error', () => {});
  worker.on('completed', (e) => record({ ev: 'completed', id: e.id }));
  worker.on('failed', (e) => {
    if (!e.willRetry) record({ ev: 'failed', id: e.id });
  });
  worker.on('cancelled', (e) => record({ ev: 'cancelled', id: e.id }));

  let closing = false;
  process.on('message', (msg: unknown) => {
    if ((msg as { cmd?: string } | null)?.cmd !== 'close' || closing) return;
    closing = true;
    void worker
      .close({ deadlineMs: 2000 })
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  });
  process.on('disconnect', () => {
    if (!closing) process.exit(2);
  });
  const readyBy = Date.now() + 30_000;
  while (!worker.health().ready && Date.now() < readyBy) await sleep(20);
  record({ ev: 'ready' });
  process.send?.({ type: 'ready', pid: process.pid });
}

// ----- used by the tests (importing this file does not start a worker) -----

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(SELF), '../../../..');

export interface FlowWorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  close(): Promise<void>;
  kill9(): Promise<void>;
  stderr(): string;
}

/** Starts flow-worker.ts in a child process (its bundle: test-kit's nodeEntry). */
export function spawnFlowWorker(config: FlowWorkerConfig): FlowWorkerProcess {
  const child = spawn(
    process.execPath,
    [...nodeEntry(SELF), JSON.stringify(config)],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`flow worker not ready: ${err}`)),
      PROCESS_START_MS,
    );
    child.on('message', (m: unknown) => {
      if ((m as { type?: string } | null)?.type === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          `flow worker exited before ready (code ${String(code)}, signal ${String(signal)}): ${err}`,
        ),
      );
    });
  });
  ready.catch(() => {});
  const running = (): boolean =>
    child.exitCode === null && child.signalCode === null;
  return {
    child,
    pid: child.pid ?? -1,
    ready,
    exited,
    async close() {
      if (running() && child.connected) child.send({ cmd: 'close' });
      await exited;
    },
    async kill9() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    stderr: () => err,
  };
}

/** Reads a flow ledger (missing file = empty). */
export function readFlowLedger(file: string): FlowLedgerEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  // A process may be appending a line right now: the text after the last
  // newline is not a whole entry yet.
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as FlowLedgerEntry);
}

const isMain =
  process.argv[1] !== undefined &&
  pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url;

if (isMain) {
  main().catch((err: unknown) => {
    process.stderr.write(`flow-worker failed: ${String(err)}\n`);
    process.exit(1);
  });
}
