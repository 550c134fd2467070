import { ensureReady, mapRedisError, type Connection } from './connection.ts';
import type { QueueKeys } from './keys.ts';
import { runScript } from './scripts/index.ts';
import { sleep } from './internal/signal.ts';

/** One job as leased by moveToActive. */
export interface LeasedJob {
  id: string;
  name: string;
  queue: string;
  data: string;
  options: string;
  attemptsMade: number;
  token: string;
  stalls: number;
  createdAt: number;
  version: number;
  fingerprint: string;
}

/** Slots held while a fetch is in flight, so two queues cannot overcommit. */
export interface Reservation {
  quotas: [string, number][];
  total: number;
}

/** What a consumer needs from its worker. */
export interface ConsumerHost {
  readonly workerId: string;
  readonly leaseMs: number;
  readonly blockTimeoutMs: number;
  readonly maxEvents: number;
  isStopping(): boolean;
  isPaused(): boolean;
  /** Reserves free slots: per type, how many jobs may be taken now. */
  reserve(types: readonly string[]): Reservation;
  /** Gives back a reservation once its jobs have been dispatched. */
  unreserve(reservation: Reservation): void;
  /** Resolves when a slot frees up or the worker resumes or stops. */
  waitForCapacity(): Promise<void>;
  dispatch(job: LeasedJob): void;
  reportError(err: unknown, context: string): void;
}

/**
 * The fetch loop of one queue: lease jobs in batches, and when there are
 * none, block on the types' marker keys until a producer or a promotion
 * wakes us, or the next delayed job is due. No polling.
 */
export class QueueConsumer {
  private loop: Promise<void> | undefined;
  /** Whether the last fetch saw the queue paused (for health). */
  queuePaused = false;
  private interrupted = false;

  constructor(
    private readonly host: ConsumerHost,
    private readonly command: Connection,
    readonly blocking: Connection,
    readonly keys: QueueKeys,
    readonly types: readonly string[],
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stopped(): Promise<void> {
    await this.loop;
  }

  private async run(): Promise<void> {
    const host = this.host;
    let failures = 0;
    while (!host.isStopping()) {
      if (host.isPaused()) {
        await host.waitForCapacity();
        continue;
      }
      const reservation = host.reserve(this.types);
      const { quotas, total } = reservation;
      if (total === 0) {
        await host.waitForCapacity();
        continue;
      }
      let jobs: LeasedJob[] = [];
      let wait: number;
      try {
        await ensureReady(this.command.client, 5000);
        const r = await this.fetch(quotas, total);
        jobs = r.jobs;
        wait = r.waitMs;
        failures = 0;
      } catch (err) {
        host.unreserve(reservation);
        if (host.isStopping()) break;
        host.reportError(
          mapRedisError(err),
          `fetching jobs from ${this.keys.queue}`,
        );
        await sleep(Math.min(100 * 2 ** failures++, 2000));
        continue;
      }
      // Dispatch before giving back the reservation, so slots never look free.
      for (const job of jobs) host.dispatch(job);
      host.unreserve(reservation);
      if (jobs.length > 0 || host.isStopping()) continue;
      await this.block(
        quotas.map(([t]) => t),
        wait,
      );
    }
  }

  private async fetch(
    quotas: [string, number][],
    total: number,
  ): Promise<{ jobs: LeasedJob[]; waitMs: number }> {
    const k = this.keys;
    const reply = (await runScript(
      this.command.client,
      'moveToActive',
      [k.id, k.delayed, k.active, k.counts, k.events, k.meta, k.expired],
      [
        k.base,
        this.host.maxEvents,
        this.host.leaseMs,
        this.host.workerId,
        total,
        quotas.length,
        ...quotas.flat(),
      ],
    )) as (string | number)[];
    this.queuePaused = Number(reply[0]) === 1;
    const nextDue = Number(reply[1]);
    const now = Number(reply[2]);
    const count = Number(reply[3]);
    const jobs: LeasedJob[] = [];
    for (let i = 0; i < count; i++) {
      const f = reply.slice(4 + i * 11, 15 + i * 11).map(String);
      jobs.push({
        id: f[0]!,
        name: f[1]!,
        queue: k.queue,
        data: f[2]!,
        options: f[3]!,
        attemptsMade: Number(f[4]),
        token: f[5]!,
        stalls: Number(f[6]),
        createdAt: Number(f[7]),
        version: Number(f[8]),
        fingerprint: f[10]!,
      });
    }
    const untilDue = nextDue < 0 ? Infinity : Math.max(0, nextDue - now);
    return { jobs, waitMs: Math.min(this.host.blockTimeoutMs, untilDue) };
  }

  /**
   * Blocks on the marker zsets of the given types. A client-side guard
   * reconnects the blocking connection if the reply never comes (a silent
   * network partition), so the loop can never hang forever.
   */
  private async block(types: string[], waitMs: number): Promise<void> {
    if (waitMs <= 0) return;
    this.interrupted = false;
    const client = this.blocking.client;
    try {
      await ensureReady(client, 5000);
    } catch {
      return;
    }
    const seconds = Math.max(0.01, waitMs / 1000).toFixed(3);
    let guard: NodeJS.Timeout | undefined;
    const guardMs = waitMs + 3000;
    try {
      await Promise.race([
        client.bzpopmin(...types.map((t) => this.keys.marker(t)), seconds),
        new Promise<void>((resolve) => {
          guard = setTimeout(() => {
            client.disconnect(true);
            resolve();
          }, guardMs);
        }),
      ]);
    } catch (err) {
      // interrupt() cuts the blocking read on purpose: not a Redis problem.
      const interrupted = this.interrupted;
      this.interrupted = false;
      if (!this.host.isStopping() && !interrupted) {
        this.host.reportError(
          mapRedisError(err),
          `waiting for jobs on ${this.keys.queue}`,
        );
        await sleep(100);
      }
    } finally {
      if (guard) clearTimeout(guard);
    }
  }

  /** Ends a blocked wait at once (used by close and pause). */
  interrupt(): void {
    this.interrupted = true;
    this.blocking.client.disconnect(!this.host.isStopping());
  }
}
