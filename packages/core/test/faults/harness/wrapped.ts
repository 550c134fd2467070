/**
 * Spawns a harness child under a wrapper command, e.g.
 * `faketime -f +300s node --import tsx <file> <json>`. children.ts always
 * runs node directly; this builds the same `Child` handle (and registers it
 * in `live`, so `killAll()` still cleans up) around a wrapped spawn. The
 * wrapper must exec node (faketime does), so the pid is node's and IPC on
 * fd 3 reaches it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { live } from './children.ts';
import type { Child } from './children.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '../../../../..');

export function spawnWrapped(
  wrapper: readonly string[],
  file: string,
  config: object,
  env: Record<string, string> = {},
): Child {
  const [cmd, ...pre] = wrapper;
  if (cmd === undefined) throw new Error('spawnWrapped: empty wrapper');
  const child = spawn(
    cmd,
    [
      ...pre,
      process.execPath,
      '--import',
      'tsx',
      path.join(HERE, file),
      JSON.stringify(config),
    ],
    {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, ...env },
    },
  );
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
      const timer = setTimeout(() => {
        child.off('message', on);
        reject(new Error(`no ${type} message from ${file}: ${err}`));
      }, timeoutMs);
      const on = (m: unknown) => {
        if ((m as { type?: string } | null)?.type !== type) return;
        clearTimeout(timer);
        child.off('message', on);
        resolve(m as TMessage);
      };
      child.on('message', on);
    });
  const ready = next<void>('ready').then(() => undefined);
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
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    stderr: () => err,
  };
  live.add(handle);
  void exited.then(() => live.delete(handle));
  return handle;
}
