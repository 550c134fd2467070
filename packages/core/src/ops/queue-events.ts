import { EventEmitter } from 'node:events';
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
} from '../redis/events.ts';
import { makeKeyCache, resolveCommon } from '../redis/queue-context.ts';
import { ErrorCode, ValidationError } from '../errors.ts';
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

/**
 * Follows a queue's durable event log. A process started later can read
 * what happened before it started, from any offset.
 * @public
 */
export class QueueEvents<TEvent extends AnyQueueEvent = QueueEvent> {
  private readonly emitter = new EventEmitter();
  private readonly conn: Connection;
  private readonly follower: StreamFollower;
  private readonly buffered: TEvent[] = [];
  private readonly pulls: ((e: IteratorResult<TEvent>) => void)[] = [];
  private readonly jobs: JobRegistry | undefined;
  private closed = false;
  private readonly started: Promise<void>;

  constructor(options: QueueEventsOptions) {
    const common = resolveCommon(options);
    // Names and `from` are checked before connecting: a refused option
    // must not leave an open socket behind (it would keep the process alive).
    const from = checkFrom(options.from);
    this.jobs = options.jobs;
    const key = makeKeyCache(common.prefix)(options.queue).events;
    this.conn = openConnection(options, 'blocking', common.logger);
    this.follower = new StreamFollower(
      this.conn.client,
      key,
      from,
      (events) => this.deliver(events),
      common.logger,
    );
    trackForTests('queueEvents', options.queue, () => !this.closed);
    this.started = this.follower.resolveCursor(60_000).then(() => {
      if (!this.closed) this.follower.start();
    });
    // A reader its caller closed reports nothing: an 'error' without a
    // listener would crash the process for a close it asked for.
    this.started.catch((err: unknown) => {
      if (!this.closed) this.emitter.emit('error', err);
    });
  }

  /**
   * Resolves once the reader has fixed its starting offset. With `from: '$'`,
   * await it before producing events you must not miss.
   */
  ready(): Promise<void> {
    return this.started;
  }

  private deliver(raw: QueueEvent[]): void {
    for (const r of raw) {
      const e = (this.jobs ? typeEvent(this.jobs, r) : r) as TEvent | undefined;
      if (e === undefined) continue;
      const pull = this.pulls.shift();
      if (pull) pull({ value: e, done: false });
      else if (
        this.emitter.listenerCount('event') === 0 &&
        this.emitter.listenerCount(e.event) === 0
      ) {
        this.buffered.push(e);
        if (this.buffered.length > 100_000) this.buffered.shift();
      }
      this.emitter.emit(e.event, e);
      this.emitter.emit('event', e);
    }
  }

  /**
   * Calls `listener` for each event of one kind, or `'event'` for all;
   * `'error'` reports a failure to start reading (also the rejection of
   * `ready()`), unless `close()` came first.
   */
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: QueueEventName | 'event', listener: (e: TEvent) => void): this;
  on(
    event: QueueEventName | 'event' | 'error',
    listener: ((e: TEvent) => void) | ((error: Error) => void),
  ): this {
    this.emitter.on(event, listener);
    return this;
  }

  /** Removes a listener. */
  off(event: QueueEventName | 'event', listener: (e: TEvent) => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  /** Iterates events in log order until `close()`. */
  [Symbol.asyncIterator](): AsyncIterator<TEvent> {
    return {
      next: () => {
        const e = this.buffered.shift();
        if (e) return Promise.resolve({ value: e, done: false });
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

  /** The offset after the last event delivered; resume from it later. */
  get offset(): string {
    return this.follower.cursor;
  }

  /**
   * Stops following and closes the connection, at once also while Redis is
   * unreachable.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopped = this.follower.stop();
    for (const pull of this.pulls.splice(0))
      pull({ value: undefined, done: true });
    // Ending the connection first ends a blocked read, and the reader's
    // wait for a connection to come back (up to 5 s while Redis is down).
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
