import type { JobwireError } from '../errors.ts';
import { retryWhileBusy } from '../redis/busy.ts';
import { checkEvictionPolicy, withRedis } from '../redis/connection.ts';
import { LayoutGate } from '../redis/layout.ts';
import {
  withRedisPastBusy,
  type QueueContext,
} from '../redis/queue-context.ts';
import { enqueue, enqueueDurably } from '../redis/transitions/enqueue.ts';
import { checkDurability, strongest } from './durability.ts';
import type { PreparedJob } from './prepared-job.ts';
import type { EnqueueStatus } from './queue-types.ts';

/**
 * Most jobs one automatic batch of `enqueue` calls stores per script call:
 * large enough to share the round trip, small enough that one script never
 * holds Redis for long.
 */
const AUTO_BATCH_MAX = 100;

/** A stored job, as the store reports it to the queue. */
export interface StoredJob {
  queue: string;
  name: string;
  id: string;
  /** When the call that created it was sent; undefined unless created. */
  sentAt: number | undefined;
  /** What the enqueue did: stored it, found its id taken, or dropped it. */
  outcome: EnqueueStatus;
  /** The pending job of its debounce key that it replaced, if any. */
  replaced?: string | undefined;
}

/** An `enqueue` call waiting for its batch to be stored. */
interface PendingStore {
  job: PreparedJob;
  resolve: (stored: StoredJob) => void;
  reject: (err: unknown) => void;
}

/**
 * Writes prepared jobs through the enqueue transition: a chunk at once, or
 * batched with the other jobs enqueued in the same turn of the event loop.
 */
export class JobStore {
  /** Jobs of `enqueue` calls made this turn, per queue, stored together. */
  private readonly batches = new Map<string, PendingStore[]>();
  private readonly storing = new Set<Promise<void>>();

  private configChecked: Promise<void> | undefined;
  /** Set once the check passed: the writes after it skip the await. */
  private configOk = false;
  /** Refuses a queue stored in a layout newer than this build's (redis/layout.ts). */
  readonly layout: LayoutGate;

  constructor(
    private readonly ctx: QueueContext,
    /** Throw, rather than warn, when Redis may evict keys. */
    private readonly strictRedisConfig: boolean,
  ) {
    this.layout = new LayoutGate(ctx.client, ctx.connectTimeoutMs, true);
  }

  /** Checks the eviction policy before the first write (again after a failed check). */
  checkConfigOnce(): Promise<void> {
    this.configChecked ??= withRedisPastBusy(this.ctx, () =>
      checkEvictionPolicy(
        this.ctx.client,
        this.strictRedisConfig,
        this.ctx.logger,
      ),
    ).then(
      () => {
        this.configOk = true;
      },
      (err: unknown) => {
        this.configChecked = undefined;
        throw err;
      },
    );
    return this.configChecked;
  }

  /**
   * Stores one job with the others enqueued in the same turn of the event
   * loop: one script call per batch, so many concurrent enqueues cost one
   * round trip. Each job still gets its own outcome.
   */
  storeBatched(job: PreparedJob): Promise<StoredJob> {
    return new Promise((resolve, reject) => {
      const pending = { job, resolve, reject };
      let batch = this.batches.get(job.queue);
      // Nothing in flight: send at once, as a lone await would want; the
      // calls that follow meanwhile gather into the next batch.
      if (this.storing.size === 0) {
        if (batch === undefined) this.send(job.queue, [pending]);
        else {
          batch.push(pending);
          this.flushBatch(job.queue);
        }
        return;
      }
      if (batch === undefined) {
        batch = [];
        this.batches.set(job.queue, batch);
        setImmediate(() => this.flushBatch(job.queue));
      }
      batch.push(pending);
      if (batch.length >= AUTO_BATCH_MAX) this.flushBatch(job.queue);
    });
  }

  private flushBatch(queue: string): void {
    const batch = this.batches.get(queue);
    if (batch === undefined) return;
    this.batches.delete(queue);
    this.send(queue, batch);
  }

  /** Stores one batch and settles each of its calls. */
  private send(queue: string, batch: PendingStore[]): void {
    const jobs = batch.map((b) => b.job);
    // The handlers leave `storing` themselves: a `finally` would cost two
    // more promises per batch. They run after `stored` is assigned.
    const stored: Promise<void> = this.storeOutcomes(queue, jobs).then(
      (outcomes) => {
        this.storing.delete(stored);
        for (let i = 0; i < batch.length; i++) {
          const o = outcomes[i]!;
          if (o instanceof Error) batch[i]!.reject(o);
          else batch[i]!.resolve(o);
        }
      },
      (err: unknown) => {
        this.storing.delete(stored);
        for (const b of batch) b.reject(err);
      },
    );
    this.storing.add(stored);
  }

  /** Writes every batch still gathering, and waits for all writes. */
  async flush(): Promise<void> {
    for (const queue of [...this.batches.keys()]) this.flushBatch(queue);
    await Promise.all(this.storing);
  }

  /** Runs the enqueue script for jobs of one queue. */
  async store(
    queue: string,
    jobs: readonly PreparedJob[],
  ): Promise<StoredJob[]> {
    const outcomes = await this.storeOutcomes(queue, jobs);
    return outcomes.map((o) => {
      if (o instanceof Error) throw o;
      return o;
    });
  }

  /** The enqueue script's outcome per job: the stored job, or why it was refused. */
  async storeOutcomes(
    queue: string,
    jobs: readonly PreparedJob[],
  ): Promise<(StoredJob | JobwireError)[]> {
    // Checked once (the layout again a minute later): after that, no wait.
    if (!this.configOk) await this.checkConfigOnce();
    const { client, maxEvents } = this.ctx;
    const k = this.ctx.keys(queue);
    // BUSY (a long script in Redis) ran nothing: these calls wait it out,
    // up to the command timeout, as they would wait for a slow reply.
    const busyWaitMs = this.ctx.commandTimeoutMs;
    if (!this.layout.fresh(k))
      await retryWhileBusy(busyWaitMs, () => this.layout.ensure(k));
    const inputs = jobs.map((j) => j.input);
    const durability = strongest(jobs);
    const sentAt = performance.now();
    const outcomes = await withRedis(
      client,
      this.ctx.connectTimeoutMs,
      durability === undefined
        ? () =>
            retryWhileBusy(busyWaitMs, () =>
              enqueue(client, k, maxEvents, inputs),
            )
        : () =>
            retryWhileBusy(busyWaitMs, async () => {
              const r = await enqueueDurably(
                client,
                k,
                maxEvents,
                inputs,
                durability,
              );
              checkDurability(
                r.waited,
                r.outcomes.map((o) => o.id),
                durability,
              );
              return r.outcomes;
            }),
      k.id,
    );
    const out: (StoredJob | JobwireError)[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const o = outcomes[i]!;
      if (o.refused !== undefined) {
        out.push(o.refused);
        continue;
      }
      const outcome: EnqueueStatus = o.created
        ? 'created'
        : o.throttled === true
          ? 'throttled'
          : 'duplicate';
      const stored: StoredJob = {
        queue,
        name: jobs[i]!.name,
        id: o.id,
        sentAt: o.created ? sentAt : undefined,
        outcome,
      };
      if (o.replaced !== undefined) stored.replaced = o.replaced;
      out.push(stored);
    }
    return out;
  }
}
