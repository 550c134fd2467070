/**
 * The offered-rate search of the `mixed` scenario: ramp the rate up by a
 * factor until a step is not sustained, then bisect (geometrically) between
 * the best sustained rate and the lowest failed one. Pure, so it is tested
 * on its own.
 */

export interface RateSearchOptions {
  /** First rate tried, jobs/s. */
  start: number;
  /** Ramp factor while every step holds (> 1). */
  factor: number;
  /** Bisection steps after the first failure. */
  refinements: number;
  /** Never offer more than this, jobs/s. */
  max: number;
  /** Give up below this when even the start fails, jobs/s. */
  min?: number;
}

/** Rounds a rate to 2 significant digits so the steps read well. */
function roundRate(rate: number): number {
  const unit = 10 ** Math.max(0, Math.floor(Math.log10(rate)) - 1);
  return Math.max(1, Math.round(rate / unit) * unit);
}

/**
 * Yields rates to try with `next()`; the caller reports each with
 * `record()`. `best` is the highest rate that held.
 */
export class RateSearch {
  private readonly o: Required<RateSearchOptions>;
  private lo: number | undefined;
  private hi: number | undefined;
  private pending: number | undefined;
  private refinementsLeft: number;
  private done = false;

  constructor(options: RateSearchOptions) {
    if (!(options.factor > 1)) throw new Error('factor must be above 1');
    if (!(options.start > 0) || !(options.max >= options.start)) {
      throw new Error('need 0 < start <= max');
    }
    this.o = { min: options.start / 16, ...options };
    this.refinementsLeft = options.refinements;
    this.pending = roundRate(options.start);
  }

  /** The highest rate that held, if any. */
  get best(): number | undefined {
    return this.lo;
  }

  /** The next rate to try, or undefined when the search is over. */
  next(): number | undefined {
    return this.done ? undefined : this.pending;
  }

  /** Reports whether `rate` (the one `next()` gave) was sustained. */
  record(rate: number, sustained: boolean): void {
    if (this.done) throw new Error('search is over');
    if (sustained) this.lo = Math.max(this.lo ?? 0, rate);
    else this.hi = Math.min(this.hi ?? Infinity, rate);
    this.pending = this.plan();
    if (this.pending === undefined) this.done = true;
  }

  private plan(): number | undefined {
    const { factor, max, min } = this.o;
    if (this.hi === undefined) {
      // Still ramping: everything so far held.
      const lo = this.lo!;
      if (lo >= max) return undefined;
      return Math.min(max, roundRate(lo * factor));
    }
    if (this.lo === undefined) {
      // Even the first step failed: ramp down.
      const down = roundRate(this.hi / factor);
      return down < min || down >= this.hi ? undefined : down;
    }
    if (this.refinementsLeft <= 0) return undefined;
    this.refinementsLeft--;
    const mid = roundRate(Math.sqrt(this.lo * this.hi));
    return mid > this.lo && mid < this.hi ? mid : undefined;
  }
}

/** What one step of the `mixed` scenario saw. */
export interface StepOutcome {
  /** The rate offered, jobs/s. */
  rate: number;
  /** Jobs the step was to send at that rate. */
  planned: number;
  /** How long sending them took, ms (longer than planned: the producer lagged). */
  sendMs: number;
  /** Jobs whose handler had started when the last one was sent. */
  startedAtEnd: number;
  /** The worker's concurrency (jobs it may hold without a backlog). */
  concurrency: number;
}

/**
 * Whether a step held its rate: the producer kept to its schedule (within
 * 10%) and the backlog left when the last job was sent is no more than
 * 20 ms of the rate or twice the worker's concurrency, whichever is more.
 * A worker short of the rate by 1% over a 2 s step leaves 20 ms of it.
 */
export function sustained(s: StepOutcome): boolean {
  const plannedMs = (s.planned * 1000) / s.rate;
  const backlog = s.planned - s.startedAtEnd;
  const allowed = Math.max(s.rate * 0.02, 2 * s.concurrency);
  return s.sendMs <= plannedMs * 1.1 + 20 && backlog <= allowed;
}
