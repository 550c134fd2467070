import type { RedisClient } from '../redis/scripts/index.ts';
import type { QueueConsumer } from './queue-consumer.ts';
import type { RunningJob } from './job-run-host.ts';
import {
  extendLeases,
  recoverStalled,
  release,
  type LeasedJob,
  type LeaseRenewal,
} from '../redis/transitions/lease.ts';
import type { SlotBook } from './slot-book.ts';

/** What the upkeep reads from its worker. */
export interface UpkeepHost {
  readonly client: RedisClient;
  readonly consumers: readonly QueueConsumer[];
  /** Running jobs by `runningKey(queue, token)`. */
  readonly jobs: ReadonlyMap<string, RunningJob>;
  readonly slots: SlotBook;
  readonly leaseMs: number;
  readonly maxEvents: number;
  readonly maxStalls: number;
  /** Per queue, the age rules of the worker's job types in it (ageRulesOf). */
  readonly ageRules: ReadonlyMap<string, string>;
  reportError(err: unknown, context: string): void;
  stalled(info: {
    queue: string;
    requeued: number;
    failed: number;
    cancelled: number;
  }): void;
}

/** The key of a running job in the worker's map: its lease, not its id. */
export function runningKey(queue: string, token: string): string {
  return `${queue}\u0000${token}`;
}

/**
 * A worker's periodic lease work: renewing the leases it holds (running
 * and prefetched jobs), handing prefetched jobs back, and recovering jobs
 * whose leases expired anywhere. Each step is one script call per queue.
 */
export class LeaseUpkeep {
  constructor(private readonly host: UpkeepHost) {}

  /**
   * Renews every lease this worker holds; a lease found gone aborts its
   * job, and so does a cancel: the renewal reports the jobs whose cancel
   * was requested, so a handler's signal fires within one renewal interval
   * of the cancel (plus a round trip).
   */
  async renew(): Promise<void> {
    const host = this.host;
    if (host.client.status !== 'ready') return;
    for (const c of host.consumers) {
      const queue = c.keys.queue;
      const leases: LeaseRenewal[] = [];
      // Running prefetched jobs whose start no completion batch reported yet.
      const reported: LeasedJob[] = [];
      for (const j of host.jobs.values()) {
        if (j.leased.queue !== queue || !j.renewing) continue;
        const { id, token, unstarted } = j.leased;
        leases.push({ id, token, started: unstarted });
        if (unstarted) reported.push(j.leased);
      }
      // Prefetched jobs hold leases too.
      for (const j of host.slots.buffer)
        if (j.queue === queue)
          leases.push({ id: j.id, token: j.token, started: false });
      if (leases.length === 0) continue;
      for (const j of reported) j.unstarted = false;
      try {
        const { lost, cancelling } = await extendLeases(
          host.client,
          c.keys,
          host.leaseMs,
          leases,
        );
        const gone = new Set(lost);
        host.slots.unpark((j) => j.queue === queue && gone.has(j.token));
        for (const token of lost)
          host.jobs.get(runningKey(queue, token))?.leaseLost('renew');
        if (cancelling.size > 0) this.cancel(queue, cancelling);
      } catch (err) {
        host.reportError(err, 'renewing leases');
      }
    }
  }

  /**
   * Aborts the handlers of running jobs whose cancel was requested, and
   * hands back such prefetched jobs, which ends them as cancelled.
   */
  private cancel(queue: string, cancelling: ReadonlyMap<string, string>): void {
    const host = this.host;
    const parked = host.slots.unpark(
      (j) => j.queue === queue && cancelling.has(j.token),
    );
    if (parked.length > 0) void this.handBack(parked);
    for (const [token, reason] of cancelling)
      host.jobs.get(runningKey(queue, token))?.cancel(reason);
  }

  /**
   * Returns prefetched jobs to waiting at their old place, no attempt
   * counted (a job whose cancel was requested ends as cancelled instead);
   * one that cannot be written is left to stall recovery.
   */
  async handBack(jobs: LeasedJob[]): Promise<void> {
    const host = this.host;
    await Promise.all(
      jobs.map(async (job) => {
        const k = host.consumers.find((c) => c.keys.queue === job.queue)!.keys;
        try {
          await release(host.client, k, host.maxEvents, job);
        } catch (err) {
          host.reportError(err, `handing back prefetched job ${job.id}`);
        }
      }),
    );
  }

  /**
   * Requeues (or fails, past maxStalls) jobs whose leases expired, and
   * applies the age rules of the worker's job types.
   */
  async recoverStalled(intervalMs: number): Promise<void> {
    const host = this.host;
    // While Redis is away there is nothing to check; the next tick retries.
    if (host.client.status !== 'ready') return;
    for (const c of host.consumers) {
      const k = c.keys;
      try {
        if (!(await c.writable())) continue;
        const r = await recoverStalled(
          host.client,
          k,
          host.maxEvents,
          host.maxStalls,
          intervalMs,
          host.ageRules.get(k.queue),
        );
        if (
          r !== undefined &&
          (r.requeued > 0 || r.failed > 0 || r.cancelled > 0)
        )
          host.stalled({ queue: k.queue, ...r });
      } catch (err) {
        host.reportError(err, 'checking for stalled jobs');
      }
    }
  }
}
