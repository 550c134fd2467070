/**
 * S19 of docs/reliability.md (retention bounded by default), and
 * the informational S08 variant with `appendfsync everysec` that feeds the
 * durability advice in docs/guarantees.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueue, defaults } from '../../src/index.ts';
import { spawnChild } from './harness/children.ts';
import { clockRegistry } from './harness/clock-registry.ts';
import { report } from './harness/report.ts';
import {
  CHECK_MS,
  LEASE_MS,
  PREFIX,
  quietLogger,
  startScenario,
  until,
} from './harness/scenario.ts';
import type { Scenario } from './harness/scenario.ts';

let sc: Scenario | undefined;
afterEach(async () => {
  await sc?.cleanup();
  sc = undefined;
});

async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

function readIds(file: string): string[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

// Scenarios start worker processes and run for seconds: on a loaded
// two-core machine a start-up alone can take 20 s. A deadline for a hang;
// the bounds each scenario asserts are its own.
describe('faults: retention and persistence', { timeout: 180_000 }, () => {
  it('S19 retention is bounded by default over 50,000 jobs', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const total = 50_000;
    // One job in 100 fails (PermanentError, default attempts 1): 500
    // failed, under the default keep of 10,000, so all are kept.
    const failing = total / 100;
    const queue = createQueue(clockRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      const baseline = await usedMemory(s.admin);
      const workers = ['a', 'b'].map((name) =>
        spawnChild('clock-child.ts', {
          role: 'worker',
          url: s.redis.url,
          queue: s.queue,
          ledger: path.join(s.dir, `${name}.jsonl`),
          concurrency: 50,
          leaseMs: LEASE_MS * 5,
          stallCheckIntervalMs: CHECK_MS,
        }),
      );
      await Promise.all(workers.map((w) => w.ready));
      const t0 = Date.now();
      for (let start = 0; start < total; start += 10_000) {
        await queue.enqueueBulk(
          Array.from({ length: 10_000 }, (_, i) => ({
            name: 't' as const,
            payload: {
              n: start + i,
              ...((start + i) % 100 === 0
                ? { mode: 'permanent' as const }
                : {}),
            },
          })),
        );
      }
      const done = async () => {
        const c = await s.admin.hgetall(`${base}counts`);
        return (
          Number(c['t|w'] ?? 0) === 0 &&
          Number(c['t|a'] ?? 0) === 0 &&
          Number(c['t|f'] ?? 0) === failing
        );
      };
      await until(done, 25_000, 'all 50,000 processed');
      const elapsedMs = Date.now() - t0;
      const ends = s.ledger().filter((e) => e.ev === 'end').length;
      const completed = await s.admin.zcard(`${base}completed`);
      const failed = await s.admin.zcard(`${base}failed`);
      const events = await s.admin.xlen(`${base}events`);
      // MAXLEN ~ trims whole stream nodes: up to one node over the cap.
      const node = Number(
        (
          (await s.admin.config('GET', 'stream-node-max-entries')) as string[]
        )[1],
      );
      const eventCap = defaults.maxEvents + node;
      const dbsize = await s.admin.dbsize();
      const growth = (await usedMemory(s.admin)) - baseline;
      const peak = Number(
        /used_memory_peak:(\d+)/.exec(await s.admin.info('memory'))?.[1],
      );
      const violations = await s.invariants();
      const mb = (n: number) => `${(n / 1048576).toFixed(2)}MB`;
      const pass =
        ends === total &&
        growth <= 10 * 1048576 &&
        completed <= defaults.keepCompleted.count &&
        failed === failing &&
        events <= eventCap &&
        violations.length === 0;
      report(
        'S19',
        {
          jobs: total,
          processedMs: elapsedMs,
          memGrowth: mb(growth),
          memBound: '10MB',
          memPeak: mb(peak - baseline),
          completed,
          keepCompleted: defaults.keepCompleted.count,
          failed,
          keepFailed: defaults.keepFailed.count,
          events,
          eventCap,
          keys: dbsize,
          violations: violations.length,
        },
        pass,
      );
      expect(ends).toBe(total);
      expect(growth).toBeLessThanOrEqual(10 * 1048576);
      expect(completed).toBeLessThanOrEqual(defaults.keepCompleted.count);
      expect(failed).toBe(failing);
      expect(events).toBeLessThanOrEqual(eventCap);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S08 variant: kill -9 of Redis under enqueue load with appendfsync everysec (informational)', async () => {
    sc = await startScenario({
      appendonly: true,
      extraArgs: ['--appendfsync', 'everysec'],
    });
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    // S08's setup and producer children, with everysec instead of always.
    const producers = Array.from({ length: 4 }, (_, tag) =>
      spawnChild('producer-child.ts', {
        url: s.redis.url,
        queue: s.queue,
        count: 2500,
        inFlight: 50,
        ackFile: path.join(s.dir, `acks-${tag}.txt`),
        tag,
      }),
    );
    const done = producers.map((p) =>
      p.next<{ acked: number; rejected: Record<string, number> }>(
        'done',
        60_000,
      ),
    );
    await Promise.all(producers.map((p) => p.ready));
    const ackedNow = () =>
      producers.reduce(
        (n, _, tag) => n + readIds(path.join(s.dir, `acks-${tag}.txt`)).length,
        0,
      );
    await until(() => ackedNow() >= 4000, 20_000, '40 % acknowledged');
    await s.redis.kill9();
    const ackedAtKill = ackedNow();
    await new Promise((r) => setTimeout(r, 1000));
    await s.redis.restart();
    const results = await Promise.all(done);
    const ids = producers.flatMap((_, tag) =>
      readIds(path.join(s.dir, `acks-${tag}.txt`)),
    );
    const pipe = s.admin.pipeline();
    for (const id of ids) pipe.exists(`${base}j:${id}`);
    const exists = (await pipe.exec())!.map(([, v]) => Number(v));
    const ackLost = exists.filter((v) => v !== 1).length;
    const rejected = results.reduce(
      (n, r) => n + Object.values(r.rejected).reduce((a, b) => a + b, 0),
      0,
    );
    const dups = ids.length - new Set(ids).size;
    const violations = await s.invariants();
    report(
      'S08-everysec',
      {
        acked: ids.length,
        ackedAtKill,
        ackLost,
        rejected,
        dup: dups,
        violations: violations.length,
      },
      dups === 0 && violations.length === 0,
    );
    // Informational: only the invariants are asserted.
    expect(dups).toBe(0);
    expect(violations).toEqual([]);
  });
});
