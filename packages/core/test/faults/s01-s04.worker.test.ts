/**
 * Fault scenarios S01-S04 of docs/reliability.md: worker crashes,
 * lease renewal, fencing after an event-loop stall, a poison pill. Real redis-server and
 * real worker processes; one figure line per scenario.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createQueue } from '../../src/index.ts';
import { report } from './harness/report.ts';
import { summarize } from './harness/ledger.ts';
import {
  CHECK_MS,
  LEASE_MS,
  PREFIX,
  quietLogger,
  SLACK_MS,
  startScenario,
  until,
} from './harness/scenario.ts';
import type { Scenario } from './harness/scenario.ts';
import type { Child } from './harness/children.ts';
import { faultRegistry } from './harness/registry.ts';

let sc: Scenario | undefined;
afterEach(async () => {
  await sc?.cleanup();
  sc = undefined;
});

// Scenarios start worker processes and run for seconds: on a loaded
// two-core machine a start-up alone can take 20 s. A deadline for a hang;
// the bounds each scenario asserts are its own.
describe('faults: worker side', { timeout: 180_000 }, () => {
  it('S01 a worker SIGKILLed mid-flight: nothing lost, duplicates bounded by its active jobs', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      const [a, b] = await Promise.all([
        s.worker('a', { concurrency: 20, recordToken: true }),
        s.worker('b', { concurrency: 20, recordToken: true }),
      ]);
      const handles = await queue.enqueueBulk(
        Array.from({ length: 200 }, (_, n) => ({
          name: 'task' as const,
          // 300-1500 ms, spread deterministically
          payload: { n, ms: 300 + ((n * 397) % 1201) },
        })),
      );
      const acked = handles.map((h) => h.id);
      const activeOnA = () => {
        const mine = s.ledger().filter((e) => e.pid === a.pid);
        const ended = new Set(
          mine.filter((e) => e.ev === 'end').map((e) => e.jobId),
        );
        return mine.filter((e) => e.ev === 'start' && !ended.has(e.jobId));
      };
      await until(() => activeOnA().length >= 20, 10_000, 'A running 20 jobs');
      await a.kill9();
      const killedAt = Date.now();
      const inFlight = activeOnA().map((e) => e.jobId!);
      const boundMs = LEASE_MS + CHECK_MS + 15_000;
      const recoveryMs = await until(
        async () => (await s.admin.zcard(`${base}completed`)) === 200,
        boundMs,
        'all 200 completed',
      );
      const finished = await s.finished();
      const sum = summarize(s.ledger(), acked, finished);
      const dupBound = inFlight.length;
      const events = await s.eventsOf();
      const stalledIds = new Set(
        events.filter((e) => e.ev === 'stalled').map((e) => e.id),
      );
      const violations = await s.invariants();
      const pass =
        sum.lost.length === 0 &&
        sum.duplicates <= dupBound &&
        violations.length === 0;
      report(
        'S01',
        {
          acked: acked.length,
          lost: sum.lost.length,
          dup: sum.duplicates,
          dupBound,
          recoveryMs,
          boundMs,
        },
        pass,
      );
      expect(Date.now() - killedAt).toBeLessThanOrEqual(boundMs + 1000);
      expect(sum.lost).toEqual([]);
      expect(sum.duplicates).toBeLessThanOrEqual(dupBound);
      expect(await s.admin.zcard(`${base}active`)).toBe(0);
      // Every job A had in flight was re-delivered once, with a durable stalled event.
      for (const id of inFlight) {
        expect(sum.perJob.get(id)).toBe(2);
        expect(await s.admin.hget(`${base}j:${id}`, 'sc')).toBe('1');
        expect(stalledIds.has(id)).toBe(true);
      }
      // Re-deliveries carry fresh lease tokens.
      const tokens = s
        .ledger()
        .filter((e) => e.ev === 'start' && inFlight.includes(e.jobId!));
      for (const id of inFlight) {
        const t = tokens.filter((e) => e.jobId === id).map((e) => e.leaseToken);
        expect(new Set(t).size).toBe(2);
      }
      expect(stalledIds.size).toBe(inFlight.length);
      expect(violations).toEqual([]);
      expect(b.child.exitCode).toBe(null);
    } finally {
      await queue.close();
    }
  });

  it('S02 lease renewal keeps long jobs exclusive', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      await Promise.all([
        s.worker('a', { concurrency: 5 }),
        s.worker('b', { concurrency: 5 }),
      ]);
      const jobMs = 6 * LEASE_MS;
      const handles = await queue.enqueueBulk(
        Array.from({ length: 10 }, (_, n) => ({
          name: 'task' as const,
          payload: { n, ms: jobMs },
        })),
      );
      // Sample each running job's remaining lease every 100 ms.
      let minRemaining = Infinity;
      let samples = 0;
      const t0 = Date.now();
      while ((await s.admin.zcard(`${base}completed`)) < 10) {
        if (Date.now() - t0 > jobMs + 10_000)
          throw new Error('S02 jobs did not finish');
        const [sec, usec] = await s.admin.time();
        const now = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
        const active = await s.admin.zrange(
          `${base}active`,
          '0',
          '-1',
          'WITHSCORES',
        );
        for (let i = 1; i < active.length; i += 2) {
          minRemaining = Math.min(minRemaining, Number(active[i]) - now);
          samples++;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const sum = summarize(
        s.ledger(),
        handles.map((h) => h.id),
        await s.finished(),
      );
      const stalled = (await s.eventsOf()).filter((e) => e.ev === 'stalled');
      const violations = await s.invariants();
      const pass =
        sum.invocations === 10 &&
        stalled.length === 0 &&
        minRemaining >= LEASE_MS / 2;
      report(
        'S02',
        {
          invocations: sum.invocations,
          stalled: stalled.length,
          samples,
          minLeaseLeftMs: minRemaining,
          floorMs: LEASE_MS / 2,
        },
        pass && violations.length === 0,
      );
      expect(samples).toBeGreaterThan(100);
      expect(sum.invocations).toBe(10);
      expect(sum.lost).toEqual([]);
      expect(stalled).toEqual([]);
      expect(minRemaining).toBeGreaterThanOrEqual(LEASE_MS / 2);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it("S03 fencing after an event-loop stall: the stalled worker's writes are refused", async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      // B runs its stall check from the start but takes jobs only once told.
      const [a, b] = await Promise.all([
        s.worker('a', { spinMs: 3 * LEASE_MS, writeAfterSpin: true }),
        s.worker('b', { paused: true }),
      ]);
      const x = await queue.enqueue('task', { n: 1, ms: 200 });
      await until(
        () => s.ledger().some((e) => e.ev === 'start' && e.pid === a.pid),
        15_000,
        'A started X',
      );
      // Seen a little after A's start: the measured window is, if anything,
      // shorter than the real one.
      const frozenAt = Date.now();
      await until(
        async () => (await s.eventsOf(x.id)).some((e) => e.ev === 'stalled'),
        LEASE_MS + CHECK_MS + SLACK_MS,
        'X recovered as stalled',
      );
      b.send({ cmd: 'resume' });
      const result = await x.finished({ timeoutMs: 20_000 });
      const takeoverMs = Date.now() - frozenAt;
      // Wait for A to come out of its spin and end the handler, then for
      // the answers to its two unawaited writes (a refusal each; if one
      // never comes, the assertions below show it).
      const ofA = (ev: string) =>
        s.ledger().filter((e) => e.pid === a.pid && e.ev === ev);
      await until(
        () => ofA('end').length > 0,
        3 * LEASE_MS + 20_000,
        'A unblocked',
      );
      await until(
        () => ofA('refused').length >= 2 && ofA('leaseLost').length >= 1,
        10_000,
        "A's writes answered",
      ).catch(() => {});
      const mineA = s.ledger().filter((e) => e.pid === a.pid);
      const refused = mineA.filter((e) => e.ev === 'refused');
      const endA = mineA.find((e) => e.ev === 'end');
      const completions = (await s.eventsOf(x.id)).filter(
        (e) => e.ev === 'completed',
      );
      const violations = await s.invariants();
      a.send({ cmd: 'health' });
      const health = await a.next<{ health: { ready: boolean } }>('health');
      const pass =
        result.pid === b.pid &&
        completions.length === 1 &&
        refused.length === 2;
      report(
        'S03',
        {
          takeoverMs,
          refused: refused.map((e) => `${e.during}:${e.code}`).join(','),
          abort: endA?.abortCode ?? 'none',
          completions: completions.length,
          winner: result.pid === b.pid ? 'B' : 'A',
        },
        pass && violations.length === 0,
      );
      expect(result.pid).toBe(b.pid);
      expect(completions).toHaveLength(1);
      expect(JSON.parse(completions[0]!.fields.r!)).toEqual({
        n: 1,
        pid: b.pid,
      });
      expect(
        JSON.parse((await s.admin.hget(`${base}j:${x.id}`, 'r'))!),
      ).toEqual({ n: 1, pid: b.pid });
      expect(refused.map((e) => [e.during, e.code]).sort()).toEqual([
        ['log', 'LEASE_LOST'],
        ['progress', 'LEASE_LOST'],
      ]);
      expect(mineA.filter((e) => e.ev === 'leaseLost')).toHaveLength(1);
      expect(mineA.filter((e) => e.ev === 'completed')).toEqual([]);
      expect(mineA.filter((e) => e.ev === 'unhandled')).toEqual([]);
      expect(endA?.aborted).toBe(true);
      expect(endA?.abortCode).toBe('LEASE_LOST');
      // A's progress and log never reached the job.
      expect(await s.admin.hget(`${base}j:${x.id}`, 'pg')).toBe(null);
      expect(await s.admin.llen(`${base}l:${x.id}`)).toBe(0);
      expect(a.child.exitCode).toBe(null);
      expect(health.health.ready).toBe(true);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });
  it('S04 a poison pill that kills its worker fails with STALL_LIMIT and does not block others', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    // Two worker slots, each refilled by this "supervisor" when its worker
    // dies, by resuming a spare started paused beforehand: the bound is
    // about the queue, and a start-up takes seconds on a loaded machine
    // (it would count against it). Three spares, one per expected death; a
    // death beyond those gets a worker started then.
    let gen = 0;
    const spawn = (paused: boolean) =>
      s.worker(`w${gen++}`, { maxStalls: 2, paused });
    const [w0, w1, ...spares] = await Promise.all([
      spawn(false),
      spawn(false),
      spawn(true),
      spawn(true),
      spawn(true),
    ]);
    const slots: Child[] = [w0!, w1!];
    const takeSpare = async (): Promise<Child> => {
      const c = spares.shift() ?? (await spawn(true));
      const resumed = c.next('resumed');
      c.send({ cmd: 'resume' });
      await resumed;
      return c;
    };
    let supervising = true;
    const supervisor = (async () => {
      while (supervising) {
        for (let i = 0; i < slots.length; i++) {
          const c = slots[i]!;
          if (c.child.exitCode !== null || c.child.signalCode !== null)
            slots[i] = await takeSpare();
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const p95 = (waits: number[]) =>
      [...waits].sort((x, y) => x - y)[Math.ceil(waits.length * 0.95) - 1]!;
    const waitsOf = (ids: string[], t0: number) => {
      const starts = s.ledger().filter((e) => e.ev === 'start');
      return ids.map((id) => starts.find((e) => e.jobId === id)!.t - t0);
    };
    try {
      // Baseline: 50 normal jobs, no poison.
      let t0 = Date.now();
      const baseline = await queue.enqueueBulk(
        Array.from({ length: 50 }, (_, n) => ({
          name: 'task' as const,
          payload: { n, ms: 50 },
        })),
      );
      await Promise.all(baseline.map((h) => h.finished({ timeoutMs: 10_000 })));
      const baseP95 = p95(
        waitsOf(
          baseline.map((h) => h.id),
          t0,
        ),
      );

      t0 = Date.now();
      const poison = await queue.enqueue('task', { n: -1, kill: true });
      const normal = await queue.enqueueBulk(
        Array.from({ length: 50 }, (_, n) => ({
          name: 'task' as const,
          payload: { n: 100 + n, ms: 50 },
        })),
      );
      await Promise.all(normal.map((h) => h.finished({ timeoutMs: 20_000 })));
      const poisonP95 = p95(
        waitsOf(
          normal.map((h) => h.id),
          t0,
        ),
      );
      await until(
        async () => (await s.admin.hget(`${base}j:${poison.id}`, 's')) === 'f',
        20_000,
        'poison failed',
      );
      supervising = false;
      await supervisor;
      const deliveries = s
        .ledger()
        .filter((e) => e.ev === 'start' && e.jobId === poison.id);
      const errors = JSON.parse(
        (await s.admin.hget(`${base}j:${poison.id}`, 'e')) ?? '[]',
      ) as { code: string }[];
      const violations = await s.invariants();
      const extraBoundMs = 2 * (LEASE_MS + CHECK_MS);
      report(
        'S04',
        {
          deliveries: deliveries.length,
          code: errors.at(-1)?.code ?? 'none',
          spawned: gen,
          baseP95Ms: baseP95,
          poisonP95Ms: poisonP95,
          extraBoundMs,
        },
        deliveries.length === 3 &&
          poisonP95 - baseP95 <= extraBoundMs &&
          violations.length === 0,
      );
      expect(deliveries).toHaveLength(3);
      expect(new Set(deliveries.map((e) => e.pid)).size).toBe(3);
      expect(errors.at(-1)?.code).toBe('STALL_LIMIT');
      expect(poisonP95 - baseP95).toBeLessThanOrEqual(extraBoundMs);
      expect(await s.admin.zcard(`${base}completed`)).toBe(100);
      expect(await s.admin.zcard(`${base}active`)).toBe(0);
      expect(violations).toEqual([]);
    } finally {
      supervising = false;
      await supervisor;
      await queue.close();
    }
  });
});
