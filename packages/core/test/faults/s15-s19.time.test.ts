/**
 * Fault scenarios S15-S18 of docs/reliability.md: clock skew,
 * delayed and repeatable jobs through BUSY and worker restarts, invalid
 * time and retry inputs, exact attempts and backoff.
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueue, ValidationError } from '../../src/index.ts';
import type { EnqueueOptions } from '../../src/index.ts';
import { BUSY_LOOP_SCRIPT } from '../helpers/busy-script.ts';
import { persistentKeys } from '../helpers/redis-keys.ts';
import { PROCESS_START_MS } from '../helpers/wait.ts';
import { spawnChild } from './harness/children.ts';
import type { Child } from './harness/children.ts';
import type { ClockChildConfig } from './harness/clock-child.ts';
import { clockRegistry } from './harness/clock-registry.ts';
import type { ClockPayload } from './harness/clock-registry.ts';
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
import { spawnWrapped } from './harness/wrapped.ts';

let sc: Scenario | undefined;
afterEach(async () => {
  await sc?.cleanup();
  sc = undefined;
});

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

type Role = Omit<ClockChildConfig, 'url' | 'queue' | 'ledger'>;

function config(s: Scenario, name: string, role: Role): ClockChildConfig {
  return {
    url: s.redis.url,
    queue: s.queue,
    ledger: path.join(s.dir, `${name}.jsonl`),
    leaseMs: LEASE_MS,
    stallCheckIntervalMs: CHECK_MS,
    ...role,
  };
}

/** A clock-child, optionally under `faketime -f <offset>`; resolves when ready. */
async function clockChild(
  s: Scenario,
  name: string,
  role: Role,
  skew?: string,
): Promise<{ child: Child; now: number; at: number }> {
  const cfg = config(s, name, role);
  const child =
    skew === undefined
      ? spawnChild('clock-child.ts', cfg)
      : spawnWrapped(['faketime', '-f', skew], 'clock-child.ts', cfg);
  const clock = child.next<{ now: number }>('clock', PROCESS_START_MS);
  await child.ready;
  const { now } = await clock;
  return { child, now, at: Date.now() };
}

/** Every `start` message of `child`, stamped with the parent's clock. */
function recordStarts(
  child: Child,
): { jobId: string; attempt: number; at: number }[] {
  const out: { jobId: string; attempt: number; at: number }[] = [];
  child.child.on('message', (m: unknown) => {
    const msg = m as { type?: string; jobId?: string; attempt?: number };
    if (msg.type === 'start' && msg.jobId !== undefined)
      out.push({ jobId: msg.jobId, attempt: msg.attempt ?? 0, at: Date.now() });
  });
  return out;
}

async function cpuSeconds(admin: Redis): Promise<number> {
  const info = await admin.info('cpu');
  const get = (k: string) =>
    Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_sys') + get('used_cpu_user');
}

// Scenarios start worker processes and run for seconds: on a loaded
// two-core machine a start-up alone can take 20 s. A deadline for a hang;
// the bounds each scenario asserts are its own.
describe('faults: time and scheduling', { timeout: 180_000 }, () => {
  it('S15 clock skew: delays, backoff and leases follow Redis TIME', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const prod = await clockChild(s, 'p', { role: 'producer' }, '+300s');
    const work = await clockChild(
      s,
      'w',
      { role: 'worker', concurrency: 3, ipcStarts: true },
      '-300s',
    );
    // The skew really applies: the producer runs ~5 min ahead, the worker
    // ~5 min behind this process.
    const prodSkewMs = prod.now - prod.at;
    const workSkewMs = work.now - work.at;
    expect(prodSkewMs).toBeGreaterThan(290_000);
    expect(workSkewMs).toBeLessThan(-290_000);
    const starts = recordStarts(work.child);
    const enqueue = async (
      payload: ClockPayload,
      options: EnqueueOptions,
    ): Promise<{ id: string }> => {
      const reply = prod.child.next<{ id?: string; error?: string }>(
        'enqueued',
      );
      prod.child.send({ cmd: 'enqueue', payload, options });
      const r = await reply;
      if (r.id === undefined) throw new Error(`enqueue failed: ${r.error}`);
      return { id: r.id };
    };
    const delayed = await enqueue({ n: 1 }, { delayMs: 2000 });
    const retried = await enqueue(
      { n: 2, mode: 'throw' },
      {
        attempts: 3,
        backoff: { type: 'fixed', delayMs: 1000, jitter: 0 },
      },
    );
    const long = await enqueue({ n: 3, ms: 3000 }, {});
    await until(
      async () => (await s.finished()).size === 3,
      15_000,
      'all three finished',
    );
    const first = (id: string, attempt = 1) =>
      starts.find((x) => x.jobId === id && x.attempt === attempt)?.at ?? NaN;
    // The delay counts from the enqueue as Redis saw it: its script set the
    // due time (the 'delayed' event's `due`, Redis clock = this host's real
    // clock) to enqueue + 2000. The producer's reply reaches this process
    // later, by a margin that grows with the load, so it is not the start.
    const due = Number(
      (await s.eventsOf(delayed.id)).find((e) => e.ev === 'delayed')?.fields
        .due,
    );
    const delayMs = first(delayed.id) - (due - 2000);
    // Backoff gaps between handler starts on the worker's own clock: its
    // faketime offset is constant, so differences are real time, without
    // the jitter of two IPC messages on a busy machine.
    const workerStart = (id: string, attempt: number) =>
      s
        .ledger()
        .find(
          (e) => e.ev === 'start' && e.jobId === id && e.attempt === attempt,
        )?.t_start ?? NaN;
    const gaps = [
      workerStart(retried.id, 2) - workerStart(retried.id, 1),
      workerStart(retried.id, 3) - workerStart(retried.id, 2),
    ];
    const longStarts = starts.filter((x) => x.jobId === long.id).length;
    const stalled = (await s.eventsOf()).filter((e) => e.ev === 'stalled');
    const completed = await s.admin.zrange(`${base}completed`, '0', '-1');
    const violations = await s.invariants();
    // IPC adds a few ms to the start stamp (the delay's end; the clock
    // ticks of Redis and this process may differ by a millisecond too).
    const ipcSlackMs = 20;
    const pass =
      delayMs >= 2000 - ipcSlackMs &&
      delayMs <= 3000 &&
      gaps.every((g) => g >= 1000 - ipcSlackMs && g <= 1500) &&
      longStarts === 1 &&
      stalled.length === 0 &&
      violations.length === 0;
    report(
      'S15',
      {
        producerSkewMs: prodSkewMs,
        workerSkewMs: workSkewMs,
        delayStartMs: delayMs,
        delayBound: '2000-3000ms',
        gaps: gaps.map((g) => `${Math.round(g)}ms`).join('/'),
        gapBound: '1000-1500ms',
        longRuns: longStarts,
        stalled: stalled.length,
        violations: violations.length,
      },
      pass,
    );
    expect(delayMs).toBeGreaterThanOrEqual(2000 - ipcSlackMs);
    expect(delayMs).toBeLessThanOrEqual(3000);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(1000 - ipcSlackMs);
      expect(g).toBeLessThanOrEqual(1500);
    }
    expect(longStarts).toBe(1);
    expect(stalled).toEqual([]);
    expect(completed).toContain(long.id);
    expect(violations).toEqual([]);
  });

  it('S16 delayed and repeatable jobs fire through BUSY and 3 worker restarts', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(clockRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    const busy = new Redis(s.redis.url, { maxRetriesPerRequest: 0 });
    busy.on('error', () => {});
    try {
      await s.admin.config('SET', 'busy-reply-threshold', '100');
      const worker = (name: string, paused = false) =>
        clockChild(s, name, {
          role: 'worker',
          concurrency: 10,
          deadlineMs: 2000,
          paused,
        }).then((w) => w.child);
      // The replacements start now, paused, and a restart resumes one: a
      // A start-up takes seconds on a loaded machine and would push the
      // restarts off their schedule (and past the test's timeout).
      const [w0, w1, ...spares] = await Promise.all([
        worker('w0'),
        worker('w1'),
        worker('w2', true),
        worker('w3', true),
        worker('w4', true),
      ]);
      const workers = [w0!, w1!];
      // Start so that t+4 s falls 0.5 s after a 2 s repeat slot: the BUSY
      // window then covers one slot's due time, not a slot boundary twice.
      while (Date.now() % 2000 < 500 || Date.now() % 2000 > 550) await sleep(5);
      const t0 = Date.now();
      await queue.repeat('t', { n: -1 }, { key: 'tick', everyMs: 2000 });
      const handles = await queue.enqueueBulk(
        Array.from({ length: 100 }, (_, i) => ({
          name: 't' as const,
          payload: { n: i },
          options: { delayMs: 2000 + Math.round((i * 8000) / 99) },
        })),
      );
      const dueOf = new Map<string, number>();
      for (const h of handles)
        dueOf.set(h.id, Number(await s.admin.zscore(`${base}delayed`, h.id)));

      const restarts = [2500, 7000, 9000];
      let busyEnd = 0;
      let busyReplies = 0;
      const busyRun = (async () => {
        await sleep(t0 + 4000 - Date.now());
        // A read-only busy loop of 2 s: other clients get BUSY after 100 ms.
        await busy.eval(BUSY_LOOP_SCRIPT, 0, '2000');
        busyEnd = Date.now();
      })();
      busyRun.catch(() => {});
      const probe = (async () => {
        await sleep(t0 + 4300 - Date.now());
        await s.admin.ping().catch((err: Error) => {
          if (err.message.startsWith('BUSY')) busyReplies++;
        });
      })();
      for (const [i, at] of restarts.entries()) {
        await sleep(t0 + at - Date.now());
        const old = workers[i % 2]!;
        old.signal('SIGTERM');
        await old.exited;
        const next = spares[i]!;
        const resumed = next.next('resumed');
        next.send({ cmd: 'resume' });
        await resumed;
        workers[i % 2] = next;
      }
      await busyRun;
      await probe;
      await until(
        async () => (await s.admin.zcard(`${base}completed`)) >= 100,
        15_000,
        'the 100 delayed jobs done',
      );
      const windowEnd = t0 + 11_000;
      await sleep(Math.max(0, windowEnd + 1000 - Date.now()));
      const ledger = s.ledger().filter((e) => e.ev === 'start');
      const firstStart = new Map<string, number>();
      for (const e of ledger)
        if (!firstStart.has(e.jobId!)) firstStart.set(e.jobId!, e.t_start!);
      const late = handles.map(
        (h) => firstStart.get(h.id)! - Math.max(dueOf.get(h.id)!, busyEnd),
      );
      const worstLateMs = Math.max(...late);
      const missing = handles.filter((h) => !firstStart.has(h.id)).length;
      // Repeat runs per slot; every slot from the first to the window end.
      const runs = new Map<number, number>();
      for (const e of ledger) {
        const m = /^rpt\.tick\.(\d+)$/.exec(e.jobId ?? '');
        if (m) runs.set(Number(m[1]), (runs.get(Number(m[1])) ?? 0) + 1);
      }
      const slots = [...runs.keys()].sort((a, b) => a - b);
      const expected: number[] = [];
      for (let t = slots[0] ?? t0; t <= windowEnd; t += 2000) expected.push(t);
      const slotsMissing = expected.filter((t) => !runs.has(t)).length;
      const slotsDuplicated = [...runs.values()].filter((n) => n > 1).length;
      await queue.removeRepeat('t', 'tick');
      const violations = await s.invariants();
      const pass =
        missing === 0 &&
        worstLateMs <= 1000 &&
        busyReplies === 1 &&
        slotsMissing === 0 &&
        slotsDuplicated === 0 &&
        expected.length >= 5 &&
        violations.length === 0;
      report(
        'S16',
        {
          delayed: handles.length,
          notStarted: missing,
          worstLateMs,
          boundMs: 1000,
          busyMs: busyEnd - (t0 + 4000),
          busyReplies,
          restarts: restarts.length,
          slots: expected.length,
          slotsMissing,
          slotsDuplicated,
          violations: violations.length,
        },
        pass,
      );
      expect(busyReplies).toBe(1);
      expect(missing).toBe(0);
      expect(worstLateMs).toBeLessThanOrEqual(1000);
      expect(expected.length).toBeGreaterThanOrEqual(5);
      expect(slotsMissing).toBe(0);
      expect(slotsDuplicated).toBe(0);
      expect(violations).toEqual([]);
    } finally {
      busy.disconnect();
      await queue.close();
    }
  });

  it('S17 invalid time and retry inputs are refused, naming the field', async () => {
    sc = await startScenario();
    const s = sc;
    const queue = createQueue(clockRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      await queue.enqueue('t', { n: 0 }, { delayMs: 60_000 });
      const keysBefore = await persistentKeys(s.admin);
      const dbBefore = await s.admin.dbsize();
      const cpuBefore = await cpuSeconds(s.admin);
      const cases: [string, string, () => Promise<unknown>][] = [
        [
          'delay -1',
          'delayMs',
          () => queue.enqueue('t', { n: 1 }, { delayMs: -1 }),
        ],
        [
          'delay NaN',
          'delayMs',
          () => queue.enqueue('t', { n: 1 }, { delayMs: NaN }),
        ],
        [
          'delay Infinity',
          'delayMs',
          () => queue.enqueue('t', { n: 1 }, { delayMs: Infinity }),
        ],
        [
          'delay 1e20',
          'delayMs',
          () => queue.enqueue('t', { n: 1 }, { delayMs: 1e20 }),
        ],
        [
          'invalid Date',
          'runAt',
          () => queue.enqueue('t', { n: 1 }, { runAt: new Date('nope') }),
        ],
        [
          'attempts 0',
          'attempts',
          () => queue.enqueue('t', { n: 1 }, { attempts: 0 }),
        ],
        [
          'attempts -1',
          'attempts',
          () => queue.enqueue('t', { n: 1 }, { attempts: -1 }),
        ],
        [
          'backoff delay -5',
          'backoff.delayMs',
          () =>
            queue.enqueue(
              't',
              { n: 1 },
              { backoff: { type: 'fixed', delayMs: -5 } },
            ),
        ],
        [
          'bulk delay NaN',
          'delayMs',
          () =>
            queue.enqueueBulk([
              { name: 't', payload: { n: 2 } },
              { name: 't', payload: { n: 3 }, options: { delayMs: NaN } },
            ]),
        ],
        [
          'unparseable cron',
          'cron',
          () =>
            queue.repeat('t', { n: 1 }, { key: 'bad', cron: '61 * * * * *' }),
        ],
        [
          'everyMs NaN',
          'everyMs',
          () => queue.repeat('t', { n: 1 }, { key: 'bad', everyMs: NaN }),
        ],
      ];
      const outcomes: string[] = [];
      let wrong = 0;
      for (const [label, field, call] of cases) {
        const t0 = Date.now();
        let err: unknown;
        try {
          await call();
        } catch (e) {
          err = e;
        }
        const named =
          err instanceof ValidationError &&
          err.issues.some((i) => i.path === field);
        // Refused before any Redis call: a wait for Redis would take a
        // connect or command timeout (1 s and more). The bound leaves room
        // for a GC pause or a busy core (it was 100 ms, and a CI run beside
        // other test files once took longer).
        if (!named || Date.now() - t0 > 500) {
          wrong++;
          outcomes.push(`${label}:${String(err)}`);
        }
      }
      // Give a runaway (a job due "now" forever, a spinning scheduler) a
      // second to show up in Redis's CPU time.
      await sleep(1000);
      const cpuDelta = (await cpuSeconds(s.admin)) - cpuBefore;
      const keysAfter = await persistentKeys(s.admin);
      const dbAfter = await s.admin.dbsize();
      const violations = await s.invariants();
      const pass =
        wrong === 0 &&
        dbAfter === dbBefore &&
        JSON.stringify(keysAfter) === JSON.stringify(keysBefore) &&
        cpuDelta < 0.1 &&
        violations.length === 0;
      report(
        'S17',
        {
          inputs: cases.length,
          refusedNamingField: cases.length - wrong,
          dbsizeBefore: dbBefore,
          dbsizeAfter: dbAfter,
          redisCpuMs: cpuDelta * 1000,
          cpuBoundMs: 100,
          violations: violations.length,
        },
        pass,
      );
      expect(outcomes).toEqual([]);
      expect(dbAfter).toBe(dbBefore);
      expect(keysAfter).toEqual(keysBefore);
      expect(cpuDelta).toBeLessThan(0.1);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S18 attempts and backoff are exact, across a SIGKILL in the backoff wait', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(clockRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    const errorsOf = async (id: string) => {
      const [state, a, e] = await s.admin.hmget(
        `${base}j:${id}`,
        's',
        'a',
        'e',
      );
      const list = JSON.parse(e ?? '[]') as { attempt?: number }[];
      return { state, attempts: Number(a), errors: list.length };
    };
    try {
      let w = (await clockChild(s, 'w1', { role: 'worker', concurrency: 4 }))
        .child;
      const exact = await queue.enqueue(
        't',
        { n: 1, mode: 'throw' },
        {
          attempts: 4,
          backoff: { type: 'exponential', delayMs: 200, jitter: 0 },
        },
      );
      const permanent = await queue.enqueue(
        't',
        { n: 2, mode: 'permanent' },
        { attempts: 4 },
      );
      await until(
        async () => (await s.finished()).size === 2,
        10_000,
        'the exact and permanent jobs failed',
      );
      const startsOf = (id: string) =>
        s
          .ledger()
          .filter((e) => e.ev === 'start' && e.jobId === id)
          .map((e) => ({ attempt: e.attempt!, t: e.t_start! }));
      const exactStarts = startsOf(exact.id);
      // A backoff counts from the failure as Redis recorded it: the
      // 'retrying' event's stream id is the fail script's time (the
      // worker runs on this host's clock, as Redis does). Counting from the
      // failed attempt's start also counted the worker's own way to that
      // script, which a CPU-starved worker takes slowly.
      const retriedAt = (await s.admin.xrange(`${base}events`, '-', '+'))
        .filter(([, kv]) => {
          const at = (k: string) => kv[kv.indexOf(k) + 1];
          return at('ev') === 'retrying' && at('id') === exact.id;
        })
        .map(([streamId]) => Number(streamId.split('-')[0]));
      const gaps = exactStarts
        .slice(1)
        .map((x, i) => x.t - (retriedAt[i] ?? NaN));
      const minGaps = [200, 400, 800];
      const gapsOk =
        gaps.length === 3 &&
        gaps.every((g, i) => g >= minGaps[i]! && g <= minGaps[i]! + 300);
      const exactRec = await errorsOf(exact.id);
      const permanentRuns = startsOf(permanent.id).length;
      const permanentRec = await errorsOf(permanent.id);

      // SIGKILL the worker while the job waits out its first backoff.
      const killed = await queue.enqueue(
        't',
        { n: 3, mode: 'throw' },
        { attempts: 4, backoff: { type: 'fixed', delayMs: 1500, jitter: 0 } },
      );
      await until(
        () => s.ledger().some((e) => e.ev === 'end' && e.jobId === killed.id),
        5000,
        'attempt 1 failed',
      );
      await until(
        async () =>
          (await s.admin.zscore(`${base}delayed`, killed.id)) !== null,
        2000,
        'the job waits in delayed',
      );
      await w.kill9();
      w = (await clockChild(s, 'w2', { role: 'worker', concurrency: 4 })).child;
      await until(
        async () => (await s.finished()).has(killed.id),
        15_000,
        'the killed-in-backoff job failed for good',
      );
      const killedAttempts = startsOf(killed.id).map((x) => x.attempt);
      const killedRec = await errorsOf(killed.id);
      const violations = await s.invariants();
      const pass =
        exactStarts.length === 4 &&
        gapsOk &&
        exactRec.state === 'f' &&
        exactRec.errors === 4 &&
        permanentRuns === 1 &&
        permanentRec.state === 'f' &&
        JSON.stringify(killedAttempts) === '[1,2,3,4]' &&
        killedRec.errors === 4 &&
        killedRec.attempts === 4 &&
        violations.length === 0;
      report(
        'S18',
        {
          invocations: exactStarts.length,
          gaps: gaps.map((g) => `${g}ms`).join('/'),
          gapBounds: '200-500/400-700/800-1100ms',
          errors: exactRec.errors,
          permanentRuns,
          killedAttempts: killedAttempts.join(','),
          killedErrors: killedRec.errors,
          violations: violations.length,
        },
        pass,
      );
      expect(exactStarts.map((x) => x.attempt)).toEqual([1, 2, 3, 4]);
      expect(gapsOk).toBe(true);
      expect(exactRec).toEqual({ state: 'f', attempts: 4, errors: 4 });
      expect(permanentRuns).toBe(1);
      expect(permanentRec).toEqual({ state: 'f', attempts: 1, errors: 1 });
      expect(killedAttempts).toEqual([1, 2, 3, 4]);
      expect(killedRec).toEqual({ state: 'f', attempts: 4, errors: 4 });
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });
});
