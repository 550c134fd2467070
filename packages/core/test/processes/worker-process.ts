/**
 * A jobwire worker in its own process, for crash and signal tests.
 *
 * Run: node worker-process.ts '<json config>' (bundled: test-kit's nodeEntry)
 * (or with the config in the JOBWIRE_WORKER_CONFIG environment variable).
 *
 * It serves one job type, `task`, in the configured queue. Every handler
 * start and end is appended to the ledger file with appendFileSync, so a
 * SIGKILL loses nothing that happened before it.
 *
 * Behaviours:
 * - 'sleep': each job sleeps `payload.ms` (or `jobMs`), ignoring its signal,
 *   then returns `{ n }`.
 * - 'kill-on-flag': like 'sleep', but a job with `payload.kill === true`
 *   SIGKILLs its own process right after its start is recorded.
 *
 * Control: the IPC message `{ cmd: 'close', deadlineMs? }` closes the worker
 * and exits 0. With `signals: true` the worker uses `closeOnSignals`, so a
 * SIGTERM closes it gracefully (exit 0). The process exits with 2 when its
 * parent goes away, so it never outlives a test run.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  closeOnSignals,
  createWorker,
  defineJobs,
  job,
} from '../../src/index.ts';
import { nodeEntry } from '@jobwire/test-kit/node-entry';
import { PROCESS_START_MS } from '../helpers/wait.ts';

export interface WorkerProcessConfig {
  url: string;
  queue: string;
  ledger: string;
  behaviour?: 'sleep' | 'kill-on-flag';
  jobMs?: number;
  concurrency?: number;
  leaseMs?: number;
  stallCheckIntervalMs?: number;
  maxStalls?: number;
  blockTimeoutMs?: number;
  /**
   * Flow rules of `task` (issue 16), keyed by the payload's `k`: at most
   * `keyLimit` jobs of one key at once.
   */
  keyLimit?: number;
  /** Install closeOnSignals(worker). */
  signals?: boolean;
  deadlineMs?: number;
}

export interface LedgerEntry {
  ev: 'ready' | 'start' | 'end' | 'signal';
  pid: number;
  t: number;
  id?: string;
  n?: number;
  attempt?: number;
  signal?: string;
}

export function taskRegistry(queue: string, keyLimit?: number) {
  return defineJobs({
    task: job({
      queue,
      payload: z.object({
        n: z.number().int(),
        ms: z.number().int().min(0).optional(),
        kill: z.boolean().optional(),
        /** The flow key, with `keyLimit` (issue 16). */
        k: z.string().optional(),
      }),
      result: z.object({ n: z.number().int() }),
      ...(keyLimit
        ? {
            concurrency: {
              limit: keyLimit,
              key: (p: { k?: string }) => p.k ?? '-',
            },
          }
        : {}),
    }),
  });
}

function readConfig(): WorkerProcessConfig {
  const raw = process.argv[2] ?? process.env.JOBWIRE_WORKER_CONFIG;
  if (raw === undefined || raw === '') {
    throw new Error(
      'worker-process: pass the config as JSON in argv[2] or JOBWIRE_WORKER_CONFIG',
    );
  }
  return JSON.parse(raw) as WorkerProcessConfig;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const config = readConfig();
  const behaviour = config.behaviour ?? 'sleep';
  const record = (entry: Omit<LedgerEntry, 'pid' | 't'>): void => {
    const line: LedgerEntry = { ...entry, pid: process.pid, t: Date.now() };
    fs.appendFileSync(config.ledger, `${JSON.stringify(line)}\n`);
  };

  const registry = taskRegistry(config.queue, config.keyLimit);
  const worker = createWorker(
    registry,
    {
      task: async (j) => {
        record({ ev: 'start', id: j.id, n: j.data.n, attempt: j.attempt });
        if (behaviour === 'kill-on-flag' && j.data.kill === true) {
          process.kill(process.pid, 'SIGKILL');
          await sleep(60_000);
        }
        await sleep(j.data.ms ?? config.jobMs ?? 0);
        record({ ev: 'end', id: j.id, n: j.data.n, attempt: j.attempt });
        return { n: j.data.n };
      },
    },
    {
      connection: config.url,
      concurrency: config.concurrency ?? 1,
      leaseMs: config.leaseMs ?? 1000,
      stallCheckIntervalMs: config.stallCheckIntervalMs ?? 500,
      maxStalls: config.maxStalls ?? 1,
      blockTimeoutMs: config.blockTimeoutMs ?? 1000,
    },
  );
  worker.on('error', (err) => {
    process.stderr.write(`worker-process error: ${err.message}\n`);
  });

  if (config.signals === true) {
    for (const s of ['SIGTERM', 'SIGINT'] as const) {
      process.on(s, () => record({ ev: 'signal', signal: s }));
    }
    closeOnSignals(worker, { deadlineMs: config.deadlineMs });
  }

  let closing = false;
  process.on('message', (msg: unknown) => {
    const m = msg as { cmd?: string; deadlineMs?: number } | null;
    if (m?.cmd !== 'close' || closing) return;
    closing = true;
    void worker
      .close({ deadlineMs: m.deadlineMs })
      .then(() => process.exit(0))
      .catch(() => process.exit(1));
  });
  process.on('disconnect', () => {
    if (!closing) process.exit(2);
  });

  // Connected, or say ready anyway after 30 s (a loaded machine connects
  // slowly; the test then shows what is wrong).
  const readyBy = Date.now() + 30_000;
  while (!worker.health().ready && Date.now() < readyBy) await sleep(20);
  record({ ev: 'ready' });
  process.send?.({ type: 'ready', pid: process.pid });
}

// ----- used by the tests (importing this file does not start a worker) -----

const SELF = fileURLToPath(import.meta.url);
const REPO_ROOT = path.resolve(path.dirname(SELF), '../../../..');

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves once the worker's connections are ready. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code and signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Asks the worker to close and waits for the process to exit. */
  close(deadlineMs?: number): Promise<void>;
  /** SIGKILLs the process (if still running) and waits for it to exit. */
  kill9(): Promise<void>;
  /** Collected stderr, for failure messages. */
  stderr(): string;
}

/** Starts worker-process.ts in a child process (its bundle: test-kit's nodeEntry). */
export function spawnWorkerProcess(config: WorkerProcessConfig): WorkerProcess {
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
    (resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    },
  );
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `worker process not ready in ${PROCESS_START_MS} ms: ${err}`,
          ),
        ),
      // A start-up on a loaded machine takes seconds.
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
          `worker process exited before ready (code ${String(code)}, signal ${String(signal)}): ${err}`,
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
    async close(deadlineMs?: number) {
      if (running() && child.connected)
        child.send({ cmd: 'close', deadlineMs });
      await exited;
    },
    async kill9() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    stderr: () => err,
  };
}

/** Reads the ledger written by worker processes (missing file = empty). */
export function readLedger(file: string): LedgerEntry[] {
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
    .map((l) => JSON.parse(l) as LedgerEntry);
}

const isMain =
  process.argv[1] !== undefined &&
  pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url;

if (isMain) {
  main().catch((err: unknown) => {
    process.stderr.write(`worker-process failed: ${String(err)}\n`);
    process.exit(1);
  });
}
