import { mapRedisError, type Connection } from '../redis/connection.ts';
import { ErrorCode, JobwireError, LayoutUnsupportedError } from '../errors.ts';
import { LayoutGate } from '../redis/layout.ts';
import type { QueueKeys } from '../redis/keys.ts';
import {
  complete,
  markLostLeases,
  moveToActive,
  type LeaseReply,
  type LeaseRequest,
  type LeasedJob,
} from '../redis/transitions/lease.ts';
import { noteReaders, readerFields } from '../redis/transitions/readers.ts';
import { publishFlowRules } from '../redis/transitions/flow.ts';
import type { FlowRules } from '../contract/flow.ts';
import { MarkerWait } from './marker-wait.ts';
import { isBusyReply } from '../redis/busy.ts';
import { redisRetryDelayMs } from './retry-delay.ts';
import { readyUnlessAborted } from './startup.ts';
import { sleep } from './wakeup.ts';

/** Slots held while a fetch is in flight, so two queues cannot overcommit. */
export interface Reservation {
  quotas: [string, number][];
  total: number;
  /** How many of `total` fill free slots; the rest are prefetched. */
  immediate: number;
}

/** What a consumer needs from its worker. */
export interface ConsumerHost {
  readonly workerId: string;
  readonly leaseMs: number;
  readonly blockTimeoutMs: number;
  readonly maxEvents: number;
  /**
   * Whether this consumer is the worker's only one: only then may it hold
   * slots while it waits for jobs (the one-hop wait), since another
   * consumer would find them taken for as long as the wait lasts.
   */
  readonly soleConsumer: boolean;
  isStopping(): boolean;
  /** Aborted when close() begins: cuts the waits for a connection. */
  readonly stopSignal: AbortSignal;
  isPaused(): boolean;
  /**
   * Reserves every free slot: per type, how many jobs may be taken now.
   * `forWait`: for a one-hop wait, whose lease may run long after (see
   * SlotBook.reserve). `portion`: reserve only that share of the free
   * slots, rounded up. `share`: at most that share of the worker's
   * capacity.
   */
  reserve(
    types: readonly string[],
    forWait?: boolean,
    portion?: number,
    share?: number,
  ): Reservation;
  /** Gives back a reservation once its jobs have been dispatched. */
  unreserve(reservation: Reservation): void;
  /** Resolves when a slot frees up or the worker resumes or stops. */
  waitForCapacity(): Promise<void>;
  dispatch(job: LeasedJob): void;
  /** The job's handler settled: its slot may be refilled before the ack lands. */
  slotFreed(job: LeasedJob): void;
  reportError(err: unknown, context: string): void;
}

/** A completion waiting to be written with the next batch. */
interface PendingCompletion {
  job: LeasedJob;
  result: string;
  keep: readonly [number, number];
  resolve: (code: number) => void;
  reject: (err: unknown) => void;
}

/** Largest batch of completions per script call. */
const MAX_COMPLETIONS = 1000;

/** Waits shorter than this are timed in this process, not by BZPOPMIN. */
const SHORT_WAIT_MS = 50;

/** Completion batches written at once; more wait and join the next one. */
const MAX_BATCHES_IN_FLIGHT = 2;

/**
 * The fetch loop of one queue: lease jobs in batches, and when there are
 * none, block on the types' marker keys until a producer or a promotion
 * wakes us, or the next delayed job is due. No polling.
 */
export class QueueConsumer {
  private loop: Promise<void> | undefined;
  /** Whether the last fetch saw the queue paused (for health). */
  queuePaused = false;
  /**
   * Whether the last call for this queue found Redis unavailable (for
   * health): on a Cluster the client stays ready while the queue's slot
   * is unserved or the cluster is down, so only a call can tell.
   */
  unavailable = false;
  private completions: PendingCompletion[] = [];
  private flushScheduled = false;
  private completionsInFlight = 0;
  /** Leasing calls made: with the worker id, a lease token prefix unique per call. */
  private leaseCalls = 0;
  /** See idleMs(): performance.now() until which to wait for a marker. */
  private idleUntil: number | undefined;
  /** Whether idleUntil is a delayed job's due time (not blockTimeoutMs). */
  private idleUntilDue = false;
  /** While a one-hop wait is out, the types it will lease (waitThenFetch). */
  private waitingFor: ReadonlySet<string> | undefined;
  /** Lost-reply reports being written (trackLost). */
  private readonly lostReports = new Set<Promise<void>>();
  /** Prefetched jobs started since the last completion batch: reported with it. */
  private started: LeasedJob[] = [];
  private readonly markerWait: MarkerWait;
  /** The `readers` fields of this queue's types known at version 2 or more. */
  private readonly readerFields: string[];
  /** Refuses the queue if a newer jobwire's layout is stored (redis/layout.ts). */
  private readonly layout: LayoutGate;
  /** Set when the layout check refused the queue: it is never leased from. */
  refused: LayoutUnsupportedError | undefined;

  constructor(
    private readonly host: ConsumerHost,
    private readonly command: Connection,
    readonly blocking: Connection,
    readonly keys: QueueKeys,
    readonly types: readonly string[],
    /**
     * Per type, the newest contract version this worker knows (its job
     * definition's `version`; 1 when absent): the type's lanes above it are
     * never read.
     */
    readonly known: ReadonlyMap<string, number> = new Map(),
    /**
     * Per type with a rate limit or a group key, its flow rules: each
     * leasing call passes them, and the scripts enforce them across every
     * worker (includes/flowlease.lua).
     */
    readonly flow: ReadonlyMap<string, FlowRules> = new Map(),
  ) {
    this.readerFields = readerFields(known);
    this.layout = new LayoutGate(command.client, 5000, false);
    this.markerWait = new MarkerWait(
      {
        isStopping: () => host.isStopping(),
        isPaused: () => host.isPaused(),
        reportError: (err, context) => this.noteFailure(err, context),
        replied: () => (this.unavailable = false),
        rearm: (marker) => {
          // A lost write leaves the wait to its own timeout, as before.
          command.client.zadd(marker, 0, '0').catch(() => {});
        },
      },
      blocking,
      keys.queue,
    );
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stopped(): Promise<void> {
    await this.loop;
    await Promise.all(this.lostReports);
  }

  /**
   * Keeps a lost-reply report until it is written, so close() waits for
   * the one a cut wait may leave (before the command connection closes).
   */
  private trackLost(report: Promise<void>): void {
    this.lostReports.add(report);
    void report.finally(() => this.lostReports.delete(report));
  }

  private async run(): Promise<void> {
    const host = this.host;
    let failures = 0;
    let busyReported = false;
    while (!host.isStopping()) {
      if (host.isPaused()) {
        // The first lease after a resume is a plain fetch: what the last
        // one found is old news.
        this.idleUntil = undefined;
        await host.waitForCapacity();
        continue;
      }
      const idleMs = this.idleMs();
      const oneHop = idleMs !== undefined && host.soleConsumer;
      // A completion batch queued or in flight takes the next jobs itself.
      // The one-hop wait waits only for those that lease: it would lease
      // beside them on another connection, and replies could then be
      // handled out of lease order. Batches written while it waits lease
      // only the types it does not cover.
      if (oneHop ? this.leasingInFlight > 0 : this.completing) {
        await host.waitForCapacity();
        continue;
      }
      // A wait that short is a rate window about to free a slot (or a
      // delayed job about to be due): Redis checks blocking timeouts only
      // on its own event-loop ticks, so BZPOPMIN could return tens of ms
      // late, and a paced rate limit would fall behind by that much on
      // every slot. A timer is exact.
      if (idleMs !== undefined && idleMs < SHORT_WAIT_MS) {
        this.idleUntil = undefined;
        await sleep(idleMs);
        continue;
      }
      const reservation = host.reserve(this.types, oneHop);
      if (reservation.total === 0) {
        await host.waitForCapacity();
        continue;
      }
      if (idleMs !== undefined && !oneHop) {
        // Another consumer may need these slots while this one waits:
        // wait with none held, then lease (two hops).
        host.unreserve(reservation);
        await this.markerWait.block(
          this.markersOf(reservation),
          idleMs,
          this.idleUntilDue,
        );
        // Lease next. A completion batch's leasing reply that came while
        // the wait was out (it found nothing, before a producer's marker)
        // set idleUntil again: waiting once more would wait on the marker
        // this wait just popped, which no lease has re-armed, until
        // blockTimeoutMs ran out.
        this.idleUntil = undefined;
        continue;
      }
      // Set before anything is awaited: no completion batch may lease
      // these types from here on.
      if (oneHop) this.waitingFor = new Set(reservation.quotas.map(([t]) => t));
      try {
        // Cut by close(): its timer would hold the process for its 5 s.
        if (
          !(await readyUnlessAborted(
            this.command.client,
            5000,
            host.stopSignal,
          ))
        )
          throw new JobwireError(ErrorCode.CLOSED, 'worker is closing');
        await this.layout.ensure(this.keys);
        if (idleMs === undefined) await this.fetch(reservation);
        // Not sent (the blocking connection is not ready): a plain fetch
        // next, on the command connection.
        else if (!(await this.waitThenFetch(reservation, idleMs)))
          this.idleUntil = undefined;
        failures = 0;
        busyReported = false;
      } catch (err) {
        this.waitingFor = undefined;
        host.unreserve(reservation);
        this.idleUntil = undefined;
        if (host.isStopping()) break;
        if (err instanceof LayoutUnsupportedError) {
          this.refuse(err);
          break;
        }
        // A run of BUSY replies (one script running in Redis) is one
        // incident: reported once, not at every retry.
        const busy = isBusyReply(err);
        if (!busy || !busyReported)
          this.noteFailure(err, `fetching jobs from ${this.keys.queue}`);
        busyReported = busy;
        // BUSY is retried at its own pace and does not climb the ladder: the
        // first real failure after it waits 100 ms, as any first does.
        await sleep(redisRetryDelayMs(err, failures, 100, 2000));
        if (!busy) failures++;
        continue;
      }
      // The leasing reply's callback dispatched its jobs before the
      // reservation is given back, so slots never look free.
      host.unreserve(reservation);
    }
  }

  /**
   * How long to wait for a marker before leasing again, when the last
   * leasing reply found fewer jobs than it asked for (nothing else waits:
   * a job enqueued since has set its marker); undefined when jobs may be
   * waiting, so the next lease goes at once.
   */
  private idleMs(): number | undefined {
    if (this.idleUntil === undefined) return undefined;
    return Math.max(0, this.idleUntil - performance.now());
  }

  /** The markers to wait on for a reservation's types. */
  private markersOf(reservation: Reservation): string[] {
    return reservation.quotas.flatMap(([t]) => this.lanesMarkers(t));
  }

  /**
   * Leases jobs and dispatches them. Dispatching right in the reply's
   * callback, as a completion batch does, keeps jobs in lease order when
   * both fetch paths have replies in one read from the socket.
   */
  private fetch(reservation: Reservation): Promise<void> {
    const request = this.leaseRequest(reservation);
    return moveToActive(
      this.command.client,
      this.keys,
      this.host.maxEvents,
      request,
    ).then(
      (reply) => this.take(reply, reservation.total),
      (err: unknown) => {
        if (reservation.total > 0)
          void this.reportLost(request.tokenPrefix, err);
        throw err;
      },
    );
  }

  /**
   * The one-hop wait (false when nothing was sent): blocks on the markers with the lease queued right
   * behind the BZPOPMIN on the blocking connection, so Redis leases as soon
   * as a producer's marker (or the timeout, when a delayed job is due)
   * ends the wait: a job enqueued for an idle worker reaches its handler
   * one round trip after the enqueue script, not two. A wait that times
   * out costs one lease that finds nothing.
   *
   * The reservation is held for the whole wait. Completion batches
   * meanwhile lease only the types this wait does not cover, so no type
   * has two leasing calls on two connections in flight at once (its jobs
   * start in lease order).
   */
  private async waitThenFetch(
    reservation: Reservation,
    waitMs: number,
  ): Promise<boolean> {
    const request = this.leaseRequest(reservation);
    let sent = false;
    try {
      await this.markerWait.blockThen(
        this.markersOf(reservation),
        waitMs,
        (client) => {
          sent = true;
          return moveToActive(
            client,
            this.keys,
            this.host.maxEvents,
            request,
          ).then(
            (reply) => {
              this.waitingFor = undefined;
              this.take(reply, reservation.total);
            },
            (err: unknown) => {
              // Cut while blocked (close, pause, a dead socket): Redis may
              // have run the lease just before it noticed. What comes next
              // is a plain fetch.
              this.idleUntil = undefined;
              this.trackLost(this.reportLost(request.tokenPrefix, err));
              throw err;
            },
          );
        },
        this.idleUntilDue,
      );
    } finally {
      this.waitingFor = undefined;
    }
    return sent;
  }

  /**
   * Handles a leasing reply: dispatches its jobs and notes whether the
   * queue was found drained for this worker (fewer jobs than asked).
   */
  private take(reply: LeaseReply, asked: number): void {
    this.queuePaused = reply.paused;
    this.unavailable = false;
    for (const job of reply.jobs) this.host.dispatch(job);
    if (reply.jobs.length >= asked) {
      this.idleUntil = undefined;
      return;
    }
    const untilDue =
      reply.nextDueMs < 0
        ? Infinity
        : Math.max(0, reply.nextDueMs - reply.nowMs);
    this.idleUntilDue = untilDue <= this.host.blockTimeoutMs;
    this.idleUntil =
      performance.now() + Math.min(this.host.blockTimeoutMs, untilDue);
  }

  /**
   * The markers of every lane of `type` this worker reads: versions 1 to
   * the newest it knows. A lane never pushed to has no marker key yet;
   * blocking on it costs nothing.
   */
  private lanesMarkers(type: string): string[] {
    const out = [this.keys.marker(type)];
    const known = this.known.get(type) ?? 1;
    for (let v = 2; v <= known; v++) out.push(this.keys.marker(type, v));
    return out;
  }

  /**
   * Records in Redis that this worker reads its types' versions, whether or
   * not it leases now: a worker busy with long jobs, or paused (itself or
   * its queue), makes no leasing call, and without the note the stats would
   * report its lanes as waiting for a newer worker. A note that fails is
   * left to the next one; the fetch loop reports Redis problems.
   */
  async noteReaders(): Promise<void> {
    const client = this.command.client;
    if (this.readerFields.length === 0 || client.status !== 'ready') return;
    try {
      if (!(await this.writable())) return;
      await noteReaders(client, this.keys, this.readerFields);
    } catch {
      // The next note, one interval later, tries again.
    }
  }

  /**
   * Records this worker's flow rules in the queue's `flow` hash, for the
   * stats; a failure is reported, and leasing goes on (the scripts take
   * the rules from each call).
   */
  async publishFlow(): Promise<void> {
    if (this.flow.size === 0) return;
    try {
      await publishFlowRules(this.command.client, this.keys, this.flow);
    } catch (err) {
      this.noteFailure(err, `recording the flow rules of ${this.keys.queue}`);
    }
  }

  /** A lease token prefix unique per leasing call. */
  private leasePrefix(): string {
    return `${this.host.workerId}:${(this.leaseCalls++).toString(36)}`;
  }

  /** What to lease for a reservation, under a new token prefix. */
  private leaseRequest(reservation: Reservation): LeaseRequest {
    const { quotas, total, immediate } = reservation;
    return {
      leaseMs: this.host.leaseMs,
      tokenPrefix: this.leasePrefix(),
      total,
      immediate,
      quotas,
      known: this.known,
      flow: this.flow,
    };
  }

  /**
   * A leasing call failed without a reply (a timeout, a dropped
   * connection): it may still have run and leased jobs that this worker
   * will never start. Recorded in Redis, so the stall check re-queues them
   * without counting a stall; retried while Redis is unreachable, for as
   * long as the leases could last. Not for a BUSY reply (`cause`): Redis
   * refused the call unrun, and a long script would otherwise start one
   * such report per retry of the lease loop.
   */
  private async reportLost(prefix: string, cause: unknown): Promise<void> {
    if (isBusyReply(cause)) return;
    const leaseMs = this.host.leaseMs;
    const giveUpAt = Date.now() + Math.max(2 * leaseMs, 10_000);
    for (let i = 0; ; i++) {
      try {
        await markLostLeases(
          this.command.client,
          this.keys,
          prefix,
          2 * leaseMs + 600_000,
        );
        return;
      } catch (err) {
        // Closing: one try, so close() does not wait out an outage; the
        // stall check re-queues the jobs when their leases lapse.
        if (
          Date.now() > giveUpAt ||
          this.command.client.status === 'end' ||
          this.host.isStopping()
        ) {
          this.host.reportError(
            mapRedisError(err),
            `recording the lost reply of lease call ${prefix}`,
          );
          return;
        }
        await sleep(Math.min(50 * 2 ** i, 1000));
      }
    }
  }

  /**
   * A prefetched job's handler started: its unstarted mark is cleared by
   * the next completion batch, or else by the next lease renewal.
   */
  noteStarted(job: LeasedJob): void {
    if (!job.unstarted) return;
    this.started.push(job);
    // Without completions (every job fails) no batch takes them: keep the
    // newest; older ones were renewed (reported) or have ended.
    if (this.started.length > 1000) this.started.splice(0, 500);
  }

  /**
   * Writes a completion. Completions of the same turn of the event loop
   * share one script call, which also leases jobs for the free slots:
   * one round trip per batch instead of two per job. Two batches may be in
   * flight, so Redis runs one while this process handles the other's jobs.
   * Resolves with the script's code.
   */
  complete(
    job: LeasedJob,
    result: string,
    keep: readonly [number, number],
  ): Promise<number> {
    // Its completion ends the unstarted mark too: a separate start report
    // (in an earlier batch, when a batch is split) would cost an HDEL. A
    // job whose handler has finished is no poison pill to charge a stall.
    job.unstarted = false;
    return new Promise((resolve, reject) => {
      this.completions.push({ job, result, keep, resolve, reject });
      this.host.slotFreed(job);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushCompletions());
      }
    });
  }

  /** Completion batches in flight that lease (see run()). */
  private leasingInFlight = 0;

  /** Whether completions are queued or being written (they fetch too). */
  private get completing(): boolean {
    return this.flushScheduled || this.completionsInFlight > 0;
  }

  private flushCompletions(): void {
    if (this.completionsInFlight >= MAX_BATCHES_IN_FLIGHT) return;
    this.flushScheduled = false;
    const all = this.completions.splice(0, MAX_COMPLETIONS);
    if (all.length === 0) return;
    // Alone in flight, a batch is split in two to start the pipeline.
    const parts =
      this.completionsInFlight === 0 && all.length > 1
        ? [all.slice(0, all.length >> 1), all.slice(all.length >> 1)]
        : [all];
    // The first half leases half the free slots, the second the rest: each
    // reply then brings jobs to run while Redis writes the other batch, so
    // the two processes overlap instead of taking turns.
    parts.forEach((part, i) => {
      void this.writeCompletions(part, i === 0 && parts.length > 1 ? 0.5 : 1);
    });
    if (this.completions.length > 0) this.flushScheduled = true;
  }

  private async writeCompletions(
    batch: PendingCompletion[],
    portion: number,
  ): Promise<void> {
    this.completionsInFlight++;
    const host = this.host;
    // A busy pipeline never reaches the fetch loop's check: check here too.
    this.recheckLayout();
    const taking =
      !host.isStopping() && !host.isPaused() && this.refused === undefined;
    // Every free slot, not just the ones this batch frees: otherwise a
    // pipeline that started small (before prefetching switched on) would
    // stay small, since the fetch loop waits while completions are written.
    // Not the types a one-hop wait is about to lease (see waitThenFetch).
    const waiting = this.waitingFor;
    const reservation = taking
      ? host.reserve(
          waiting ? this.types.filter((t) => !waiting.has(t)) : this.types,
          false,
          portion,
          // Another batch in flight: an equal share each (SlotBook.reserve).
          this.completionsInFlight > 1 ? 1 / MAX_BATCHES_IN_FLIGHT : 1,
        )
      : { quotas: [], total: 0, immediate: 0 };
    // Reports sent with this batch; a job renewed meanwhile is reported twice
    // at worst, which is harmless.
    // Not the jobs whose completions are queued (complete()): theirs ends
    // the mark, in this batch or the next.
    const started = this.started.splice(0).filter((j) => j.unstarted);
    for (const job of started) job.unstarted = false;
    const request = this.leaseRequest(reservation);
    const leasing = reservation.total > 0;
    if (leasing) this.leasingInFlight++;
    try {
      const reply = await complete(
        this.command.client,
        this.keys,
        host.maxEvents,
        batch.map((c) => ({
          id: c.job.id,
          token: c.job.token,
          result: c.result,
          keep: c.keep,
        })),
        request,
        started.map((j) => j.id),
      );
      if (reply.leased !== undefined)
        this.take(reply.leased, reservation.total);
      batch.forEach((c, i) => c.resolve(reply.codes[i]!));
    } catch (err) {
      if (reservation.total > 0) void this.reportLost(request.tokenPrefix, err);
      for (const c of batch) c.reject(err);
    } finally {
      this.completionsInFlight--;
      if (leasing) this.leasingInFlight--;
      // Gives back the slots and wakes the fetch loop, which waits while
      // completions are being written.
      host.unreserve(reservation);
      // Completions that queued up while two batches were in flight.
      if (this.flushScheduled) this.flushCompletions();
    }
  }

  /** Reports a failed call, and marks the queue unavailable if Redis was. */
  private noteFailure(err: unknown, context: string): void {
    const mapped = mapRedisError(err);
    if (
      mapped instanceof JobwireError &&
      mapped.code === ErrorCode.REDIS_UNAVAILABLE
    )
      this.unavailable = true;
    this.host.reportError(mapped, context);
  }

  /**
   * A newer jobwire's data: this queue is never leased from again (its
   * jobs already running finish). Health reports the queue unreachable.
   */
  private refuse(err: LayoutUnsupportedError): void {
    if (this.refused !== undefined) return;
    this.refused = err;
    this.unavailable = true;
    this.host.reportError(err, `checking the layout of ${this.keys.queue}`);
  }

  /**
   * Whether this worker may write to the queue: its layout check passed
   * (redis/layout.ts). The stall check and the repeat repair ask first.
   */
  async writable(): Promise<boolean> {
    if (this.refused !== undefined) return false;
    try {
      await this.layout.ensure(this.keys);
      return true;
    } catch (err) {
      if (!(err instanceof LayoutUnsupportedError)) throw err;
      this.refuse(err);
      return false;
    }
  }

  /** Re-checks the layout when due (redis/layout.ts), without waiting for it. */
  private recheckLayout(): void {
    this.layout.ensure(this.keys).catch((err: unknown) => {
      if (err instanceof LayoutUnsupportedError) this.refuse(err);
    });
  }

  /** Ends a blocked wait at once (used by close and pause). */
  interrupt(): void {
    this.markerWait.interrupt();
  }
}
