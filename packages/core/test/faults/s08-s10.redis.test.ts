/**
 * Fault scenarios S08-S10 of docs/reliability.md: Redis crashes
 * under enqueue load, during processing, and a long idle outage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueue } from '../../src/index.ts';
import { spawnChild } from './harness/children.ts';
import { summarize } from './harness/ledger.ts';
import { report } from './harness/report.ts';
import { faultRegistry } from './harness/registry.ts';
import {
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

const AOF_ALWAYS = { appendonly: true, extraArgs: ['--appendfsync', 'always'] };

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
describe('faults: Redis side', { timeout: 180_000 }, () => {
  it('S08 acknowledged enqueues survive kill -9 of Redis (AOF always)', async () => {
    sc = await startScenario(AOF_ALWAYS);
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const perProducer = 2500;
    const producers = Array.from({ length: 4 }, (_, tag) =>
      spawnChild('producer-child.ts', {
        url: s.redis.url,
        queue: s.queue,
        count: perProducer,
        inFlight: 50,
        ackFile: path.join(s.dir, `acks-${tag}.txt`),
        tag,
      }),
    );
    const done = producers.map((p) =>
      p.next<{
        acked: number;
        rejected: Record<string, number>;
        slowestMs: number;
      }>('done', 60_000),
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
    const rejected: Record<string, number> = {};
    for (const r of results)
      for (const [k, v] of Object.entries(r.rejected))
        rejected[k] = (rejected[k] ?? 0) + v;
    const slowestMs = Math.max(...results.map((r) => r.slowestMs));
    const dups = ids.length - new Set(ids).size;
    const violations = await s.invariants();
    report(
      'S08',
      {
        acked: ids.length,
        ackedAtKill,
        ackLost,
        rejected:
          Object.entries(rejected)
            .map(([k, v]) => `${k}:${v}`)
            .join(',') || 0,
        dup: dups,
        slowestSettleMs: slowestMs,
        boundMs: 2000,
      },
      ackLost === 0 &&
        dups === 0 &&
        slowestMs <= 2000 &&
        violations.length === 0,
    );
    expect(ackLost).toBe(0);
    expect(dups).toBe(0);
    expect(
      Object.keys(rejected).every((k) => k === 'RedisUnavailableError'),
    ).toBe(true);
    expect(slowestMs).toBeLessThanOrEqual(2000);
    expect(ids.length).toBeGreaterThan(ackedAtKill);
    expect(violations).toEqual([]);
  });

  it('S09 Redis kill -9 during processing: workers recover without restart', async () => {
    sc = await startScenario(AOF_ALWAYS);
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      connectTimeoutMs: 3000,
      logger: quietLogger,
    });
    try {
      const workers = await Promise.all([
        s.worker('a', { concurrency: 10 }),
        s.worker('b', { concurrency: 10 }),
      ]);
      const handles = await queue.enqueueBulk(
        Array.from({ length: 1000 }, (_, n) => ({
          name: 'task' as const,
          payload: { n, ms: 40 },
        })),
      );
      await until(
        async () => (await s.admin.zcard(`${base}completed`)) >= 200,
        15_000,
        '200 completed',
      );
      await s.redis.kill9();
      await new Promise((r) => setTimeout(r, 3000));
      await s.redis.restart();
      const boundMs = 30_000;
      const recoveryMs = await until(
        async () => (await s.admin.zcard(`${base}completed`)) === 1000,
        boundMs,
        'all 1000 completed',
      );
      const sum = summarize(
        s.ledger(),
        handles.map((h) => h.id),
        await s.finished(),
      );
      const violations = await s.invariants();
      report(
        'S09',
        {
          acked: 1000,
          lost: sum.lost.length,
          dup: sum.duplicates,
          dupBound: 20,
          recoveryMs,
          boundMs,
        },
        sum.lost.length === 0 &&
          sum.duplicates <= 20 &&
          violations.length === 0,
      );
      expect(sum.lost).toEqual([]);
      expect(sum.duplicates).toBeLessThanOrEqual(20);
      expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S10 an idle outage longer than any blocking timeout', async () => {
    sc = await startScenario();
    const s = sc;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      connectTimeoutMs: 3000,
      logger: quietLogger,
    });
    try {
      const w = await s.worker('w', { concurrency: 10 });
      const health = async () => {
        w.send({ cmd: 'health' });
        return (await w.next<{ health: { ready: boolean } }>('health', 2000))
          .health.ready;
      };
      expect(await health()).toBe(true);
      await s.redis.kill9();
      const notReadyMs = await until(
        async () => !(await health()),
        3000,
        'not ready',
      );
      await new Promise((r) => setTimeout(r, 15_000));
      const stillDown = await health();
      await s.redis.restart();
      const readyMs = await until(() => health(), 5000, 'ready again');
      const t0 = Date.now();
      const handles = await queue.enqueueBulk(
        Array.from({ length: 50 }, (_, n) => ({
          name: 'task' as const,
          payload: { n },
        })),
      );
      await Promise.all(handles.map((h) => h.finished({ timeoutMs: 5000 })));
      const drainMs = Date.now() - t0;
      const violations = await s.invariants();
      report(
        'S10',
        {
          outageMs: 15_000,
          notReadyMs,
          readyAfterMs: readyMs,
          boundMs: 5000,
          jobs50Ms: drainMs,
        },
        !stillDown &&
          readyMs <= 5000 &&
          drainMs <= 5000 &&
          violations.length === 0,
      );
      expect(stillDown).toBe(false);
      expect(readyMs).toBeLessThanOrEqual(5000);
      expect(drainMs).toBeLessThanOrEqual(5000);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
