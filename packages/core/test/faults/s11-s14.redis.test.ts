/**
 * Fault scenarios S11-S14 of docs/reliability.md: a partition
 * through a TCP forwarder, producer fail-fast with Redis down, server-side
 * connection faults, memory pressure and eviction policy.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createQueue,
  createWorker,
  ErrorCode,
  JobwireError,
  RedisOutOfMemoryError,
  RedisUnavailableError,
} from '../../src/index.ts';
import type { Logger } from '../../src/index.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { startForwarder } from './harness/forwarder.ts';
import type { Forwarder } from './harness/forwarder.ts';
import { checkInvariants } from './harness/invariants.ts';
import { report } from './harness/report.ts';
import { faultRegistry } from './harness/registry.ts';
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
let fwd: Forwarder | undefined;
afterEach(async () => {
  await fwd?.close();
  fwd = undefined;
  await sc?.cleanup();
  sc = undefined;
});

function capture(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (m) => warnings.push(m), error: () => {} };
}

// Scenarios start worker processes and run for seconds: on a loaded
// two-core machine a start-up alone can take 20 s. A deadline for a hang;
// the bounds each scenario asserts are its own.
describe('faults: network and server', { timeout: 180_000 }, () => {
  it('S11 a partition between one worker and Redis', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    fwd = await startForwarder(s.redis.port);
    const f = fwd;
    const queue = createQueue(faultRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      // B starts with A, paused: a start-up takes seconds on a loaded
      // machine, longer than A's 3 s jobs, so it must not happen in between.
      const [a, b] = await Promise.all([
        s.worker('a', {
          concurrency: 10,
          url: `redis://127.0.0.1:${f.port}`,
        }),
        s.worker('b', { concurrency: 40, paused: true }),
      ]);
      const first = await queue.enqueueBulk(
        Array.from({ length: 10 }, (_, n) => ({
          name: 'task' as const,
          payload: { n, ms: 3000 },
        })),
      );
      await until(
        () =>
          s.ledger().filter((e) => e.ev === 'start' && e.pid === a.pid)
            .length === 10,
        15_000,
        'A running 10 jobs',
      );
      const resumed = b.next('resumed');
      b.send({ cmd: 'resume' });
      await resumed;
      await queue.enqueueBulk(
        Array.from({ length: 30 }, (_, n) => ({
          name: 'task' as const,
          payload: { n: 10 + n, ms: 3000 },
        })),
      );
      f.blackhole();
      const cutAt = Date.now();
      const boundMs = LEASE_MS + CHECK_MS + 5000;
      const aIds = first.map((h) => h.id);
      const takeoverMs = await until(
        () => {
          const byB = s
            .ledger()
            .filter((e) => e.ev === 'completed' && e.pid === b.pid);
          return aIds.every((id) => byB.some((e) => e.jobId === id));
        },
        boundMs + 2000,
        "B completed A's jobs",
      );
      const healDelay = 3 * LEASE_MS - (Date.now() - cutAt);
      if (healDelay > 0) await new Promise((r) => setTimeout(r, healDelay));
      f.heal();
      const healedAt = Date.now();
      await until(
        () =>
          s.ledger().filter((e) => e.ev === 'leaseLost' && e.pid === a.pid)
            .length === 10,
        15_000,
        "A's late writes refused",
      );
      // A takes new jobs again: B steps aside.
      const paused = b.next('paused');
      b.send({ cmd: 'pause' });
      await paused;
      const more = await queue.enqueueBulk(
        Array.from({ length: 5 }, (_, n) => ({
          name: 'task' as const,
          payload: { n: 100 + n },
        })),
      );
      const moreResults = await Promise.all(
        more.map((h) => h.finished({ timeoutMs: 5000 })),
      );
      const resumeMs = Date.now() - healedAt;
      await until(
        async () => (await s.admin.zcard(`${base}completed`)) === 45,
        15_000,
        'all 45 completed',
      );
      const ledger = s.ledger();
      const aLate = ledger.filter(
        (e) => e.ev === 'leaseLost' && e.pid === a.pid,
      );
      const aCompleted = ledger.filter(
        (e) => e.ev === 'completed' && e.pid === a.pid,
      );
      const unhandled = ledger.filter((e) => e.ev === 'unhandled');
      const violations = await s.invariants();
      report(
        'S11',
        {
          takeoverMs,
          boundMs,
          leaseLostOnA: aLate.length,
          newJobsAfterHealMs: resumeMs,
          unhandled: unhandled.length,
        },
        takeoverMs <= boundMs &&
          unhandled.length === 0 &&
          violations.length === 0,
      );
      expect(takeoverMs).toBeLessThanOrEqual(boundMs);
      expect(aLate.map((e) => e.jobId).sort()).toEqual([...aIds].sort());
      // A's late completions never landed; it took the new jobs itself.
      expect(aCompleted.filter((e) => aIds.includes(e.jobId!))).toEqual([]);
      expect(moreResults.map((r) => (r as { pid: number }).pid)).toEqual(
        more.map(() => a.pid),
      );
      expect(resumeMs).toBeLessThanOrEqual(5000);
      expect(unhandled).toEqual([]);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S12 producer fail-fast with Redis down at startup', async () => {
    const redis = await startRedis();
    const queueName = 'f-s12';
    await redis.kill9();
    const queue = createQueue(faultRegistry(queueName), {
      connection: redis.url,
      connectTimeoutMs: 1000,
      logger: quietLogger,
    });
    try {
      const settle: number[] = [];
      const errors: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        try {
          await queue.enqueue('task', { n: i });
        } catch (err) {
          errors.push(err);
        }
        settle.push(Date.now() - t0);
      }
      await redis.restart();
      const admin = new Redis(redis.url);
      const dbsizeAfterRestart = await admin.dbsize();
      const t1 = Date.now();
      const h = await until(
        async () => {
          await queue.enqueue('task', { n: 99 });
          return true;
        },
        5000,
        'enqueue after Redis started',
      ).then(() => Date.now() - t1);
      const violations = await checkInvariants(redis.url, PREFIX, queueName);
      admin.disconnect();
      const slowest = Math.max(...settle);
      report(
        'S12',
        {
          rejected: errors.length,
          slowestRejectMs: slowest,
          // connectTimeoutMs (1000) plus timer and scheduling slack.
          boundMs: 1250,
          bufferedAfterRestart: dbsizeAfterRestart,
          firstOkAfterStartMs: h,
        },
        errors.length === 3 && slowest <= 1250 && dbsizeAfterRestart === 0,
      );
      expect(errors).toHaveLength(3);
      for (const e of errors) expect(e).toBeInstanceOf(RedisUnavailableError);
      // connectTimeoutMs 1000, plus scheduling slack.
      expect(slowest).toBeLessThanOrEqual(1250);
      // Nothing was buffered and replayed once Redis came up.
      expect(dbsizeAfterRestart).toBe(0);
      expect(violations).toEqual([]);
      expect(await queue.getCounts({ queue: queueName })).toMatchObject({
        waiting: 1,
      });
    } finally {
      await queue.close();
      await redis.stop();
    }
  });

  it('S13 CLIENT KILL, CLIENT UNBLOCK and CLIENT PAUSE do not stop the worker', async () => {
    sc = await startScenario();
    const s = sc;
    const reg = faultRegistry(s.queue);
    const queue = createQueue(reg, {
      connection: s.redis.url,
      connectTimeoutMs: 3000,
      logger: quietLogger,
    });
    const started = new Map<string, number>();
    const worker = createWorker(
      reg,
      {
        task: (j) => {
          started.set(j.id, Date.now());
          return { n: j.data.n, pid: process.pid };
        },
      },
      {
        connection: s.redis.url,
        leaseMs: LEASE_MS,
        stallCheckIntervalMs: CHECK_MS,
        blockTimeoutMs: 1000,
        logger: quietLogger,
      },
    );
    worker.on('error', () => {});
    const enqueueRetrying = async (n: number) => {
      for (;;) {
        try {
          return await queue.enqueue('task', { n });
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const figures: Record<string, number> = {};
    try {
      await until(() => worker.health().ready, 5000, 'worker ready');
      // `cmd` is a client's last command, so a worker between two waits
      // still shows bzpopmin: only the `b` flag means blocked right now.
      const blockingId = async () => {
        const list = await s.admin.client('LIST');
        const line = String(list)
          .split('\n')
          .find((l) => / flags=\w*b\w* .* cmd=bzpopmin/.test(l));
        return line === undefined ? undefined : /id=(\d+)/.exec(line)![1];
      };
      const faults: [string, () => Promise<void>][] = [
        [
          'kill',
          async () => {
            await s.admin.call('CLIENT', 'KILL', 'TYPE', 'normal');
          },
        ],
        [
          'unblock',
          async () => {
            // A wait can still time out between LIST and UNBLOCK: try the
            // next one then.
            let unblocked = 0;
            await until(
              async () => {
                const id = await blockingId();
                if (id === undefined) return false;
                unblocked = Number(
                  await s.admin.client('UNBLOCK', id, 'ERROR'),
                );
                return unblocked === 1;
              },
              3000,
              'a blocked worker unblocked',
            );
            expect(unblocked).toBe(1);
          },
        ],
        [
          'pause',
          async () => {
            await s.admin.client('PAUSE', 3000, 'WRITE');
            await new Promise((r) => setTimeout(r, 3000));
          },
        ],
      ];
      let n = 0;
      for (const [name, fault] of faults) {
        await fault();
        const faultEnded = Date.now();
        const h = await enqueueRetrying(n++);
        await until(() => started.has(h.id), 3000, `job started after ${name}`);
        figures[`${name}Ms`] = started.get(h.id)! - faultEnded;
      }
      await until(
        async () => (await queue.getCounts()).completed === 3,
        3000,
        '3 completed',
      );
      const violations = await s.invariants();
      const counts = await queue.getCounts();
      report(
        'S13',
        { ...figures, boundMs: 3000, completed: counts.completed },
        violations.length === 0,
      );
      for (const v of Object.values(figures))
        expect(v).toBeLessThanOrEqual(3000);
      expect(counts).toMatchObject({ waiting: 0, active: 0, completed: 3 });
      expect(worker.health().ready).toBe(true);
      expect(violations).toEqual([]);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  it('S14a/b eviction policy: warning, strict refusal, CONFIG disabled', async () => {
    const lru = await startRedis({
      extraArgs: ['--maxmemory-policy', 'allkeys-lru'],
    });
    const renamed = await startRedis({
      extraArgs: ['--rename-command', 'CONFIG', ''],
    });
    const q = 'f-s14';
    const log = capture();
    const strictLog = capture();
    const renamedLog = capture();
    const loose = createQueue(faultRegistry(q), {
      connection: lru.url,
      logger: log,
    });
    const strict = createQueue(faultRegistry(q), {
      connection: lru.url,
      strictRedisConfig: true,
      logger: strictLog,
    });
    const managed = createQueue(faultRegistry(q), {
      connection: renamed.url,
      logger: renamedLog,
    });
    try {
      await loose.enqueue('task', { n: 1 });
      await loose.enqueue('task', { n: 2 });
      const refused = await strict
        .enqueue('task', { n: 3 })
        .catch((e: unknown) => e);
      await managed.enqueue('task', { n: 4 });
      const admin = new Redis(lru.url);
      const stored = await admin.hget(`${PREFIX}:{${q}}:counts`, 'task|w');
      admin.disconnect();
      const lruWarnings = log.warnings.filter((w) => w.includes('noeviction'));
      report(
        'S14ab',
        {
          lruWarnings: lruWarnings.length,
          strict: (refused as JobwireError).code,
          unverifiedWarnings: renamedLog.warnings.length,
        },
        lruWarnings.length === 1 && refused instanceof JobwireError,
      );
      expect(lruWarnings).toHaveLength(1);
      expect(log.warnings).toHaveLength(1);
      expect(refused).toBeInstanceOf(JobwireError);
      expect((refused as JobwireError).code).toBe(ErrorCode.REDIS_CONFIG);
      // The strict queue wrote nothing.
      expect(stored).toBe('2');
      expect(renamedLog.warnings).toHaveLength(1);
      expect(renamedLog.warnings[0]).toContain(
        'could not verify eviction policy',
      );
      expect(await checkInvariants(lru.url, PREFIX, q)).toEqual([]);
      expect(await checkInvariants(renamed.url, PREFIX, q)).toEqual([]);
    } finally {
      await Promise.all([loose.close(), strict.close(), managed.close()]);
      await lru.stop();
      await renamed.stop();
    }
  });

  it('S14c OOM with noeviction: typed refusal, all-or-nothing, active jobs not lost', async () => {
    sc = await startScenario({
      extraArgs: ['--maxmemory-policy', 'noeviction'],
    });
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const reg = faultRegistry(s.queue);
    const queue = createQueue(reg, {
      connection: s.redis.url,
      logger: quietLogger,
    });
    const started = new Set<string>();
    const worker = createWorker(
      reg,
      {
        task: async (j) => {
          started.add(j.id);
          await new Promise((r) => setTimeout(r, j.data.ms ?? 0));
          return { n: j.data.n, pid: process.pid };
        },
      },
      {
        connection: s.redis.url,
        concurrency: 5,
        leaseMs: LEASE_MS,
        stallCheckIntervalMs: CHECK_MS,
        blockTimeoutMs: 1000,
        logger: quietLogger,
      },
    );
    const workerErrors: string[] = [];
    worker.on('error', (e) => workerErrors.push(e.message));
    try {
      const active = await queue.enqueueBulk(
        Array.from({ length: 5 }, (_, n) => ({
          name: 'task' as const,
          payload: { n, ms: 500 },
        })),
      );
      await until(
        () => active.every((h) => started.has(h.id)),
        5000,
        '5 jobs running',
      );
      const before = await s.invariants();
      const keysBefore = await s.admin.dbsize();
      // Below what is used already: every write is refused.
      await s.admin.config('SET', 'maxmemory', '1');
      const refused = await queue
        .enqueue('task', { n: 99 })
        .catch((e: unknown) => e);
      const keysDuring = await s.admin.dbsize();
      // The 5 jobs finish their handlers while Redis refuses their completion.
      await new Promise((r) => setTimeout(r, 1500));
      const oomViolations = await s.invariants();
      await s.admin.config('SET', 'maxmemory', '0');
      const freedAt = Date.now();
      const boundMs = LEASE_MS + CHECK_MS + 5000;
      const recoveryMs = await until(
        async () => (await s.admin.zcard(`${base}completed`)) === 5,
        boundMs,
        'the 5 jobs completed after OOM',
      );
      const violations = await s.invariants();
      report(
        'S14c',
        {
          refused: (refused as JobwireError).code,
          keysBefore,
          keysDuring,
          recoveryMs,
          boundMs,
          alive: worker.health().ready,
        },
        refused instanceof RedisOutOfMemoryError && violations.length === 0,
      );
      expect(before).toEqual([]);
      expect(refused).toBeInstanceOf(RedisOutOfMemoryError);
      expect(keysDuring).toBe(keysBefore);
      expect(oomViolations).toEqual([]);
      expect(Date.now() - freedAt).toBeLessThanOrEqual(boundMs);
      expect(worker.health().ready).toBe(true);
      expect(await s.admin.zcard(`${base}active`)).toBe(0);
      expect(violations).toEqual([]);
    } finally {
      await s.admin.config('SET', 'maxmemory', '0').catch(() => {});
      await worker.close();
      await queue.close();
    }
  });
});
