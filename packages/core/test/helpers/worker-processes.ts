import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import {
  spawnWorkerProcess,
  type WorkerProcess,
  type WorkerProcessConfig,
} from '../processes/worker-process.ts';
import { fastWorkerSettings } from './wait.ts';

/**
 * Worker processes for one test file, on `redis`: `start` spawns one with
 * the fast test settings, `ledgerDir` makes a temp dir for handler ledgers.
 * After each test every child is killed with SIGKILL and the dirs removed.
 */
export function useWorkerProcesses(redis: { readonly url: string }) {
  const children: WorkerProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill9();
    for (const d of dirs.splice(0))
      fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    start(config: Omit<WorkerProcessConfig, 'url'>): WorkerProcess {
      const wp = spawnWorkerProcess({
        url: redis.url,
        ...fastWorkerSettings,
        ...config,
      });
      children.push(wp);
      return wp;
    },
    ledgerDir(): string {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-ledger-'));
      dirs.push(dir);
      return dir;
    },
  };
}
