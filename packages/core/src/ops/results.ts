import {
  CancelledError,
  deserializeError,
  ErrorCode,
  JobwireError,
  type SerializedError,
} from '../errors.ts';
import {
  closeConnection,
  mapRedisError,
  openConnection,
  withRedis,
  type Connection,
  type ConnectionOptions,
} from '../redis/connection.ts';
import {
  parseEvent,
  StreamFollower,
  type QueueEvent,
} from '../redis/events.ts';
import { BUSY_RETRY_MS, isBusyReply } from '../redis/busy.ts';
import { JobField } from '../redis/job-fields.ts';
import type { QueueContext } from '../redis/queue-context.ts';

/** Events that end a job's wait. */
const OUTCOMES = new Set([
  'completed',
  'failed',
  'expired',
  'cancelled',
  'removed',
]);

/** Outcomes kept in memory for waits that start after the event arrived. */
const RECENT_OUTCOMES = 10_000;

/** Pause before a read that Redis being away failed is tried again. */
const RETRY_MS = 200;

/** Whether `err` (mapped) says only that Redis is away or busy for now. */
function unavailable(err: unknown): boolean {
  return (
    (err instanceof JobwireError && err.code === ErrorCode.REDIS_UNAVAILABLE) ||
    isBusyReply(err)
  );
}

interface Waiter {
  resolve: (result: unknown) => void;
  reject: (err: JobwireError) => void;
}

/**
 * Resolves `finished()` calls from Redis, not from in-memory callbacks: it
 * follows the queue's durable event log and checks the job hash, so a
 * process that starts after the job finished still gets its outcome.
 */
export class ResultWaiter {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private conn: Connection | undefined;
  private follower: StreamFollower | undefined;
  private starting: Promise<void> | undefined;
  /** When (performance.now) the follower's cursor was fixed. */
  private cursorAt = Infinity;
  /** Outcomes the follower saw lately, for waits that start after them. */
  private readonly recent = new Map<string, { e: QueueEvent; at: number }>();
  /** When the newest outcome dropped from `recent` was seen. */
  private evictedAt = -Infinity;
  private closed = false;

  constructor(
    private readonly ctx: QueueContext,
    private readonly queue: string,
    private readonly options: ConnectionOptions,
  ) {}

  /**
   * Waits for job `id` to finish; resolves with its stored result.
   * `enqueuedAt` (performance.now of a fresh enqueue in this process) lets
   * it skip the hash lookup: every event of a job enqueued after the
   * follower's cursor was fixed is either in `recent` or still to come.
   * Redis going away does not end the wait: reads it needs are retried
   * until Redis is back (or `timeoutMs` passes, or the queue closes).
   */
  wait(id: string, timeoutMs?: number, enqueuedAt?: number): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        resolve: (result) => {
          done();
          resolve(result);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      };
      const done = () => {
        if (timer) clearTimeout(timer);
        const set = this.waiters.get(id);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(id);
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            waiter.reject(
              new JobwireError(
                ErrorCode.TIMEOUT,
                `job ${id} did not finish within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      }
      let set = this.waiters.get(id);
      if (!set) this.waiters.set(id, (set = new Set()));
      set.add(waiter);
      const failed = (err: unknown) => {
        const mapped = mapRedisError(err);
        waiter.reject(
          mapped instanceof JobwireError
            ? mapped
            : new JobwireError(
                ErrorCode.CORRUPT_JOB,
                `could not read the outcome of job ${id}: ${String(err)}`,
                { cause: err },
              ),
        );
      };
      this.start()
        .then(() => {
          const followed =
            enqueuedAt !== undefined &&
            enqueuedAt > this.cursorAt &&
            enqueuedAt > this.evictedAt;
          if (followed) {
            // Only an outcome seen after this enqueue: a reused custom id may
            // have an older job's outcome here.
            const seen = this.recent.get(id);
            if (seen !== undefined && seen.at > enqueuedAt) {
              const e = seen.e;
              settle(waiter, e.event, e.result, e.error, id, e.reason);
            }
            return;
          }
          // Registered before this check, so an outcome is seen either in the
          // hash (already finished) or in the stream (finishes later).
          return this.retried(() => this.checkStored(id), id);
        }, failed)
        .catch(failed);
    });
  }

  /**
   * Runs `read` again while it fails only because Redis is away (a
   * restart, an outage) or busy (BUSY: a long script), as long as someone
   * still waits for job `id` (any job when `id` is undefined) and the
   * queue is open.
   */
  private async retried(read: () => Promise<void>, id?: string): Promise<void> {
    for (;;) {
      try {
        return await read();
      } catch (err) {
        const mapped = mapRedisError(err);
        const waited = id === undefined || this.waiters.has(id);
        if (this.closed || !waited || !unavailable(mapped)) throw mapped;
        await new Promise((r) =>
          setTimeout(r, isBusyReply(mapped) ? BUSY_RETRY_MS : RETRY_MS),
        );
      }
    }
  }

  private start(): Promise<void> {
    this.starting ??= (async () => {
      const conn = openConnection(this.options, 'blocking', this.ctx.logger);
      this.conn = conn;
      const follower = new StreamFollower(
        conn.client,
        this.ctx.keys(this.queue).events,
        '$',
        (events) => this.dispatch(events),
        this.ctx.logger,
        () => this.recheckAll(),
        undefined,
        () => this.lostTrack(),
      );
      // A restart while the cursor is being read must not fail this and
      // every later wait of the queue: read it again once Redis is back.
      try {
        await this.retried(() =>
          follower.resolveCursor(this.ctx.connectTimeoutMs),
        );
      } catch (err) {
        // Given up (nobody waits any more, or an error that is not Redis
        // being away): the next wait starts afresh, on a new connection.
        this.starting = undefined;
        if (!this.closed) {
          this.conn = undefined;
          conn.client.disconnect();
          await closeConnection(conn);
        }
        throw err;
      }
      this.cursorAt = performance.now();
      this.follower = follower;
      // Closed while the cursor was read: a read started now would fail on
      // the closed connection and report it.
      if (!this.closed) follower.start();
    })();
    return this.starting;
  }

  private dispatch(events: QueueEvent[]): void {
    let drained = false;
    for (const e of events) {
      if (e.event === 'drained') drained = true;
      if (OUTCOMES.has(e.event)) this.remember(e);
      const set = this.waiters.get(e.jobId);
      if (!set) continue;
      for (const w of [...set])
        settle(w, e.event, e.result, e.error, e.jobId, e.reason);
    }
    // A drain names no jobs: the waiters' hashes tell which are gone.
    if (drained) this.lostTrack();
  }

  /**
   * Outcomes may have passed unseen (the stream was trimmed past the
   * cursor, or a drain removed jobs without an event each): every waiter
   * re-checks its job hash, and a later wait for a job enqueued before now
   * checks it too instead of trusting `recent`.
   */
  private lostTrack(): void {
    this.evictedAt = performance.now();
    this.recheckAll();
  }

  private remember(e: QueueEvent): void {
    this.recent.delete(e.jobId);
    this.recent.set(e.jobId, { e, at: performance.now() });
    if (this.recent.size > RECENT_OUTCOMES) {
      const oldest = this.recent.keys().next().value as string;
      this.recent.delete(oldest);
      this.evictedAt = performance.now();
    }
  }

  private recheckAll(): void {
    for (const id of this.waiters.keys()) {
      this.checkStored(id).catch(() => {});
    }
  }

  private async checkStored(id: string): Promise<void> {
    const keys = this.ctx.keys(this.queue);
    // The command connection may still be connecting when the first
    // finished() arrives: wait for it like any other call.
    const [state, result, errors, reason] = await withRedis(
      this.ctx.client,
      this.ctx.connectTimeoutMs,
      () =>
        this.ctx.client.hmget(
          keys.job(id),
          JobField.state,
          JobField.result,
          JobField.errors,
          JobField.cancelReason,
        ),
    );
    const set = this.waiters.get(id);
    if (!set) return;
    if (state === null) {
      // Retention may have removed it already: look for its outcome in the log.
      const outcome = await this.findInLog(id);
      if (outcome === undefined) {
        for (const w of [...set]) {
          w.reject(
            new JobwireError(
              ErrorCode.JOB_NOT_FOUND,
              `job ${id} not found in queue ${this.queue}`,
            ),
          );
        }
        return;
      }
      for (const w of [...set]) {
        settle(
          w,
          outcome.event,
          outcome.result,
          outcome.error,
          id,
          outcome.reason,
        );
      }
      return;
    }
    const lastError = errors
      ? (JSON.parse(errors) as SerializedError[]).at(-1)
      : undefined;
    const event =
      state === 'c'
        ? 'completed'
        : state === 'f'
          ? 'failed'
          : state === 'x'
            ? 'expired'
            : state === 'k'
              ? 'cancelled'
              : undefined;
    if (event === undefined) return;
    for (const w of [...set]) {
      settle(
        w,
        event,
        result ? (JSON.parse(result) as unknown) : undefined,
        lastError,
        id,
        reason ?? undefined,
      );
    }
  }

  private async findInLog(id: string): Promise<QueueEvent | undefined> {
    const key = this.ctx.keys(this.queue).events;
    let end = '+';
    // An outcome looked up here is usually seconds old, near the log's end:
    // start with a small page and widen, rather than parse 1,000 events.
    for (let count = 32; ; count = Math.min(count * 4, 1000)) {
      const from = end;
      const page = (await withRedis(
        this.ctx.client,
        this.ctx.connectTimeoutMs,
        () => this.ctx.client.xrevrange(key, from, '-', 'COUNT', count),
      )) as [string, string[]][];
      for (const [offset, fields] of page) {
        const e = parseEvent(offset, fields);
        // The job's newest event tells: a later event than an outcome (the
        // enqueue of a job that reuses the id, a retry) means the job that
        // is gone now ended without one (a drain removed it).
        if (e.jobId === id) return OUTCOMES.has(e.event) ? e : undefined;
      }
      if (page.length < count) return undefined;
      end = `(${page[page.length - 1]![0]}`;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const set of this.waiters.values()) {
      for (const w of [...set]) {
        w.reject(
          new JobwireError(
            ErrorCode.CLOSED,
            'queue closed while waiting for a result',
          ),
        );
      }
    }
    // Stopped before the connection is cut: a read in flight then fails,
    // and must end quietly, not be reported (or retried) as a failed read.
    const stopped = this.follower?.stop();
    if (this.conn) {
      this.conn.client.disconnect();
      await closeConnection(this.conn);
    }
    await stopped;
  }
}

function settle(
  w: Waiter,
  event: string,
  result: unknown,
  error: SerializedError | undefined,
  id: string,
  reason?: string,
): void {
  switch (event) {
    case 'completed':
      w.resolve(result);
      return;
    case 'failed':
      w.reject(
        error
          ? deserializeError(error)
          : new JobwireError(ErrorCode.HANDLER_FAILED, `job ${id} failed`),
      );
      return;
    case 'expired':
      w.reject(
        new JobwireError(
          ErrorCode.EXPIRED,
          `job ${id} expired before it started`,
        ),
      );
      return;
    case 'cancelled':
      w.reject(new CancelledError(id, reason === '' ? undefined : reason));
      return;
    case 'removed':
      w.reject(
        new JobwireError(ErrorCode.JOB_NOT_FOUND, `job ${id} was removed`),
      );
      return;
    default:
      return;
  }
}
