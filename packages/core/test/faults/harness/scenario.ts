/**
 * Per-scenario setup: a private redis-server, a ledger directory, a queue
 * name, an admin connection, and worker children; `cleanup()` kills what is
 * left and removes the temp dirs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startRedis } from '../../helpers/redis-server.ts';
import type {
  RedisServer,
  StartRedisOptions,
} from '../../helpers/redis-server.ts';
import { uniqueQueue } from '../../helpers/redis-server.ts';
import { killAll, spawnChild } from './children.ts';
import type { Child } from './children.ts';
import { checkInvariants } from './invariants.ts';
import { readLedgers } from './ledger.ts';
import type { LedgerEntry } from './ledger.ts';
import type { WorkerChildConfig } from './worker-child.ts';

/** docs/reliability.md's short timings: lease 1000 ms, check 500 ms, slack 2 s. */
export const LEASE_MS = 1000;
export const CHECK_MS = 500;
export const SLACK_MS = 2000;
export const PREFIX = 'jobwire';

export interface Scenario {
  readonly redis: RedisServer;
  readonly queue: string;
  readonly dir: string;
  readonly admin: Redis;
  /** Starts a worker child with its own ledger file; resolves when ready. */
  worker(
    name: string,
    config?: Partial<Omit<WorkerChildConfig, 'url' | 'queue' | 'ledger'>> & {
      url?: string;
    },
  ): Promise<Child>;
  ledger(): LedgerEntry[];
  invariants(): Promise<string[]>;
  /** The job ids in completed and failed. */
  finished(): Promise<Set<string>>;
  /** Events of the durable log for `id`, in order (`ev` field). */
  eventsOf(
    id?: string,
  ): Promise<{ ev: string; id: string; fields: Record<string, string> }[]>;
  cleanup(): Promise<void>;
}

export async function startScenario(
  opts: StartRedisOptions = {},
): Promise<Scenario> {
  const redis = await startRedis(opts);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-fault-'));
  const queue = uniqueQueue('f');
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  const base = `${PREFIX}:{${queue}}:`;
  return {
    redis,
    queue,
    dir,
    admin,
    async worker(name, config = {}) {
      const child = spawnChild('worker-child.ts', {
        url: redis.url,
        queue,
        ledger: path.join(dir, `${name}.jsonl`),
        leaseMs: LEASE_MS,
        stallCheckIntervalMs: CHECK_MS,
        ...config,
      });
      await child.ready;
      return child;
    },
    ledger: () => readLedgers(dir),
    invariants: () => checkInvariants(redis.url, PREFIX, queue),
    async finished() {
      const c = await admin.zrange(`${base}completed`, '0', '-1');
      const f = await admin.zrange(`${base}failed`, '0', '-1');
      return new Set([...c, ...f]);
    },
    async eventsOf(id) {
      const entries = await admin.xrange(`${base}events`, '-', '+');
      return entries
        .map(([, kv]) => {
          const fields: Record<string, string> = {};
          for (let i = 0; i < kv.length; i += 2) fields[kv[i]!] = kv[i + 1]!;
          return { ev: fields.ev ?? '', id: fields.id ?? '', fields };
        })
        .filter((e) => id === undefined || e.id === id);
    },
    async cleanup() {
      await killAll();
      admin.disconnect();
      await redis.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `cond` (a throw counts as not yet) every 25 ms until `timeoutMs`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await cond()) return Date.now() - t0;
    } catch {
      /* Redis down: not yet */
    }
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const quietLogger = { warn: () => {}, error: () => {} };
