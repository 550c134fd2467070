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

/** Job types of the model queue, each with its own retention. */
export const TYPES = ['charge', 'ping', 'note'] as const;
export type TypeName = (typeof TYPES)[number];

/**
 * Keep counts per type: -1 keeps all, 0 removes at once. `charge` keeps
 * everything (its jobId dedup must last), `ping` keeps one of each, `note`
 * removes completed jobs at once and keeps two failed or expired ones.
 */
export const KEEP: Record<TypeName, { completed: number; failed: number }> = {
  charge: { completed: -1, failed: -1 },
  ping: { completed: 1, failed: 1 },
  note: { completed: 0, failed: 2 },
};

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
  private seqCounter = 0;
  private finishCounter = 0;
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
   * Jobs reach a final state, in the order given (the caller knows it);
   * then each type's rule trims the oldest of that type only.
   */
  finish(
    jobs: MJob[],
    state: 'completed' | 'failed' | 'expired' | 'cancelled',
  ): void {
    for (const job of jobs) {
      job.state = state;
      job.outcome ??= state;
      job.finishOrder = ++this.finishCounter;
      const keep =
        KEEP[job.type][state === 'completed' ? 'completed' : 'failed'];
      if (keep < 0) continue;
      const mine = this.inState(state)
        .filter((j) => j.type === job.type)
        .sort((a, b) => b.finishOrder - a.finishOrder);
      for (const old of mine.slice(keep)) this.remove(old);
    }
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
