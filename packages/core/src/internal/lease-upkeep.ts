import type { RedisClient } from '../scripts/index.ts';
import type { LeasedJob, QueueConsumer } from '../consumer.ts';
import type { RunningJob } from '../execute.ts';
import { runScript } from '../scripts/index.ts';
import type { SlotBook } from './slots.ts';

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
  reportError(err: unknown, context: string): void;
  stalled(info: { queue: string; requeued: number; failed: number }): void;
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

  /** Renews every lease this worker holds; a lease found gone aborts its job. */
  async renew(): Promise<void> {
    const host = this.host;
    if (host.client.status !== 'ready') return;
    for (const c of host.consumers) {
      const queue = c.keys.queue;
      const args: (string | number)[] = [c.keys.base, host.leaseMs];
      // Running prefetched jobs whose start no completion batch reported yet.
      const reported: LeasedJob[] = [];
      for (const j of host.jobs.values()) {
        if (j.leased.queue !== queue || !j.renewing) continue;
        args.push(j.leased.id, j.leased.token, j.leased.unstarted ? 1 : 0);
        if (j.leased.unstarted) reported.push(j.leased);
      }
      // Prefetched jobs hold leases too.
      for (const j of host.slots.buffer)
        if (j.queue === queue) args.push(j.id, j.token, 0);
      if (args.length === 2) continue;
      for (const j of reported) j.unstarted = false;
      try {
        const lost = (await runScript(
          host.client,
          'extendLeases',
          [c.keys.active],
          args,
        )) as string[];
        const gone = new Set(lost);
        host.slots.unpark((j) => j.queue === queue && gone.has(j.token));
        for (const token of lost)
          host.jobs.get(runningKey(queue, token))?.leaseLost('renew');
      } catch (err) {
        host.reportError(err, 'renewing leases');
      }
    }
  }

  /**
   * Returns prefetched jobs to waiting at their old place, no attempt
   * counted; one that cannot be written is left to stall recovery.
   */
  async handBack(jobs: LeasedJob[]): Promise<void> {
    const host = this.host;
    await Promise.all(
      jobs.map(async (job) => {
        const k = host.consumers.find((c) => c.keys.queue === job.queue)!.keys;
        try {
          await runScript(
            host.client,
            'release',
            [k.active, k.counts, k.events],
            [k.base, host.maxEvents, job.id, job.token],
          );
        } catch (err) {
          host.reportError(err, `handing back prefetched job ${job.id}`);
        }
      }),
    );
  }

  /** Requeues (or fails, past maxStalls) jobs whose leases expired. */
  async recoverStalled(intervalMs: number): Promise<void> {
    const host = this.host;
    // While Redis is away there is nothing to check; the next tick retries.
    if (host.client.status !== 'ready') return;
    for (const c of host.consumers) {
      const k = c.keys;
      try {
        const r = (await runScript(
          host.client,
          'recoverStalled',
          [
            k.active,
            k.failed,
            k.counts,
            k.events,
            k.stallLock,
            k.id,
            k.lostLeases,
          ],
          [k.base, host.maxEvents, host.maxStalls, intervalMs],
        )) as number[];
        if (r.length === 2 && (r[0]! > 0 || r[1]! > 0))
          host.stalled({ queue: k.queue, requeued: r[0]!, failed: r[1]! });
      } catch (err) {
        host.reportError(err, 'checking for stalled jobs');
      }
    }
  }
}
