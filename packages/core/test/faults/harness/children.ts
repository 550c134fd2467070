/**
 * Spawning the scenario child processes (`node <file, bundled> <json>`:
 * test-kit's nodeEntry) and talking to them over IPC.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeEntry } from '@jobwire/test-kit/node-entry';
import { PROCESS_START_MS } from '../../helpers/wait.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../../../../..');

export interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
  /**
   * Resolves at the child's `{ type: 'ready' }` message; rejects after
   * PROCESS_START_MS (a start-up on a loaded machine takes seconds).
   */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** Resolves with the next IPC message of `type`. */
  next<TMessage>(type: string, timeoutMs?: number): Promise<TMessage>;
  send(message: Record<string, unknown>): void;
  signal(sig: NodeJS.Signals): void;
  kill9(): Promise<void>;
  stderr(): string;
}

export const live = new Set<Child>();

/**
 * Starts `node <file, bundled> <json>`, optionally under a wrapper
 * command that execs node (e.g. `faketime -f +300s`), so the pid is node's
 * and IPC on fd 3 reaches it.
 */
export function spawnChild(
  file: string,
  config: object,
  options: { wrapper?: readonly string[]; env?: Record<string, string> } = {},
): Child {
  const nodeArgs = [
    process.execPath,
    ...nodeEntry(path.join(HERE, file)),
    JSON.stringify(config),
  ];
  const [cmd = process.execPath, ...pre] = options.wrapper ?? [];
  const args =
    options.wrapper === undefined ? nodeArgs.slice(1) : [...pre, ...nodeArgs];
  const child = spawn(cmd, args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...options.env },
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString('utf8');
    if (err.length > 20_000) err = err.slice(-10_000);
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const next = <TMessage>(type: string, timeoutMs = 15_000) =>
    new Promise<TMessage>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off('message', on);
        child.off('close', onExit);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no ${type} message from ${file} in ${timeoutMs} ms: ${err}`,
          ),
        );
      }, timeoutMs);
      const on = (m: unknown) => {
        if ((m as { type?: string } | null)?.type !== type) return;
        done();
        resolve(m as TMessage);
      };
      // A child that is gone will never answer: say so at once ('close'
      // comes after its last IPC message, 'exit' may come before).
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(
          new Error(
            `${file} exited (code ${String(code)}, signal ${String(signal)}) before its ${type} message: ${err}`,
          ),
        );
      };
      child.on('message', on);
      child.once('close', onExit);
    });
  const ready = next<void>('ready', PROCESS_START_MS).then(() => undefined);
  ready.catch(() => {});
  const handle: Child = {
    child,
    pid: child.pid ?? -1,
    ready,
    exited,
    next,
    send: (m) => {
      if (running() && child.connected) child.send(m);
    },
    signal: (sig) => {
      if (running()) child.kill(sig);
    },
    async kill9() {
      if (running()) {
        // A SIGSTOPped process still dies of SIGKILL.
        child.kill('SIGKILL');
      }
      await exited;
    },
    stderr: () => err,
  };
  live.add(handle);
  void exited.then(() => live.delete(handle));
  return handle;
}

/** SIGKILLs every child still running (afterEach). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.kill9()));
}
