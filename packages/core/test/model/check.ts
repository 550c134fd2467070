/**
 * The invariants of issue 12, checked after every step of the model-based
 * test. Each returns violations as sentences; a step fails on the first
 * non-empty list. Where today's code (before the issue-12 fixes) breaks an
 * invariant, the defect number of issue 12 is named beside it.
 */
import { isDeepStrictEqual } from 'node:util';
import { CronExpressionParser } from 'cron-parser';
import { checkInvariants } from '../faults/harness/invariants.ts';
import {
  expectedResult,
  KEEP,
  type MJob,
  type Model,
  type State,
  type Tracker,
} from './model.ts';
import { checkPickups, isMultiQueueKey } from './multi-queue.ts';
import { PREFIX, sleep, typeOf, type System } from './system.ts';

const LETTER: Record<State, string> = {
  waiting: 'w',
  delayed: 'd',
  active: 'a',
  completed: 'c',
  failed: 'f',
  expired: 'x',
  cancelled: 'k',
};

/** How long a finished() call may lag the outcome it reports. */
const FINISH_GRACE_MS = 2000;

/** A finished() call, watched. */
export function track(p: Promise<unknown>): Tracker {
  const t = { settled: undefined } as Tracker;
  t.promise = p.then(
    (value) => {
      t.settled = { ok: true, value };
    },
    (err: unknown) => {
      t.settled = {
        ok: false,
        code: (err as { code?: string } | null)?.code ?? String(err),
      };
    },
  );
  return t;
}

/** Whether `slot` is a fire time of `cron` (UTC). */
function fitsCron(cron: string, slot: number): boolean {
  const next = CronExpressionParser.parse(cron, {
    currentDate: new Date(slot - 1),
    tz: 'UTC',
  }).next();
  return next.getTime() === slot;
}

export async function checkAll(model: Model, sys: System): Promise<string[]> {
  const v: string[] = [];
  // Structure: one state structure per job, hashes and indexes agree,
  // counts match the sets, every key under the queue's hash tag.
  const prefixes = sys.multiPrefixes;
  v.push(
    ...(await checkInvariants(sys.server.url, PREFIX, sys.queue)).filter(
      (x) => !isMultiQueueKey(x, prefixes),
    ),
  );
  const raw = await sys.rawJobs();
  await checkSchedules(model, sys, raw, v);
  checkStates(model, raw, v);
  await checkCounts(model, sys, v);
  await checkFinished(model, v);
  if (model.mq.length > 0)
    checkPickups(model.mq, sys.multi.started, model.disturbed, v);
  v.push(...(await sys.events.check(model, sys.admin, sys.eventsKey)));
  return v;
}

/**
 * Every acknowledged job is in exactly the state the model says, or was
 * removed by an explicit rule; each type's retention holds for that type
 * alone; no job is both started and expired.
 */
function checkStates(
  model: Model,
  raw: Map<string, { n: string; s: string }>,
  v: string[],
): void {
  for (const [id, j] of model.jobs) {
    const r = raw.get(id);
    if (r === undefined) {
      // Defect 1: another type's keep rule trims this type's finished jobs.
      // Defect 3: drain({ delayed: true }) removes a schedule's pending
      // occurrence, and nothing replaces it.
      const hint = ['completed', 'failed', 'expired', 'cancelled'].includes(
        j.state,
      )
        ? ` although its rules are ${JSON.stringify(j.keep)} (retention crossed types or rules: defect 1)`
        : j.repeatKey !== undefined && model.schedules.has(j.repeatKey)
          ? ` although it is the pending occurrence of schedule ${j.repeatKey} (defect 3)`
          : '';
      v.push(`job ${id} (${j.type}) should be ${j.state} but is gone${hint}`);
    } else if (r.s !== LETTER[j.state]) {
      // Defect 5: a re-queued job keeps its expiry and expires after it ran.
      // Defect 4: close() stops renewing the leases of the jobs it waits for.
      const closing = model.slots.some(
        (s) => s.status === 'closing' && s.held === id,
      );
      const hint =
        r.s === 'x' && j.started
          ? ' (started, then expired: defect 5)'
          : closing
            ? ' (taken from a worker that is closing: defect 4)'
            : '';
      v.push(`job ${id} (${j.type}) should be ${j.state} but is ${r.s}${hint}`);
    } else if (r.n !== j.type) {
      v.push(`job ${id} should be a ${j.type} but is a ${r.n}`);
    }
  }
  for (const [id, r] of raw) {
    if (model.jobs.has(id)) continue;
    // Defect 7: expired jobs are never trimmed by their type's keep rule.
    const hint = r.s === 'x' ? ' (expired jobs not trimmed: defect 7)' : '';
    v.push(`job ${id} (${r.n}, ${r.s}) should not exist${hint}`);
  }
}

/**
 * Each schedule has exactly one pending occurrence (waiting or delayed and
 * never taken), carrying its latest spec; getRepeats() lists exactly the schedules. The
 * pending occurrence's id is the system's choice: the model adopts it.
 */
async function checkSchedules(
  model: Model,
  sys: System,
  raw: Map<string, { n: string; s: string }>,
  v: string[],
): Promise<void> {
  for (const s of model.schedules.values()) {
    const prefix = `rpt.${s.key}.`;
    // An occurrence that was taken and handed back (a closing worker, a
    // stall) is a job in flight that still has to run, not the chain's
    // next slot: the chain advanced when it was taken.
    const pending = [...raw].filter(
      ([id, r]) =>
        id.startsWith(prefix) &&
        (r.s === 'w' || r.s === 'd') &&
        model.jobs.get(id)?.started !== true,
    );
    // Defect 2: a replaced schedule keeps its old chain beside the new one.
    // Defect 3: an expired, removed or drained occurrence ends the chain.
    if (pending.length !== 1)
      v.push(
        `schedule ${s.key} has ${pending.length} pending occurrences (${pending.map(([id]) => id).join(', ')}), not 1 (defects 2, 3)`,
      );
    for (const [id, r] of pending) {
      const payload = (await sys.payloadOf(id)) as { n: number } | undefined;
      // Defect 2: the occurrence carries the spec it was created with.
      if (payload?.n !== s.n)
        v.push(
          `occurrence ${id} carries payload ${JSON.stringify(payload)}, the schedule's latest is ${s.n} (defect 2)`,
        );
      if (!fitsCron(s.cron, Number(id.slice(prefix.length))))
        v.push(
          `occurrence ${id} is not a slot of the latest cron ${s.cron} (defect 2)`,
        );
      if (!model.jobs.has(id)) {
        const job: MJob = {
          id,
          type: typeOf(r.n),
          n: payload?.n ?? -1,
          prio: 0,
          seq: model.nextSeq(),
          state: r.s === 'w' ? 'waiting' : 'delayed',
          expireMs: s.expireMs,
          attempts: 1,
          attemptsMade: 0,
          stalls: 0,
          started: false,
          finishOrder: 0,
          keep: KEEP[typeOf(r.n)],
          repeatKey: s.key,
          tracker: track(sys.q.waitForResult(typeOf(r.n), id)),
        };
        model.add(job);
      }
    }
  }
  const listed = await sys.q.getRepeats();
  const keys = listed.map((r) => r.key).sort();
  const want = [...model.schedules.keys()].sort();
  if (!isDeepStrictEqual(keys, want))
    v.push(`getRepeats() lists ${keys.join(',')}, want ${want.join(',')}`);
  for (const r of listed) {
    const s = model.schedules.get(r.key);
    if (s === undefined) continue;
    const data = JSON.parse(r.data) as { n: number };
    if (r.cron !== s.cron || data.n !== s.n || r.name !== s.type)
      v.push(
        `getRepeats() shows ${r.key} as ${r.name} ${r.cron} n=${data.n}, latest is ${s.type} ${s.cron} n=${s.n} (defect 2)`,
      );
  }
}

/** getCounts() matches the model, per type and state. */
async function checkCounts(
  model: Model,
  sys: System,
  v: string[],
): Promise<void> {
  const got = (await sys.q.getCounts()).byType;
  const want = model.counts();
  for (const type of new Set([...Object.keys(got), ...Object.keys(want)])) {
    for (const state of Object.keys(LETTER) as State[]) {
      const g = got[type]?.[state] ?? 0;
      const w = want[type]?.[state] ?? 0;
      if (g !== w) v.push(`getCounts(): ${type} ${state} is ${g}, want ${w}`);
    }
  }
}

/**
 * finished() settles for every job that reached a final state or was
 * removed, with that first outcome, and not before.
 */
async function checkFinished(model: Model, v: string[]): Promise<void> {
  const deadline = Date.now() + FINISH_GRACE_MS;
  for (const j of [...model.jobs.values(), ...model.gone]) {
    const t = j.tracker;
    if (t === undefined) continue;
    if (j.outcome === undefined) {
      if (t.settled !== undefined)
        v.push(
          `finished() of ${j.id} settled (${JSON.stringify(t.settled)}) while it is ${j.state}`,
        );
      continue;
    }
    if (t.settled === undefined)
      await Promise.race([
        t.promise,
        sleep(Math.max(0, deadline - Date.now())),
      ]);
    const s = t.settled;
    if (s === undefined) {
      // Defect 10: drain() and removeRepeat write no `removed` event.
      v.push(
        `finished() of ${j.id} (${j.type}) never settled after it was ${j.outcome} (defect 10)`,
      );
      // Reported once: a later step does not wait for it again.
      j.tracker = undefined;
      continue;
    }
    const right =
      j.outcome === 'completed'
        ? s.ok && isDeepStrictEqual(s.value, expectedResult(j))
        : j.outcome === 'expired'
          ? !s.ok && s.code === 'EXPIRED'
          : j.outcome === 'cancelled'
            ? !s.ok && s.code === 'CANCELLED'
            : j.outcome === 'removed'
              ? !s.ok && s.code === 'JOB_NOT_FOUND'
              : !s.ok &&
                !['EXPIRED', 'CANCELLED', 'JOB_NOT_FOUND', 'CLOSED'].includes(
                  s.code,
                );
    if (!right) {
      // A drained job (no event of its own) whose id an earlier job used:
      // finished() found that job's outcome in the event log.
      const reused =
        j.outcome === 'removed' &&
        model.gone.some((g) => g !== j && g.id === j.id);
      v.push(
        `finished() of ${j.id} (${j.type}) reported ${JSON.stringify(s)}, but the job was ${j.outcome}${reused ? ' (defect reused-id: an earlier job of this id ended so)' : ''}`,
      );
    }
  }
}
