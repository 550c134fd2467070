/**
 * The runners of the `mixed` and `events` scenarios, written once against
 * the adapter interface so every system runs the same loop.
 */
import {
  RateSearch,
  sustained,
  type RateSearchOptions,
} from './rate-search.ts';
import { percentile } from './stats.ts';
import { deferred, paced, pool, type SystemAdapter } from './systems/types.ts';

/** Index of the warm-up job (outside every measured range). */
const WARM = 99_999_999;

export interface MixedOptions extends RateSearchOptions {
  /** Length of one step at its rate, ms. */
  stepMs: number;
  /** The worker's concurrency. */
  concurrency: number;
  /** How long a step's backlog may take to drain before the run fails, ms. */
  drainTimeoutMs: number;
}

export interface MixedStep {
  rate: number;
  held: boolean;
  pickupP50: number;
  pickupP99: number;
}

export interface MixedResult {
  /** Highest offered rate that held, jobs/s (NaN if none did). */
  rate: number;
  /** Pickup (enqueue call → handler start) at that rate, ms. */
  pickupP50: number;
  pickupP99: number;
  steps: MixedStep[];
}

/**
 * Producer and worker at once: steps of `stepMs` at rising offered rates
 * (open loop: enqueue calls are not awaited before the next is sent), each
 * from an empty queue, until the backlog grows (see `sustained`); a first
 * step at the start rate warms up and is not counted.
 */
export async function runMixed(
  a: SystemAdapter,
  o: MixedOptions,
): Promise<MixedResult> {
  let sentAt: number[] = [];
  let pickup: number[] = [];
  let started = 0;
  let base = 0;
  let allStarted = deferred();
  let expected = 0;
  const warm = deferred();
  const worker = await a.consume(o.concurrency, (i) => {
    if (i === WARM) return warm.resolve();
    const k = i - base;
    if (k < 0 || k >= sentAt.length) return;
    pickup[k] = performance.now() - sentAt[k]!;
    if (++started === expected) allStarted.resolve();
  });
  const steps: MixedStep[] = [];
  try {
    await a.enqueueOne(WARM);
    await warm.promise;
    const step = async (rate: number): Promise<MixedStep> => {
      const planned = Math.max(1, Math.round((rate * o.stepMs) / 1000));
      sentAt = new Array<number>(planned).fill(NaN);
      pickup = new Array<number>(planned).fill(NaN);
      started = 0;
      expected = planned;
      allStarted = deferred();
      const sends: Promise<void>[] = [];
      const t0 = performance.now();
      await paced(planned, rate, (k) => {
        sentAt[k] = performance.now();
        sends.push(a.enqueueOne(base + k));
      });
      const sendMs = performance.now() - t0;
      const startedAtEnd = started;
      await Promise.all(sends);
      await withDeadline(
        allStarted.promise,
        o.drainTimeoutMs,
        `mixed at ${rate}/s: backlog not drained`,
      );
      base += planned;
      return {
        rate,
        held: sustained({
          rate,
          planned,
          sendMs,
          startedAtEnd,
          concurrency: o.concurrency,
        }),
        pickupP50: percentile(pickup, 50),
        pickupP99: percentile(pickup, 99),
      };
    };
    // A first step at the start rate, not counted: JIT, pools, buffers.
    await step(o.start);
    const search = new RateSearch(o);
    for (let rate = search.next(); rate !== undefined; rate = search.next()) {
      const s = await step(rate);
      steps.push(s);
      search.record(rate, s.held);
    }
  } finally {
    await worker.close();
  }
  const best = steps.filter((s) => s.held).sort((x, y) => y.rate - x.rate)[0];
  return {
    rate: best?.rate ?? NaN,
    pickupP50: best?.pickupP50 ?? NaN,
    pickupP99: best?.pickupP99 ?? NaN,
    steps,
  };
}

export interface EventsResult {
  /** Round trip (enqueue call → producer learns of completion), ms per job. */
  roundTrip: number[];
}

/**
 * `n` round trips with `inFlight` producers each awaiting its job's
 * completion before sending the next, a worker of `concurrency` running.
 * `measured` wraps the timed part (for the cost counters).
 */
export async function runEvents(
  a: SystemAdapter,
  n: number,
  inFlight: number,
  concurrency: number,
  measured: (fn: () => Promise<void>) => Promise<void>,
): Promise<EventsResult> {
  const roundTrip = new Array<number>(n).fill(NaN);
  const worker = await a.consume(concurrency, () => {});
  try {
    // Warm-up: the completion listener and the worker's first fetch.
    await a.roundTrip(WARM);
    await measured(() =>
      pool(n, inFlight, async (i) => {
        const t0 = performance.now();
        await a.roundTrip(i);
        roundTrip[i] = performance.now() - t0;
      }),
    );
  } finally {
    await worker.close();
  }
  return { roundTrip };
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
