/**
 * Measurements over the flow tests' ledgers and lease times (issue 16):
 * the busiest sliding window of a set of start times, and the most jobs of
 * one key running at once.
 */

/**
 * The most timestamps in any half-open window `[x, x + windowMs)`: what a
 * sliding-window limit of `windowMs` bounds. The busiest window always
 * starts at one of the timestamps, so only those are tried.
 */
export function maxInWindow(
  times: readonly number[],
  windowMs: number,
): number {
  const ts = [...times].sort((a, b) => a - b);
  let best = 0;
  let hi = 0;
  for (let lo = 0; lo < ts.length; lo++) {
    while (hi < ts.length && ts[hi]! < ts[lo]! + windowMs) hi++;
    best = Math.max(best, hi - lo);
  }
  return best;
}

/** One handler run: its start and end (Date.now() of the process that ran it). */
export interface Run {
  key: string;
  start: number;
  end: number;
}

/**
 * The most runs of one key overlapping at any moment, per key. A run that
 * ends at the same millisecond another starts does not overlap it: the end
 * was recorded before its slot was given back, so before the other's lease.
 */
export function maxOverlapPerKey(runs: readonly Run[]): Map<string, number> {
  const byKey = new Map<string, { t: number; d: number }[]>();
  for (const r of runs) {
    const evs = byKey.get(r.key) ?? [];
    evs.push({ t: r.start, d: 1 }, { t: r.end, d: -1 });
    byKey.set(r.key, evs);
  }
  const out = new Map<string, number>();
  for (const [key, evs] of byKey) {
    // Ends first at equal times.
    evs.sort((a, b) => a.t - b.t || a.d - b.d);
    let now = 0;
    let best = 0;
    for (const e of evs) {
      now += e.d;
      best = Math.max(best, now);
    }
    out.set(key, best);
  }
  return out;
}

/** The most runs of any key overlapping at any moment. */
export function maxOverlap(runs: readonly Run[]): number {
  return Math.max(
    0,
    ...maxOverlapPerKey(runs.map((r) => ({ ...r, key: '' }))).values(),
  );
}
