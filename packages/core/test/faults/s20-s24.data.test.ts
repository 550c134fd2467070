/**
 * Fault scenarios S20-S24 of docs/reliability.md: payload size and
 * types, deduplication and atomic bulk enqueue, priority after a stall,
 * foreign jobs, and results that outlive their producer. Real redis-server
 * and real worker and producer processes; one figure line per scenario.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createQueue,
  createQueueEvents,
  ErrorCode,
  JobwireError,
  PayloadTooLargeError,
  ValidationError,
} from '../../src/index.ts';
import type { QueueEvent } from '../../src/index.ts';
import { persistentKeys } from '../helpers/redis-keys.ts';
import { spawnChild } from './harness/children.ts';
import type { Child } from './harness/children.ts';
import { report } from './harness/report.ts';
import { s2xRegistry } from './harness/s20-s24-registry.ts';
import type { S2xWorkerConfig } from './harness/s20-s24-worker-child.ts';
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

let sc: Scenario | undefined;
afterEach(async () => {
  await sc?.cleanup();
  sc = undefined;
});

/** Starts an s20-s24 worker child with its own ledger; resolves when ready. */
async function worker(
  s: Scenario,
  name: string,
  config: Partial<Omit<S2xWorkerConfig, 'url' | 'queue' | 'ledger'>> = {},
): Promise<Child> {
  const child = spawnChild('s20-s24-worker-child.ts', {
    url: s.redis.url,
    queue: s.queue,
    ledger: path.join(s.dir, `${name}.jsonl`),
    leaseMs: LEASE_MS,
    stallCheckIntervalMs: CHECK_MS,
    ...config,
  } satisfies S2xWorkerConfig);
  await child.ready;
  return child;
}

/** The rejection of `p`, which must reject. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const sha256 = (s: string) =>
  createHash('sha256').update(s, 'utf8').digest('hex');

// Scenarios start worker processes and run for seconds: on a loaded
// two-core machine a start-up alone can take 20 s. A deadline for a hang;
// the bounds each scenario asserts are its own.
describe('faults: data, ordering, validation', { timeout: 180_000 }, () => {
  it('S20 payload size and types: 600 KiB refused before Redis, 100 KiB byte for byte, non-JSON refused', async () => {
    sc = await startScenario();
    const s = sc;
    const queue = createQueue(s2xRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      const w = await worker(s, 'w');
      const before = await persistentKeys(s.admin);

      // 600 KiB of ASCII: over the default 512 KiB limit.
      const big = { data: 'x'.repeat(600 * 1024) };
      const tooLarge = await rejection(queue.enqueue('blob', big));
      expect(tooLarge).toBeInstanceOf(PayloadTooLargeError);
      const ptl = tooLarge as PayloadTooLargeError;
      expect(ptl.code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
      expect(ptl.limit).toBe(512 * 1024);
      expect(ptl.actual).toBe(Buffer.byteLength(JSON.stringify(big), 'utf8'));

      // Values JSON would change or drop, each with the code and path it
      // is refused with. `extra` is z.unknown(): only the JSON check stands
      // between these and Redis; `data` is z.string(): zod refuses first.
      const nonJson: [string, unknown, ErrorCode, string][] = [
        ['Buffer', Buffer.from('abc'), ErrorCode.NOT_JSON, 'extra'],
        ['Uint8Array', new Uint8Array([1, 2, 3]), ErrorCode.NOT_JSON, 'extra'],
        ['BigInt', 10n, ErrorCode.NOT_JSON, 'extra'],
        [
          'undefined in array',
          [1, undefined, 2],
          ErrorCode.NOT_JSON,
          'extra.1',
        ],
        ['NaN', NaN, ErrorCode.NOT_JSON, 'extra'],
        ['Infinity', { deep: [Infinity] }, ErrorCode.NOT_JSON, 'extra.deep.0'],
        ['Date', new Date(0), ErrorCode.NOT_JSON, 'extra'],
      ];
      const codes: string[] = [];
      for (const [what, extra, code, at] of nonJson) {
        const err = await rejection(
          queue.enqueue('blob', { data: 'ok', extra }),
        );
        expect(err, what).toBeInstanceOf(JobwireError);
        expect((err as JobwireError).code, what).toBe(code);
        expect((err as JobwireError).message, what).toContain(
          `not plain JSON at ${at}:`,
        );
        codes.push((err as JobwireError).code);
      }
      // A Buffer where the schema wants a string: refused by the schema.
      const asData = await rejection(
        queue.enqueue('blob', {
          data: Buffer.from('abc') as unknown as string,
        }),
      );
      expect(asData).toBeInstanceOf(ValidationError);
      expect((asData as ValidationError).issues.map((i) => i.path)).toEqual([
        'data',
      ]);
      // NaN where the schema wants a number: refused by the schema.
      const nan = await rejection(queue.enqueue('task', { n: NaN }));
      expect(nan).toBeInstanceOf(ValidationError);
      expect((nan as ValidationError).issues[0]?.path).toBe('n');
      // The same refusals inside a bulk: nothing of the bulk is written.
      const bulkErr = await rejection(
        queue.enqueueBulk([
          { name: 'blob', payload: { data: 'fine' } },
          { name: 'blob', payload: { data: 'x', extra: Buffer.from('y') } },
        ]),
      );
      expect((bulkErr as JobwireError).code).toBe(ErrorCode.NOT_JSON);
      const after = await persistentKeys(s.admin);
      expect(after).toEqual(before);

      // 100 KiB with multi-byte characters round-trips byte for byte.
      const unit = 'jobwire é 中文 🚀 "quoted" \\ \n\t\u0000 ';
      let text = '';
      while (Buffer.byteLength(text, 'utf8') < 100 * 1024) text += unit;
      const payload = { data: text, extra: { nested: [1, 'two', null] } };
      const json = JSON.stringify(payload);
      const h = await queue.enqueue('blob', payload);
      const base = `${PREFIX}:{${s.queue}}:`;
      const stored = await s.admin.get(`${base}p:${h.id}`);
      const result = await h.finished({ timeoutMs: 10_000 });
      const roundTrip =
        stored === json &&
        result.sha256 === sha256(json) &&
        result.bytes === Buffer.byteLength(json, 'utf8');
      // No stored job holds a Buffer turned into `{"type":"Buffer","data":[...]}`.
      const ids = await s.admin.zrange(`${base}completed`, '0', '-1');
      const datas = await Promise.all(
        ids.map((id) => s.admin.get(`${base}p:${id}`)),
      );
      const bufferArrays = datas.filter((d) => d?.includes('"Buffer"')).length;

      const violations = await s.invariants();
      report(
        'S20',
        {
          limit: ptl.limit,
          actual: ptl.actual,
          refused: codes.length + 3,
          codes: [...new Set(codes), 'VALIDATION_FAILED'].join(','),
          keysChanged: after.length - before.length,
          roundTripBytes: result.bytes,
          byteExact: roundTrip,
          bufferArrays,
        },
        roundTrip && bufferArrays === 0 && violations.length === 0,
      );
      expect(stored).toBe(json);
      expect(result).toEqual({
        sha256: sha256(json),
        bytes: Buffer.byteLength(json, 'utf8'),
      });
      expect(result.bytes).toBeGreaterThanOrEqual(100 * 1024);
      expect(bufferArrays).toBe(0);
      // Only the round-trip job ever reached a handler.
      expect(s.ledger().filter((e) => e.ev === 'start')).toHaveLength(1);
      expect(w.child.exitCode).toBe(null);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S21 dedup by jobId under 100 concurrent enqueues, the dedup window, and an all-or-nothing bulk', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(s2xRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      // Keep one completed job: the next completion trims the one before.
      const keepOne = { retention: { completed: { count: 1 } } };
      const handles = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          queue.enqueue('task', { n: i }, { jobId: 'order-42', ...keepOne }),
        ),
      );
      const created = handles.filter((h) => !h.duplicate);
      const dups = handles.filter((h) => h.duplicate);
      const jobHashes = (await persistentKeys(s.admin)).filter(
        (k) => k.startsWith(`${base}j:`) && !k.endsWith(':log'),
      );
      const firstCreatedAt = await s.admin.hget(`${base}j:order-42`, 't');

      const w = await worker(s, 'w');
      const first = await created[0]!.finished({ timeoutMs: 10_000 });
      // Completed and still kept: the same id is still a duplicate.
      const whileKept = await queue.enqueue(
        'task',
        { n: 1000 },
        { jobId: 'order-42', ...keepOne },
      );
      // Another completion under the same rule lets retention remove it.
      const other = await queue.enqueue('task', { n: 2000 }, keepOne);
      await other.finished({ timeoutMs: 10_000 });
      const removedByRetention =
        (await s.admin.exists(`${base}j:order-42`)) === 0;
      const again = await queue.enqueue(
        'task',
        { n: 3000 },
        { jobId: 'order-42', ...keepOne },
      );
      const secondResult = await again.finished({ timeoutMs: 10_000 });
      const runs = s
        .ledger()
        .filter((e) => e.ev === 'start' && e.jobId === 'order-42')
        .map((e) => e.n);

      // A bulk of 1000 with one invalid item: refused whole, before Redis.
      const before = await persistentKeys(s.admin);
      const counterBefore = await s.admin.get(`${base}id`);
      const items = Array.from({ length: 1000 }, (_, n) => ({
        name: 'task' as const,
        payload: { n: n === 617 ? ('617' as unknown as number) : n },
      }));
      const bulkErr = await rejection(queue.enqueueBulk(items));
      const after = await persistentKeys(s.admin);
      const counterAfter = await s.admin.get(`${base}id`);

      const violations = await s.invariants();
      const pass =
        created.length === 1 &&
        dups.length === 99 &&
        whileKept.duplicate &&
        removedByRetention &&
        !again.duplicate &&
        violations.length === 0;
      report(
        'S21',
        {
          concurrent: 100,
          created: created.length,
          duplicates: dups.length,
          jobHashes: jobHashes.length,
          dupWhileKept: whileKept.duplicate,
          removedByRetention,
          reEnqueueNew: !again.duplicate,
          window: 'until-retention-removes-the-hash',
          bulkRefusedAt: (bulkErr as ValidationError).subject.split(':')[0]!,
          keysChanged: after.length - before.length,
        },
        pass,
      );
      // Exactly one job; 99 handles say duplicate, all with the same id.
      expect(created).toHaveLength(1);
      expect(dups).toHaveLength(99);
      expect(new Set(handles.map((h) => h.id))).toEqual(new Set(['order-42']));
      expect(jobHashes).toEqual([`${base}j:order-42`]);
      // The payload stored is the one of the call that won, and ran once.
      expect(first.n).toBe(handles.findIndex((h) => !h.duplicate));
      // The documented window: dedup lasts while the job hash exists, i.e.
      // until retention removes it. While kept, a re-enqueue is a duplicate
      // (nothing written, the kept job untouched)...
      expect(whileKept.duplicate).toBe(true);
      expect(whileKept.id).toBe('order-42');
      expect(removedByRetention).toBe(true);
      // ...after that, the same id creates a new job, which runs.
      expect(again.duplicate).toBe(false);
      expect(again.id).toBe('order-42');
      expect(secondResult.n).toBe(3000);
      expect(runs).toEqual([first.n, 3000]);
      expect(
        Number(await s.admin.hget(`${base}j:order-42`, 't')),
      ).toBeGreaterThanOrEqual(Number(firstCreatedAt));
      // The bulk: a ValidationError naming the item, and nothing written.
      expect(bulkErr).toBeInstanceOf(ValidationError);
      expect((bulkErr as ValidationError).subject).toContain('item 617');
      expect((bulkErr as ValidationError).issues[0]?.path).toBe('n');
      expect(after).toEqual(before);
      expect(counterAfter).toBe(counterBefore);
      expect(w.child.exitCode).toBe(null);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S22 priority: critical jobs overtake 500 low ones, FIFO among themselves, and keep their priority after a stall', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(s2xRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      const a = await worker(s, 'a', { concurrency: 1 });
      // A is busy with this one while the backlog is enqueued.
      const busy = await queue.enqueue('task', { n: -1, ms: 1500 });
      await until(
        () => s.ledger().some((e) => e.ev === 'start' && e.jobId === busy.id),
        5000,
        'A busy',
      );
      const lows = await queue.enqueueBulk(
        Array.from({ length: 500 }, (_, i) => ({
          name: 'task' as const,
          payload: { n: i },
          options: { priority: 'low' as const },
        })),
      );
      const crits = await queue.enqueueBulk(
        Array.from({ length: 20 }, (_, i) => ({
          name: 'task' as const,
          payload: { n: 1000 + i },
          options: { priority: 'critical' as const },
        })),
      );
      expect(
        s.ledger().filter((e) => e.ev === 'start' && e.jobId !== busy.id),
      ).toEqual([]);
      await Promise.all(
        [...lows, ...crits].map((h) => h.finished({ timeoutMs: 20_000 })),
      );
      const order = s
        .ledger()
        .filter((e) => e.ev === 'start' && e.jobId !== busy.id)
        .map((e) => e.n!);
      const critFirst = order.slice(0, 20);
      const critOrderOk =
        JSON.stringify(critFirst) ===
        JSON.stringify(Array.from({ length: 20 }, (_, i) => 1000 + i));
      const lowOrderOk =
        JSON.stringify(order.slice(20)) ===
        JSON.stringify(Array.from({ length: 500 }, (_, i) => i));

      // After a stall: K holds critical job C and is SIGKILLed while A
      // works through a low backlog.
      a.send({ cmd: 'pause' });
      await new Promise((r) => setTimeout(r, 100));
      const k = await worker(s, 'k', { concurrency: 1, hold: true });
      const c = await queue.enqueue(
        'task',
        { n: 5000 },
        { priority: 'critical' },
      );
      await until(
        () => s.ledger().some((e) => e.ev === 'start' && e.jobId === c.id),
        5000,
        'K holds C',
      );
      const backlog = await queue.enqueueBulk(
        Array.from({ length: 120 }, (_, i) => ({
          name: 'task' as const,
          payload: { n: 6000 + i, ms: 30 },
          options: { priority: 'low' as const },
        })),
      );
      a.send({ cmd: 'resume' });
      await until(
        () => s.ledger().some((e) => e.ev === 'start' && e.n === 6000),
        5000,
        'A on the low backlog',
      );
      await k.kill9();
      const boundMs = LEASE_MS + CHECK_MS + SLACK_MS;
      const recoveryMs = await until(
        async () => (await s.admin.hget(`${base}j:${c.id}`, 's')) === 'c',
        boundMs + 2000,
        'C completed after its stall',
      );
      await Promise.all(backlog.map((h) => h.finished({ timeoutMs: 15_000 })));
      // Redis scripts run one at a time, so the log's order is exact: the
      // first job leased after C's stalled event must be C.
      const events = await s.eventsOf();
      const stalledAt = events.findIndex(
        (e) => e.ev === 'stalled' && e.id === c.id,
      );
      const nextActive = events
        .slice(stalledAt + 1)
        .find((e) => e.ev === 'active');
      const lowsAfter = events
        .slice(events.indexOf(nextActive!) + 1)
        .filter(
          (e) => e.ev === 'active' && backlog.some((h) => h.id === e.id),
        ).length;
      const cInfo = await queue.getJob(c.id);
      const violations = await s.invariants();
      const pass =
        critOrderOk &&
        lowOrderOk &&
        stalledAt >= 0 &&
        nextActive?.id === c.id &&
        lowsAfter > 0 &&
        violations.length === 0;
      report(
        'S22',
        {
          low: 500,
          critical: 20,
          criticalFirst: critOrderOk,
          criticalFifo: critOrderOk,
          lowFifo: lowOrderOk,
          stalledCriticalNext: nextActive?.id === c.id,
          lowsLeftWhenItRan: lowsAfter,
          priorityAfterStall: cInfo?.priority ?? 'none',
          recoveryMs,
          boundMs,
        },
        pass,
      );
      expect(critFirst).toEqual(Array.from({ length: 20 }, (_, i) => 1000 + i));
      expect(order.slice(20)).toEqual(Array.from({ length: 500 }, (_, i) => i));
      expect(stalledAt).toBeGreaterThanOrEqual(0);
      expect(nextActive?.id).toBe(c.id);
      expect(lowsAfter).toBeGreaterThan(0);
      expect(cInfo?.priority).toBe(-15);
      expect(cInfo?.stalls).toBe(1);
      expect(cInfo?.state).toBe('completed');
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S23 a foreign job with { to, subj } fails at once with VALIDATION_FAILED at path subject', async () => {
    sc = await startScenario();
    const s = sc;
    const base = `${PREFIX}:{${s.queue}}:`;
    const queue = createQueue(s2xRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    try {
      const w = await worker(s, 'w', { paused: true });
      // An old producer's write, bypassing the SDK: raw HSET and ZADD in
      // the stored layout, with 3 attempts allowed.
      const seq = await s.admin.incr(`${base}id`);
      const legacyId = 'legacy-1';
      const [sec] = await s.admin.time();
      await s.admin
        .multi()
        .hset(`${base}j:${legacyId}`, {
          n: 'email',
          d: JSON.stringify({ to: 'a@example.com', subj: 'hello' }),
          p: 0,
          sq: seq,
          o: JSON.stringify({ at: 3, to: 0, kc: [1000, 0], kf: [10000, 0] }),
          t: Number(sec) * 1000,
          v: 1,
          a: 0,
          s: 'w',
        })
        .zadd(`${base}w:email`, seq, legacyId)
        .zadd(`${base}m:email`, 0, '0')
        .sadd(`${base}types`, 'email')
        .hincrby(`${base}counts`, 'email|w', 1)
        .exec();
      const valid = await queue.enqueue('email', {
        to: 'b@example.com',
        subject: 'hi',
      });
      w.send({ cmd: 'resume' });
      await valid.finished({ timeoutMs: 10_000 });
      // The worker's ledger line comes over IPC and may trail the write
      // to Redis (CI, under load): wait for both.
      await until(
        async () =>
          (await s.admin.hget(`${base}j:${legacyId}`, 's')) === 'f' &&
          s.ledger().some((e) => e.ev === 'failed' && e.jobId === legacyId) &&
          s.ledger().some((e) => e.ev === 'start' && e.jobId === valid.id),
        5000,
        'legacy job failed',
      );
      const info = await queue.getJob(legacyId);
      const ledger = s.ledger();
      const fails = ledger.filter(
        (e) => e.ev === 'failed' && e.jobId === legacyId,
      );
      const legacyStarts = ledger.filter(
        (e) => e.ev === 'start' && e.jobId === legacyId,
      );
      const validStart = ledger.find(
        (e) => e.ev === 'start' && e.jobId === valid.id,
      );
      const nextStartMs = validStart!.t - fails[0]!.t;
      const err = info?.errors[0];
      const paths = (err?.issues ?? []).map((i) => i.path);
      const violations = await s.invariants();
      const alive = w.child.exitCode === null && w.child.signalCode === null;
      const pass =
        err?.code === ErrorCode.VALIDATION_FAILED &&
        paths.includes('subject') &&
        fails.length === 1 &&
        legacyStarts.length === 0 &&
        nextStartMs <= 100 &&
        alive &&
        violations.length === 0;
      report(
        'S23',
        {
          code: err?.code ?? 'none',
          paths: paths.join('|'),
          attemptsMade: info?.attemptsMade ?? -1,
          attemptsAllowed: info?.attempts ?? -1,
          deliveries: info?.deliveries ?? -1,
          handlerCalls: legacyStarts.length,
          nextStartMs,
          boundMs: 100,
          alive,
        },
        pass,
      );
      expect(info?.state).toBe('failed');
      expect(err?.code).toBe(ErrorCode.VALIDATION_FAILED);
      expect(paths).toContain('subject');
      expect(err?.message).toContain('subject');
      // Not retried although 3 attempts were allowed; handler never called.
      expect(info?.attempts).toBe(3);
      expect(info?.attemptsMade).toBe(1);
      expect(info?.errors).toHaveLength(1);
      // Leased once for its attempt; on a loaded machine a prefetched lease
      // can also be handed back unstarted (a free re-queue, no attempt), so
      // a second delivery is allowed, a second attempt is not.
      expect(info?.deliveries).toBeGreaterThanOrEqual(1);
      expect(info?.deliveries).toBeLessThanOrEqual(2);
      expect(fails).toHaveLength(1);
      expect(fails[0]?.during).toBe('final');
      expect(legacyStarts).toEqual([]);
      // The worker lives on and starts the next valid job at once.
      expect(nextStartMs).toBeLessThanOrEqual(100);
      expect(alive).toBe(true);
      expect(violations).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('S24 result, progress and events survive a SIGKILLed producer', async () => {
    sc = await startScenario();
    const s = sc;
    const queue = createQueue(s2xRegistry(s.queue), {
      connection: s.redis.url,
      logger: quietLogger,
    });
    const events = createQueueEvents({
      connection: s.redis.url,
      queue: s.queue,
      from: '0',
      logger: quietLogger,
    });
    try {
      const w = await worker(s, 'w');
      const p1 = spawnChild('s24-producer-child.ts', {
        url: s.redis.url,
        queue: s.queue,
        mode: 'enqueue',
        ms: 3000,
      });
      await p1.ready;
      const { id, at: enqueuedAt } = await p1.next<{ id: string; at: number }>(
        'enqueued',
      );
      await new Promise((r) => setTimeout(r, enqueuedAt + 1000 - Date.now()));
      await p1.kill9();
      const killedAfterMs = Date.now() - enqueuedAt;
      const p2 = spawnChild('s24-producer-child.ts', {
        url: s.redis.url,
        queue: s.queue,
        mode: 'wait',
        id,
      });
      const outcome = await Promise.race([
        p2.next<{ result: { n: number; pid: number }; at: number }>(
          'result',
          15_000,
        ),
        p2
          .next<{ code: string; message: string }>('error', 15_000)
          .then((e) => {
            throw new Error(`waitForResult failed: ${e.code} ${e.message}`);
          }),
      ]);
      const info = await queue.getJob(id);
      // The durable log, read from its start by a reader created before.
      const mine: QueueEvent[] = [];
      for await (const e of events) {
        if (e.jobId !== id) continue;
        mine.push(e);
        if (e.event === 'completed') break;
      }
      const sequence = mine.map((e) => e.event).filter((e) => e !== 'waiting');
      const progress = mine
        .filter((e) => e.event === 'progress')
        .map((e) => e.progress);
      const violations = await s.invariants();
      const expected = [
        'active',
        'progress',
        'progress',
        'progress',
        'completed',
      ];
      const pass =
        outcome.result.n === 24 &&
        outcome.result.pid === w.pid &&
        info?.progress === 90 &&
        JSON.stringify(sequence) === JSON.stringify(expected) &&
        violations.length === 0;
      report(
        'S24',
        {
          killedAfterMs,
          resultAfterMs: outcome.at - enqueuedAt,
          result: outcome.result.n === 24 && outcome.result.pid === w.pid,
          progress: String(info?.progress),
          log: sequence.join('>'),
        },
        pass,
      );
      expect(killedAfterMs).toBeLessThan(3000);
      expect(outcome.result).toEqual({ n: 24, pid: w.pid });
      expect(outcome.at - enqueuedAt).toBeGreaterThanOrEqual(2900);
      expect(info?.state).toBe('completed');
      expect(info?.progress).toBe(90);
      expect(sequence).toEqual(expected);
      expect(progress).toEqual([10, 50, 90]);
      expect(mine.at(-1)?.result).toEqual({ n: 24, pid: w.pid });
      expect(violations).toEqual([]);
    } finally {
      await events.close();
      await queue.close();
    }
  });
});
