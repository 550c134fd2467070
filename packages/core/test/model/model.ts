/**
 * The reference model of the model-based test (model.test.ts): what the
 * issue-12 invariants say a queue holds after each operation, kept in plain
 * TypeScript with no Redis. The driver (system.ts) runs the same operation
 * on real Redis; check.ts compares the two.
 *
 * Time is the one thing the model cannot fix in advance: an expiry deadline
 * is set by Redis's clock somewhere inside the client-side window of the
 * call that set it. The model keeps that window, and a take accepts either
 * outcome only while the fetch overlaps it.
 */

import type { MqJob } from './multi-queue.ts';

/** Job types of the model queue, each with its own retention. */
export const TYPES = ['charge', 'ping', 'note'] as const;
export type TypeName = (typeof TYPES)[number];

/** A keep rule as stored: the newest `count` (-1: all), none older than `ageMs` (0: any age). */
export interface KeepRule {
  count: number;
  ageMs: number;
}

/** `true`: kept for good, never in its type's retention index. */
export const KEEP_ALL: KeepRule = { count: -1, ageMs: 0 };

/**
 * The age rules the model uses: AGE_NOW drops every job of an earlier
 * script call (steps are many ms apart), AGE_LONG drops none within a run
 * but makes its job trimmable by the other jobs' rules.
 */
export const AGE_NOW_MS = 1;
export const AGE_LONG_MS = 3_600_000;

/** A job's rules for its completed and its failed, expired or cancelled end. */
export interface JobKeep {
  completed: KeepRule;
  failed: KeepRule;
}

/**
 * Each type's rules: `charge` keeps everything (its jobId dedup must last),
 * `ping` keeps one of each, `note` removes completed jobs at once and keeps
 * two failed or expired ones. An enqueue may bring its own (commands.ts).
 */
export const KEEP: Record<TypeName, JobKeep> = {
  charge: { completed: KEEP_ALL, failed: KEEP_ALL },
  ping: { completed: { count: 1, ageMs: 0 }, failed: { count: 1, ageMs: 0 } },
  note: { completed: { count: 0, ageMs: 0 }, failed: { count: 2, ageMs: 0 } },
};

/** Whether a rule puts its job in its type's retention index. */
export function trimmable(rule: KeepRule): boolean {
  return rule.count >= 0 || rule.ageMs > 0;
}

export type State =
  | 'waiting'
  | 'delayed'
  | 'active'
  | 'completed'
  | 'failed'
  | 'expired'
  | 'cancelled';

export type Outcome =
  'completed' | 'failed' | 'expired' | 'cancelled' | 'removed';

/** What a `finished()` call has done so far. */
export interface Tracker {
  settled?: { ok: true; value: unknown } | { ok: false; code: string };
  promise: Promise<void>;
}

export interface MJob {
  id: string;
  type: TypeName;
  n: number;
  prio: number;
  /** Order within a priority: bumped wherever Redis draws a new sequence. */
  seq: number;
  state: State;
  /** expireAfterMs, 0 for none. */
  expireMs: number;
  /** Client-clock window of the call that set the current expiry deadline. */
  expiryWindow?: [number, number];
  attempts: number;
  attemptsMade: number;
  stalls: number;
  /**
   * The job has been leased at least once: from then on it never expires
   * (expireAfterMs bounds the wait for a first start only).
   */
  started: boolean;
  /** Order among finished jobs, for retention (newest kept). */
  finishOrder: number;
  /** The script call that finished it: an age rule spares its own call's jobs. */
  finishCall?: number;
  /** Its own retention rules (its type's, or its enqueue's). */
  keep: JobKeep;
  /** Repeat key, for occurrences of a schedule. */
  repeatKey?: string;
  /** The first final outcome: what finished() must report. */
  outcome?: Outcome;
  tracker?: Tracker;
}

export interface Schedule {
  key: string;
  type: TypeName;
  cron: string;
  n: number;
  expireMs: number;
}

/** What a controlled worker holds, as the model sees it. */
export interface SlotModel {
  status: 'none' | 'idle' | 'holding' | 'closing';
  held?: string;
  /** Silent since this time (client clock). */
  frozenAt?: number;
  /** close() with the long deadline started at this time. */
  closeAt?: number;
}

/** The queue as the invariants say it must be. */
export class Model {
  readonly slots: SlotModel[] = [{ status: 'none' }, { status: 'none' }];
  /** Jobs whose worker crashed or froze, by when (client clock). */
  readonly abandoned = new Map<string, number>();
  readonly jobs = new Map<string, MJob>();
  /** Jobs removed (explicitly or by retention), for the finished() check. */
  readonly gone: MJob[] = [];
  readonly schedules = new Map<string, Schedule>();
  /** Jobs given to the multi-queue worker (multi-queue.ts). */
  readonly mq: MqJob[] = [];
  /** Client-clock spans of Redis restarts and the recovery after each. */
  readonly disturbed: [number, number][] = [];
  private seqCounter = 0;
  private finishCounter = 0;
  private callCounter = 0;
  nextN = 0;

  nextSeq(): number {
    return ++this.seqCounter;
  }

  /** A job with this id is retained, so a jobId enqueue is a duplicate. */
  retained(id: string): boolean {
    return this.jobs.has(id);
  }

  add(job: MJob): void {
    this.jobs.set(job.id, job);
  }

  /** Waiting jobs in the order a worker takes them. */
  waitingInOrder(): MJob[] {
    return [...this.jobs.values()]
      .filter((j) => j.state === 'waiting')
      .sort((a, b) => a.prio - b.prio || a.seq - b.seq);
  }

  inState(state: State): MJob[] {
    return [...this.jobs.values()].filter((j) => j.state === state);
  }

  /** Removes a job by an explicit rule (remove, drain, clean, retention). */
  remove(job: MJob): void {
    job.outcome ??= 'removed';
    this.jobs.delete(job.id);
    this.gone.push(job);
  }

  /**
   * Jobs reach a final state in one script call, in the order given (the
   * caller knows it). Each job's own rule applies to its type's trimmable
   * jobs in that state: `one-by-one`, right after the job is indexed (fail,
   * the stall check); `together`, once the whole call's jobs are (a
   * fetch's expiries: includes/lease.lua). A rule that keeps nothing
   * deletes its job at once and trims nothing else. `sameScore`: the call
   * scores its jobs alike (the stall check's one timestamp), so Redis
   * orders them by id, whatever order they were finished in.
   */
  finish(
    jobs: MJob[],
    state: 'completed' | 'failed' | 'expired' | 'cancelled',
    mode: 'one-by-one' | 'together' = 'one-by-one',
    sameScore = false,
  ): void {
    const call = ++this.callCounter;
    const deferred: [TypeName, KeepRule][] = [];
    const ranked = sameScore
      ? [...jobs].sort((a, b) => (a.id < b.id ? -1 : 1))
      : jobs;
    for (const job of ranked) job.finishOrder = ++this.finishCounter;
    for (const job of jobs) {
      job.state = state;
      job.outcome ??= state;
      job.finishCall = call;
      const rule = state === 'completed' ? job.keep.completed : job.keep.failed;
      if (rule.count === 0) {
        this.remove(job);
        continue;
      }
      if (mode === 'together') deferred.push([job.type, rule]);
      else this.trim(job.type, state, rule, call);
    }
    for (const [type, rule] of deferred) this.trim(type, state, rule, call);
  }

  /** One rule trims the trimmable jobs of `type` in `state`, oldest first. */
  private trim(type: TypeName, state: State, rule: KeepRule, call: number) {
    const mine = () =>
      this.inState(state)
        .filter((j) => j.type === type && trimmable(this.ruleIn(j)))
        .sort((a, b) => a.finishOrder - b.finishOrder);
    // AGE_LONG_MS never ends within a run; AGE_NOW_MS spares only this call.
    if (rule.ageMs > 0 && rule.ageMs < AGE_LONG_MS)
      for (const old of mine()) if (old.finishCall! < call) this.remove(old);
    if (rule.count < 0) return;
    const left = mine();
    for (const old of left.slice(0, Math.max(0, left.length - rule.count)))
      this.remove(old);
  }

  /** The rule that kept a finished job. */
  private ruleIn(job: MJob): KeepRule {
    return job.state === 'completed' ? job.keep.completed : job.keep.failed;
  }

  /** Sets a fresh expiry deadline inside the window of the call that set it. */
  armExpiry(job: MJob, window: [number, number]): void {
    job.expiryWindow = job.expireMs > 0 && !job.started ? window : undefined;
  }

  /** Whether the job may have expired at a fetch that ran inside `fetch`. */
  mayExpire(job: MJob, fetch: [number, number]): boolean {
    if (job.started || job.expiryWindow === undefined) return false;
    return fetch[1] >= job.expiryWindow[0] + job.expireMs;
  }

  /** Whether the job had surely expired at a fetch that ran inside `fetch`. */
  mustExpire(job: MJob, fetch: [number, number]): boolean {
    if (job.started || job.expiryWindow === undefined) return false;
    // 1 ms of slack: Redis TIME and Date.now() round differently.
    return fetch[0] > job.expiryWindow[1] + job.expireMs + 1;
  }

  /** Counts per type and state, as getCounts() must report them. */
  counts(): Record<string, Record<State, number>> {
    const out: Record<string, Record<State, number>> = {};
    for (const j of this.jobs.values()) {
      out[j.type] ??= {
        waiting: 0,
        delayed: 0,
        active: 0,
        completed: 0,
        failed: 0,
        expired: 0,
        cancelled: 0,
      };
      out[j.type]![j.state]++;
    }
    return out;
  }
}

/** The payload every job carries, and the result its handler returns. */
export function expectedResult(job: MJob): unknown {
  return job.type === 'note' ? undefined : { n: job.n };
}
