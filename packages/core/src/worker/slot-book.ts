import type { LeasedJob } from '../redis/transitions/lease.ts';
import type { Reservation } from './queue-consumer.ts';

/** Handlers at least this slow (moving average) switch prefetching off. */
const SHORT_HANDLER_MS = 10;

/**
 * Work a prefetch buffer aims to hold, as handler time per slot: enough to
 * cover a few round trips, little enough that a worker does not sit on
 * more than a few milliseconds of jobs that other workers could run.
 */
const PREFETCH_BUDGET_MS = 4;

/** A prefetched job parked this long goes back for other workers. */
export const MAX_PARKED_MS = 1000;

/**
 * A worker's slot bookkeeping: how many jobs it may lease now, per type,
 * and the prefetch buffer.
 *
 * Prefetching leases up to `prefetch` jobs beyond the free slots while
 * handlers are short (their moving average under 10 ms), so the next job
 * is already here when one finishes and its completion's round trip runs
 * while the next handler does: with one slot, one round trip per job no
 * longer bounds throughput. The buffer aims at PREFETCH_BUDGET_MS of
 * handler time per slot (by the recent handler times; at least one job):
 * a deep buffer when handlers take microseconds (it keeps two completion
 * batches large enough for Redis and this process to overlap), a shallow
 * one when they take milliseconds. Buffered jobs hold real leases (renewed with
 * the running ones) and go back to waiting on close or pause. With slow
 * handlers a round trip is noise, and a buffered job would wait behind
 * them while other workers idle, so nothing is prefetched; a job parked
 * behind a handler that turned slow goes back after MAX_PARKED_MS.
 */
export class SlotBook {
  private occupied = 0;
  private reserved = 0;
  /** The part of `reserved` that fills free slots (not prefetch). */
  private reservedImmediate = 0;
  private readonly runningByType = new Map<string, number>();
  private readonly reservedByType = new Map<string, number>();
  private readonly bufferedByType = new Map<string, number>();
  /** Leased jobs waiting for a slot, oldest first. */
  readonly buffer: LeasedJob[] = [];
  private readonly parkedAt = new Map<LeasedJob, number>();
  private readonly startedAt = new Map<LeasedJob, number>();
  /** Moving average of handler time; unknown (no prefetch) until measured. */
  private handlerMs = Infinity;
  /**
   * The slowest recent handler time, decaying by a fifth per job: one slow
   * job shrinks the buffer at once, where the average would take several.
   */
  private recentMaxMs = 0;

  constructor(
    private readonly concurrency: number,
    private readonly typeLimit: ReadonlyMap<string, number>,
    private readonly prefetch: number,
    /** Types never prefetched: leased only for free slots (rate-limited). */
    private readonly leasedOnStart: ReadonlySet<string> = new Set(),
  ) {}

  /**
   * Reserves every free slot for a fetch: per type, how many jobs.
   *
   * `forWait`: for a one-hop wait, whose lease runs when a job comes, maybe
   * long after this. The lease marks the jobs beyond `immediate` unstarted
   * (prefetched), and a job marked so that finds a free slot by then starts
   * at once: if it killed its worker before its start was reported, it
   * would be charged no stall. So the wait prefetches only when nothing
   * runs, is parked or is being leased: then no slot can free up before
   * its lease, and `immediate` still holds. Otherwise it leases for the
   * slots free now, which stay reserved for it.
   *
   * `portion`: the share of the free slots to reserve (rounded up), for the
   * first half of a completion batch split in two, which leaves the rest
   * to the second half.
   *
   * `share`: at most that share of the whole (concurrency and prefetch
   * depth), for a completion batch written while another is in flight.
   * Each batch would otherwise take every slot free when it is written,
   * and the two batches cycling between this process and Redis drift
   * apart in size (180 and 48 jobs, measured): each side then waits out
   * the large batch on the other. Equal batches keep both sides busy.
   */
  reserve(
    types: readonly string[],
    forWait = false,
    portion = 1,
    share = 1,
  ): Reservation {
    const still =
      !forWait ||
      (this.occupied === 0 && this.buffer.length === 0 && this.reserved === 0);
    const ahead = still ? this.prefetchDepth() : 0;
    const free = Math.min(
      Math.ceil(
        portion *
          (this.concurrency +
            ahead -
            this.occupied -
            this.buffer.length -
            this.reserved),
      ),
      Math.ceil(share * (this.concurrency + ahead)),
    );
    const quotas: [string, number][] = [];
    if (free <= 0) return { quotas, total: 0, immediate: 0 };
    const freeNow =
      this.concurrency -
      this.occupied -
      this.buffer.length -
      this.reservedImmediate;
    for (const t of types) {
      const limit = this.typeLimit.get(t) ?? Infinity;
      const used =
        count(this.runningByType, t) +
        count(this.reservedByType, t) +
        count(this.bufferedByType, t);
      const q = Math.min(
        this.leasedOnStart.has(t) ? freeNow : free,
        limit - used,
      );
      if (q > 0) quotas.push([t, q]);
    }
    const total = Math.min(
      free,
      quotas.reduce((s, [, q]) => s + q, 0),
    );
    const immediate = Math.max(0, Math.min(total, freeNow));
    this.reserved += total;
    this.reservedImmediate += immediate;
    for (const [t, q] of quotas) add(this.reservedByType, t, q);
    return { quotas, total, immediate };
  }

  unreserve(reservation: Reservation): void {
    this.reserved -= reservation.total;
    this.reservedImmediate -= reservation.immediate;
    for (const [t, q] of reservation.quotas) add(this.reservedByType, t, -q);
  }

  /** Takes a slot for `job` if one is free (and nothing waits before it). */
  tryOccupy(job: LeasedJob): boolean {
    if (this.buffer.length > 0 || !this.hasRoom(job.name)) return false;
    this.occupy(job);
    return true;
  }

  /** Parks a leased job until a slot frees. */
  park(job: LeasedJob): void {
    this.buffer.push(job);
    this.parkedAt.set(job, performance.now());
    add(this.bufferedByType, job.name, 1);
  }

  /** The first parked job that fits a free slot, now occupying it. */
  nextParked(): LeasedJob | undefined {
    const i = this.buffer.findIndex((j) => this.hasRoom(j.name));
    if (i < 0) return undefined;
    const [job] = this.buffer.splice(i, 1);
    this.parkedAt.delete(job!);
    add(this.bufferedByType, job!.name, -1);
    this.occupy(job!);
    return job;
  }

  /** Removes parked jobs (to hand them back); `which` filters. */
  unpark(which: (job: LeasedJob) => boolean = () => true): LeasedJob[] {
    const out: LeasedJob[] = [];
    for (let i = this.buffer.length - 1; i >= 0; i--) {
      const job = this.buffer[i]!;
      if (!which(job)) continue;
      this.buffer.splice(i, 1);
      this.parkedAt.delete(job);
      add(this.bufferedByType, job.name, -1);
      out.unshift(job);
    }
    return out;
  }

  /** Removes jobs parked longer than MAX_PARKED_MS. */
  unparkStale(): LeasedJob[] {
    if (this.buffer.length === 0) return [];
    const before = performance.now() - MAX_PARKED_MS;
    return this.unpark((j) => (this.parkedAt.get(j) ?? Infinity) < before);
  }

  /** `job`'s handler settled: its slot is free again. False if already. */
  release(job: LeasedJob): boolean {
    const started = this.startedAt.get(job);
    if (started === undefined) return false;
    this.startedAt.delete(job);
    this.occupied--;
    add(this.runningByType, job.name, -1);
    const ms = performance.now() - started;
    this.handlerMs =
      this.handlerMs === Infinity ? ms : this.handlerMs * 0.8 + ms * 0.2;
    this.recentMaxMs = Math.max(ms, this.recentMaxMs * 0.8);
    return true;
  }

  /** How many jobs to lease beyond the free slots now (0: none). */
  private prefetchDepth(): number {
    if (!this.prefetching()) return 0;
    const perJobMs = Math.max(this.handlerMs, this.recentMaxMs, 0.001);
    const drainable = (this.concurrency * PREFETCH_BUDGET_MS) / perJobMs;
    return Math.min(this.prefetch, Math.max(1, Math.floor(drainable)));
  }

  /** Handlers are short: on average, and none running long right now. */
  private prefetching(): boolean {
    if (this.prefetch === 0 || !(this.handlerMs < SHORT_HANDLER_MS))
      return false;
    const longSince = performance.now() - SHORT_HANDLER_MS;
    for (const started of this.startedAt.values())
      if (started < longSince) return false;
    return true;
  }

  private hasRoom(name: string): boolean {
    return (
      this.occupied < this.concurrency &&
      count(this.runningByType, name) < (this.typeLimit.get(name) ?? Infinity)
    );
  }

  private occupy(job: LeasedJob): void {
    this.occupied++;
    add(this.runningByType, job.name, 1);
    this.startedAt.set(job, performance.now());
  }
}

function count(map: Map<string, number>, key: string): number {
  return map.get(key) ?? 0;
}

function add(map: Map<string, number>, key: string, delta: number): void {
  map.set(key, (map.get(key) ?? 0) + delta);
}
