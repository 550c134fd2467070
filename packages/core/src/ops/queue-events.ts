import {
  closeConnection,
  openConnection,
  type Connection,
  type ConnectionOptions,
} from '../redis/connection.ts';
import {
  StreamFollower,
  type QueueEvent,
  type QueueEventName,
  type StreamGap,
} from '../redis/events.ts';
import { makeKeyCache, resolveCommon } from '../redis/queue-context.ts';
import {
  describeThrown,
  ErrorCode,
  isInstance,
  JobwireError,
  ValidationError,
} from '../errors.ts';
import { trackForTests } from '../testing/track-open.ts';
import type { JobMap, JobRegistry } from '../contract/define.ts';
import { typeEvent, type TypedQueueEvent } from './typed-read.ts';

/** Options of `createQueueEvents`. @public */
export interface QueueEventsOptions extends ConnectionOptions {
  /** The queue to follow. */
  queue: string;
  /**
   * Where to start: `'$'` for new events only, `'0'` for the whole retained
   * log, or the `offset` of an event already seen (the reader starts after
   * it). Anything else is refused with INVALID_OPTION. @defaultValue '$'
   */
  from?: string | undefined;
  /**
   * The job types to type events by: with them, `progress` and `result`
   * are parsed with each type's schemas and typed by `name`, and events of
   * job types not declared here are skipped. @defaultValue undefined (untyped)
   */
  jobs?: JobRegistry | undefined;
}

/** An event as a QueueEvents delivers it: raw, or typed by `jobs`. @public */
export type AnyQueueEvent = QueueEvent | TypedQueueEvent<JobMap>;

/** What a QueueEvents `'gap'` listener gets: events were trimmed unread. */
export interface QueueEventsGap {
  /** The reader's position: the last event it read, or its `from`. */
  readonly offset: string;
  /** The oldest event the log still holds; it is delivered next. */
  readonly oldest: string;
}

/**
 * How many events a reader holds for its iterator before it stops reading
 * from Redis: one more read (up to 1,000 events) can be on its way, so at
 * most about twice this many are held.
 */
const READ_AHEAD = 1000;

/** The largest stream id part Redis accepts (an unsigned 64-bit number). */
const MAX_ID_PART = 2n ** 64n - 1n;

/** `from` as given, or ValidationError (INVALID_OPTION) naming it. */
function checkFrom(from: unknown): string {
  if (from === undefined) return '$';
  const m =
    typeof from === 'string' ? /^(\d{1,20})(?:-(\d{1,20}))?$/.exec(from) : null;
  const fits =
    m !== null &&
    BigInt(m[1]!) <= MAX_ID_PART &&
    (m[2] === undefined || BigInt(m[2]) <= MAX_ID_PART);
  if (from === '$' || fits) return from as string;
  throw new ValidationError(
    'QueueEvents options',
    [
      {
        path: 'from',
        message: `must be '$', '0' or an event offset such as '1700000000000-0', got ${typeof from === 'string' ? JSON.stringify(from) : String(from)}`,
        code: 'custom',
      },
    ],
    ErrorCode.INVALID_OPTION,
  );
}

/** What the reader still has to hand out, in log order. */
type Pending<TEvent> =
  | { readonly kind: 'event'; readonly event: TEvent }
  /** An event of a job type `jobs` does not declare: passed over. */
  | { readonly kind: 'skip'; readonly offset: string }
  | { readonly kind: 'gap'; readonly gap: QueueEventsGap };

type Listener = (arg: never) => unknown;

/**
 * Follows a queue's durable event log. A process started later can read
 * what happened before it started, from any offset.
 *
 * Every event goes to every listener and to the iterator, in log order.
 * While an iterator is in use, an event reaches the listeners when the
 * iterator takes it; reading from Redis pauses while the iterator is 1,000
 * events behind (or nobody listens yet), and resumes as it catches up, so a
 * slow consumer keeps memory bounded and loses nothing.
 * @public
 */
export class QueueEvents<TEvent extends AnyQueueEvent = QueueEvent> {
  private readonly listeners = new Map<string, Listener[]>();
  private readonly conn: Connection;
  private readonly follower: StreamFollower;
  private readonly pending: Pending<TEvent>[] = [];
  private readonly pulls: ((e: IteratorResult<TEvent>) => void)[] = [];
  private readonly jobs: JobRegistry | undefined;
  private readonly queue: string;
  /** From '0': what was trimmed before the reader started is no gap. */
  private readonly fromStart: boolean;
  /** The offset of the last event handed out, else the starting offset. */
  private position: string;
  private handedOut = false;
  /** Whether an iterator was created: events then wait for it. */
  private iterating = false;
  /** Resolves the follower's wait for room (backpressure). */
  private room: (() => void) | undefined;
  private pumpQueued = false;
  private closed = false;
  private readonly started: Promise<void>;

  constructor(options: QueueEventsOptions) {
    const common = resolveCommon(options);
    // Names and `from` are checked before connecting: a refused option
    // must not leave an open socket behind (it would keep the process alive).
    const from = checkFrom(options.from);
    this.jobs = options.jobs;
    this.queue = options.queue;
    this.fromStart = from === '0' || from === '0-0';
    this.position = from;
    const key = makeKeyCache(common.prefix)(options.queue).events;
    this.conn = openConnection(options, 'blocking', common.logger);
    this.follower = new StreamFollower(
      this.conn.client,
      key,
      from,
      (events) => this.receive(events),
      common.logger,
      undefined,
      undefined,
      (gap) => this.receiveGap(gap),
    );
    trackForTests('queueEvents', options.queue, () => !this.closed);
    this.started = this.follower.resolveCursor(60_000).then(() => {
      if (this.closed) return;
      if (!this.handedOut) this.position = this.follower.cursor;
      this.follower.start();
    });
    // A reader its caller closed reports nothing: an 'error' without a
    // listener would crash the process for a close it asked for.
    this.started.catch((err: unknown) => {
      if (!this.closed) this.report(err);
    });
  }

  /**
   * Resolves once the reader has fixed its starting offset. With `from: '$'`,
   * await it before producing events you must not miss.
   */
  ready(): Promise<void> {
    return this.started;
  }

  /** A gap the follower found, in order with the events around it. */
  private receiveGap(gap: StreamGap): void {
    // From '0' the reader asked for what the log still holds.
    if (this.fromStart && (gap.after === '0' || gap.after === '0-0')) return;
    if (this.closed) return;
    this.pending.push({
      kind: 'gap',
      gap: { offset: gap.after, oldest: gap.oldest },
    });
  }

  /**
   * Takes a batch the follower read; returns a promise (the follower waits
   * for it before its next read) while the iterator is too far behind, or
   * while a schema parses asynchronously.
   */
  private receive(raw: QueueEvent[]): Promise<void> | undefined {
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i]!;
      const typed = this.jobs ? typeEvent(this.jobs, r) : r;
      if (typed instanceof Promise)
        return this.receiveAsync(typed, r.offset, raw.slice(i + 1));
      this.add(r.offset, typed as TEvent | undefined);
    }
    return this.afterBatch();
  }

  /** `receive` from an event whose typing is a promise, in order. */
  private async receiveAsync(
    first: Promise<unknown>,
    offset: string,
    rest: QueueEvent[],
  ): Promise<void> {
    this.add(offset, (await first) as TEvent | undefined);
    // Each typed event goes out at once (not after the whole batch), and
    // close() ends the typing: it waits for this before it returns.
    this.pump();
    for (const r of rest) {
      if (this.closed) return;
      const typed = await typeEvent(this.jobs!, r);
      this.add(r.offset, typed as TEvent | undefined);
      this.pump();
    }
    await this.afterBatch();
  }

  private add(offset: string, e: TEvent | undefined): void {
    if (this.closed) return;
    this.pending.push(
      e === undefined ? { kind: 'skip', offset } : { kind: 'event', event: e },
    );
  }

  private afterBatch(): Promise<void> | undefined {
    this.pump();
    if (this.closed || this.pending.length < READ_AHEAD) return undefined;
    return new Promise<void>((resolve) => (this.room = resolve));
  }

  /** Whether anyone listens for events (not only 'error' or 'gap'). */
  private listened(): boolean {
    for (const [name, list] of this.listeners)
      if (name !== 'error' && name !== 'gap' && list.length > 0) return true;
    return false;
  }

  /**
   * Hands out what is pending: to waiting iterator calls while an iterator
   * is in use, else to the listeners (with none, events wait for one).
   */
  private pump(): void {
    while (this.pending.length > 0 && !this.closed) {
      if (this.iterating ? this.pulls.length === 0 : !this.listened()) break;
      const e = this.handOut(this.pending.shift()!);
      // A listener that closed the reader has ended the pulls already.
      if (e !== undefined && this.iterating)
        this.pulls.shift()?.({ value: e, done: false });
    }
    this.release();
  }

  /** Lets the follower read again once the iterator has caught up. */
  private release(): void {
    if (this.room !== undefined && this.pending.length < READ_AHEAD) {
      const room = this.room;
      this.room = undefined;
      room();
    }
  }

  /**
   * Delivers one pending item to the listeners and moves `offset` to it;
   * returns the event for the iterator (undefined for a gap or a skip).
   */
  private handOut(item: Pending<TEvent>): TEvent | undefined {
    if (item.kind === 'gap') {
      this.call('gap', item.gap);
      return undefined;
    }
    this.handedOut = true;
    if (item.kind === 'skip') {
      this.position = item.offset;
      return undefined;
    }
    const e = item.event;
    this.position = e.offset;
    this.call(e.event, e);
    this.call('event', e);
    return e;
  }

  /**
   * Calls every listener of `name`. One that throws (or whose promise
   * rejects) is reported on 'error' and stops nothing: the other listeners
   * and the iterator still get the event, and reading goes on.
   */
  private call(name: string, arg: unknown): void {
    const list = this.listeners.get(name);
    if (list === undefined || list.length === 0) return;
    for (const listener of [...list]) {
      try {
        const out = (listener as (a: unknown) => unknown)(arg);
        if (
          out !== null &&
          typeof out === 'object' &&
          typeof (out as { then?: unknown }).then === 'function'
        ) {
          (out as PromiseLike<unknown>).then(undefined, (err: unknown) =>
            this.report(err),
          );
        }
      } catch (err) {
        this.report(err);
      }
    }
  }

  /**
   * Emits `err` on 'error'; with no 'error' listener it is thrown
   * asynchronously (an uncaught exception), as an EventEmitter does.
   */
  private report(thrown: unknown): void {
    const err = isInstance(thrown, Error)
      ? thrown
      : new Error(`QueueEvents listener threw ${describeThrown(thrown)}`, {
          cause: thrown,
        });
    const list = this.listeners.get('error');
    if (list === undefined || list.length === 0) {
      process.nextTick(() => {
        throw err;
      });
      return;
    }
    for (const listener of [...list]) {
      try {
        (listener as (e: Error) => unknown)(err);
      } catch (again) {
        process.nextTick(() => {
          throw again;
        });
      }
    }
  }

  /**
   * Calls `listener` for each event of one kind, or `'event'` for all,
   * with `offset` already at that event. A listener that throws is
   * reported on `'error'` and stops nothing. `'error'` reports that, and
   * a failure to start reading (also the rejection of `ready()`) unless
   * `close()` came first; with no `'error'` listener such an error is
   * thrown (an uncaught exception), as with an EventEmitter. `'gap'` says
   * that the log's oldest event is past the reader's position: the events
   * between, if any, were trimmed (by `maxEvents`) before it read them.
   */
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'gap', listener: (gap: QueueEventsGap) => void): this;
  on(event: QueueEventName | 'event', listener: (e: TEvent) => void): this;
  on(event: string, listener: Listener): this {
    let list = this.listeners.get(event);
    if (list === undefined) this.listeners.set(event, (list = []));
    list.push(listener);
    // Events held for want of a listener go to this one, and to any added
    // in the same turn.
    if (
      !this.iterating &&
      !this.pumpQueued &&
      event !== 'error' &&
      event !== 'gap'
    ) {
      this.pumpQueued = true;
      queueMicrotask(() => {
        this.pumpQueued = false;
        if (!this.iterating) this.pump();
      });
    }
    return this;
  }

  /** Removes a listener. */
  off(event: 'error', listener: (error: Error) => void): this;
  off(event: 'gap', listener: (gap: QueueEventsGap) => void): this;
  off(event: QueueEventName | 'event', listener: (e: TEvent) => void): this;
  off(event: string, listener: Listener): this {
    const list = this.listeners.get(event);
    const i = list?.lastIndexOf(listener) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    return this;
  }

  /**
   * Iterates events in log order until `close()`, those read before the
   * iterator was created included. Listeners get each event as the
   * iterator takes it. Ending the iteration (`break` out of `for await`)
   * closes the reader. A reader has one iterator: a second is refused
   * with INVALID_OPTION, since the two would split the events; on a closed
   * reader an iterator ends at once.
   */
  [Symbol.asyncIterator](): AsyncIterator<TEvent> {
    // A closed reader (also one whose loop ended) iterates nothing.
    if (this.iterating && !this.closed)
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `this QueueEvents of queue ${JSON.stringify(this.queue)} is already iterated: the two iterators would split its events. Create another reader with createQueueEvents to follow the log twice`,
      );
    this.iterating = true;
    return {
      next: () => {
        while (this.pending.length > 0 && !this.closed) {
          const e = this.handOut(this.pending.shift()!);
          if (e !== undefined) {
            this.release();
            return Promise.resolve({ value: e, done: false });
          }
        }
        this.release();
        if (this.closed)
          return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.pulls.push(resolve));
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /**
   * The offset of the last event delivered (to the iterator or a listener;
   * inside a listener, its event's); before the first, the starting offset.
   * Save it and pass it as `from` later to resume after that event.
   */
  get offset(): string {
    return this.position;
  }

  /**
   * Stops following and closes the connection, at once also while Redis is
   * unreachable. Nothing is delivered after it; the iterator ends.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.length = 0;
    const stopped = this.follower.stop();
    this.room?.();
    this.room = undefined;
    for (const pull of this.pulls.splice(0))
      pull({ value: undefined, done: true });
    // A blocked read or a wait for the connection ends with the client.
    this.conn.client.disconnect();
    await closeConnection(this.conn);
    await stopped;
  }
}

/**
 * Follows the event log of one queue. With `jobs`, events are typed by job
 * name: `if (e.name === 'resize') e.progress` has resize's progress type.
 * @public
 */
export function createQueueEvents<TJobs extends JobMap>(
  options: QueueEventsOptions & { jobs: JobRegistry<TJobs> },
): QueueEvents<TypedQueueEvent<TJobs>>;
export function createQueueEvents(
  options: QueueEventsOptions & { jobs?: undefined },
): QueueEvents;
export function createQueueEvents(
  options: QueueEventsOptions,
): QueueEvents<AnyQueueEvent> {
  return new QueueEvents(options);
}
