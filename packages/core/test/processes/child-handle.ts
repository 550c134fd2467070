/**
 * Shared plumbing of the worker-process test fixtures (worker-process.ts,
 * flow-worker.ts): spawning a fixture in its own `node --import tsx`
 * process with an IPC handle, reading its JSON-lines ledger, and telling
 * whether a fixture file runs as the main module.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PROCESS_START_MS } from '../helpers/wait.ts';

const REPO_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../..',
);

/** A fixture running in a child process. */
export interface ChildHandle {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves on the child's `{ type: 'ready' }` message; rejects on timeout or early exit. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Sends `{ cmd: 'close', deadlineMs }` (if still running) and waits for the exit. */
  close(deadlineMs?: number): Promise<void>;
  /** SIGKILLs the process (if still running) and waits for it to exit. */
  kill9(): Promise<void>;
  /** Collected stderr, for failure messages. */
  stderr(): string;
}

/**
 * Starts the fixture file `self` with its JSON config as argv[2].
 * `label` names it in failure messages.
 */
export function spawnChild(
  self: string,
  config: unknown,
  label: string,
): ChildHandle {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', self, JSON.stringify(config)],
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
          new Error(`${label} not ready in ${PROCESS_START_MS} ms: ${err}`),
        ),
      // tsx start-up on a loaded machine takes many seconds.
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
          `${label} exited before ready (code ${String(code)}, signal ${String(signal)}): ${err}`,
        ),
      );
    });
  });
  // Callers that never await `ready` must not see an unhandled rejection.
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

/** Reads a JSON-lines ledger (missing file = empty). */
export function readJsonLines<T>(file: string): T[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** True when the module at `metaUrl` is the script node was started with. */
export function isMainModule(metaUrl: string): boolean {
  return (
    process.argv[1] !== undefined &&
    pathToFileURL(path.resolve(process.argv[1])).href === metaUrl
  );
}
