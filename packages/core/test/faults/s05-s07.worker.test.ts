/**
 * Fault scenarios S05-S07 of docs/reliability.md: graceful
 * shutdown, shutdown past the deadline, misbehaving handlers.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueue } from '../../src/index.ts';
import type { JobHandle } from '../../src/index.ts';
import { spawnChild } from './harness/children.ts';
import { report } from './harness/report.ts';
import {
  failureModes,
  failureRegistry,
  faultRegistry,
} from './harness/registry.ts';
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

// Scenarios start worker processes and run for seconds: on a loaded
// two-core machine a start-up alone can take 20 s. A deadline for a hang;
// the bounds each scenario asserts are its own.
describe('faults: shutdown and handler failures', { timeout: 180_000 }, () => {
  it('S05 SIGTERM: running jobs finish, nothing new starts, exit 0 in time', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      const w = await s.worker('w', { concurrency: 20, deadlineMs: 10_000 });
      const active = await queue.enqueueBulk(
        Array.from({ length: 20 }, (_, n) => ({
          name: 'task' as const,
          payload: { n, ms: 2000 },
        })),
      );
      await until(
        () => s.ledger().filter((e) => e.ev === 'start').length === 20,
        5000,
        '20 jobs running',
      );
      const waiting = await queue.enqueueBulk(
        Array.from({ length: 100 }, (_, n) => ({
          name: 'task' as const,
          payload: { n: 100 + n, ms: 2000 },
        })),
      );
      const signalAt = Date.now();
      w.signal('SIGTERM');
      const { code } = await w.exited;
      const exitMs = Date.now() - signalAt;
      const ledger = s.ledger();
      const lateStarts = ledger.filter(
        (e) => e.ev === 'start' && e.t > signalAt + 50,
      );
      const ended = new Set(
        ledger.filter((e) => e.ev === 'end').map((e) => e.jobId),
      );
      const untouched = await Promise.all(
        waiting.map(async (h) => {
          const [st, a] = await s.admin.hmget(`${base}j:${h.id}`, 's', 'a');
          return st === 'w' && (a ?? '0') === '0'; // absent until the first attempt ends
        }),
      );
      await new Promise((r) => setTimeout(r, LEASE_MS + CHECK_MS));
      const stalled = (await s.eventsOf()).filter((e) => e.ev === 'stalled');
      const violations = await s.invariants();
      const pass =
        code === 0 &&
        exitMs <= 2500 &&
        lateStarts.length === 0 &&
        stalled.length === 0;
      report(
        'S05',
        {
          completed: active.filter((h) => ended.has(h.id)).length,
          lateStarts: lateStarts.length,
          exitCode: String(code),
          exitMs,
          boundMs: 2500,
          untouched: untouched.filter(Boolean).length,
        },
        pass && violations.length === 0,
      );
      expect(code).toBe(0);
      expect(exitMs).toBeLessThanOrEqual(2500);
      expect(lateStarts).toEqual([]);
      expect(active.every((h) => ended.has(h.id))).toBe(true);
      expect(await s.admin.zcard(`${base}completed`)).toBe(20);
      expect(untouched.every(Boolean)).toBe(true);
      expect(stalled).toEqual([]);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S06 shutdown deadline exceeded: signals abort with Shutdown, jobs released at once', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      const w = await s.worker('w', {
        concurrency: 5,
        deadlineMs: 1000,
        honorSignal: true,
      });
      const handles = await queue.enqueueBulk(
        Array.from({ length: 5 }, (_, n) => ({
          name: 'task' as const,
          payload: { n, ms: 60_000 },
        })),
      );
      await until(
        () => s.ledger().filter((e) => e.ev === 'start').length === 5,
        5000,
        '5 jobs running',
      );
      const signalAt = Date.now();
      w.signal('SIGTERM');
      const { code } = await w.exited;
      const exitMs = Date.now() - signalAt;
      // Released explicitly: back in waiting as soon as the process is gone.
      const states = await Promise.all(
        handles.map((h) => s.admin.hmget(`${base}j:${h.id}`, 's', 'a', 'sc')),
      );
      const ends = s.ledger().filter((e) => e.ev === 'end');
      const violations = await s.invariants();
      const released = states.filter(([st]) => st === 'w').length;
      const pass = exitMs <= 1500 && released === 5;
      report(
        'S06',
        {
          exitCode: String(code),
          exitMs,
          boundMs: 1500,
          released,
          abortedShutdown: ends.filter((e) => e.abortCode === 'SHUTDOWN')
            .length,
          attemptsUsed: states.reduce((n, [, a]) => n + Number(a), 0),
        },
        pass && violations.length === 0,
      );
      expect(exitMs).toBeLessThanOrEqual(1500);
      expect(code).toBe(0);
      expect(ends).toHaveLength(5);
      for (const e of ends) expect(e.abortCode).toBe('SHUTDOWN');
      // The documented rule: a job released at the shutdown deadline consumes
      // no attempt and no stall, and keeps its place in line. (Attempts made
      // and stalls are absent until the first one.)
      expect(states).toEqual(handles.map(() => ['w', null, null]));
      expect(await s.admin.zcard(`${base}active`)).toBe(0);
      const released5 = (await s.eventsOf()).filter(
        (e) => e.ev === 'waiting' && e.fields.released === '1',
      );
      expect(released5).toHaveLength(5);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S07 handler failure modes fail the job with a serialized error and never kill the worker', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(failureRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      const w = spawnChild('s07-child.ts', {
        url: s.redis.url,
        queue: s.queue,
        ledger: path.join(s.dir, 's07.jsonl'),
      });
      await w.ready;
      const handles: JobHandle<unknown>[] = [];
      for (const mode of failureModes) {
        handles.push(
          await queue.enqueue(
            'h',
            { mode },
            mode === 'never' ? { timeoutMs: 500 } : undefined,
          ),
        );
      }
      await until(
        // The worker's `failed` event follows the script's reply, so the
        // ledger can trail Redis by a moment: wait for both.
        async () =>
          (await s.admin.zcard(`${base}failed`)) === failureModes.length &&
          s.ledger().filter((e) => e.ev === 'failed').length ===
            failureModes.length,
        15_000,
        'every misbehaving job failed',
      ).catch((err: unknown) => {
        throw new Error(
          `${String(err)}; ledger ${JSON.stringify(s.ledger())}; stderr ${w.stderr()}; exit ${String(w.child.exitCode)}`,
        );
      });
      const ledger = s.ledger();
      const starts = ledger.filter((e) => e.ev === 'start');
      const fails = ledger.filter((e) => e.ev === 'failed');
      const timeoutJob = handles[0]!.id;
      const timeoutMs =
        fails.find((e) => e.jobId === timeoutJob)!.t -
        starts.find((e) => e.jobId === timeoutJob)!.t;
      // With concurrency 1, the next job starts soon after the previous one failed.
      let worstGapMs = 0;
      for (let i = 1; i < handles.length; i++) {
        const failedAt = fails.find((e) => e.jobId === handles[i - 1]!.id)!.t;
        const nextStart = starts.find((e) => e.jobId === handles[i]!.id)!.t;
        worstGapMs = Math.max(worstGapMs, nextStart - failedAt);
      }
      const errors = await Promise.all(
        handles.map(async (h) => {
          const raw = await s.admin.hget(`${base}j:${h.id}`, 'e');
          return (
            JSON.parse(raw ?? '[]') as { code: string; message: string }[]
          )[0];
        }),
      );
      const violations = await s.invariants();
      const alive = w.child.exitCode === null && w.child.signalCode === null;
      report(
        'S07',
        {
          failed: fails.length,
          timeoutMs,
          worstNextStartMs: worstGapMs,
          alive,
          codes: errors.map((e) => e?.code ?? 'none').join(','),
        },
        alive &&
          fails.length === failureModes.length &&
          violations.length === 0,
      );
      expect(alive).toBe(true);
      expect(fails).toHaveLength(failureModes.length);
      expect(starts).toHaveLength(failureModes.length);
      expect(timeoutMs).toBeGreaterThanOrEqual(250);
      expect(timeoutMs).toBeLessThanOrEqual(750);
      expect(worstGapMs).toBeLessThanOrEqual(1000);
      for (const e of errors) {
        expect(typeof e?.code).toBe('string');
        expect(typeof e?.message).toBe('string');
      }
      expect(errors[0]?.code).toBe('TIMEOUT');
      // Regression (worker.ts): the stray rejection is reported through the
      // worker's error event; it used to crash the process.
      expect(
        ledger.filter((e) => e.ev === 'unhandled').map((e) => e.message),
      ).toEqual(['stray rejection']);
      expect(await s.admin.zcard(`${base}active`)).toBe(0);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
