import { mapRedisError, type Connection } from '../redis/connection.ts';
import type { RedisClient } from '../redis/scripts/index.ts';
import { readyUnlessAborted } from './startup.ts';
import { sleep } from './wakeup.ts';

/** What a marker wait needs from its worker. */
export interface MarkerWaitHost {
  isStopping(): boolean;
  /** Whether the worker is paused: no wait starts then. */
  isPaused(): boolean;
  reportError(err: unknown, context: string): void;
  /** Redis answered the wait (health: the queue is reachable). */
  replied(): void;
  /**
   * Arms `marker` from another connection, so a BZPOPMIN blocked on it
   * returns now (see untilWoken's due timer).
   */
  rearm(marker: string): void;
}

/** Past the wait's own timeout, how long before a silent socket is cut. */
const GUARD_MS = 3000;

/**
 * A queue's wait for work on its blocking connection: BZPOPMIN on the
 * marker zsets of its types, which a producer or a promotion fills.
 */
export class MarkerWait {
  /** Set by interrupt(): the wait under way, or about to start, ends. */
  private interrupted = false;
  /** True only while a BZPOPMIN is in flight. */
  private inBlockingCall = false;
  /** Ends the wait for a connection that is not ready yet. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly host: MarkerWaitHost,
    private readonly blocking: Connection,
    private readonly queue: string,
  ) {}

  /**
   * Blocks on the given marker keys for up to `waitMs`. A client-side guard
   * reconnects the blocking connection if the reply never comes (a silent
   * network partition), so the loop can never hang forever. `due`: `waitMs`
   * is when a delayed job falls due, and the wait ends then on the dot.
   */
  async block(markers: string[], waitMs: number, due = false): Promise<void> {
    if (waitMs <= 0 || !(await this.ready())) return;
    const woke = this.blockingCall(markers, waitMs);
    try {
      await this.untilWoken(woke, waitMs, due ? markers[0] : undefined);
    } catch (err) {
      // interrupt() cuts the blocking read on purpose: not a Redis problem.
      if (!this.takeInterrupted() && !this.host.isStopping()) {
        this.report(err);
        await sleep(100);
      }
    }
  }

  /**
   * Blocks as block() does, with `then`'s command sent on the same
   * connection right behind the BZPOPMIN, in the same write. Redis keeps a
   * blocked client's next commands in its input buffer and runs them as
   * soon as the wait ends (a marker popped, or the timeout), so `then`
   * runs with no round trip between the wake-up and it. Resolves with its
   * reply; with undefined when nothing was sent (interrupted first, or the
   * connection is not ready), or when the wait was interrupted and the
   * command failed: then Redis may still have run it, and `then`'s own
   * error handling must account for that. Rejects with the command's
   * error otherwise. `due`: the wait ends when a job falls due (block()).
   */
  async blockThen<T>(
    markers: string[],
    waitMs: number,
    then: (client: RedisClient) => Promise<T>,
    due = false,
  ): Promise<T | undefined> {
    if (!(await this.ready())) return undefined;
    const client = this.blocking.client;
    // Corked, the socket sends both commands in one write (one syscall).
    const stream = corkable(client);
    stream?.cork();
    let woke: Promise<unknown>;
    let after: Promise<T>;
    try {
      woke = this.blockingCall(markers, waitMs);
      after = then(client);
    } finally {
      stream?.uncork();
    }
    // Handled below; this keeps a rejection that comes while the wait is
    // still awaited from counting as unhandled.
    after.catch(() => {});
    let waitError: unknown;
    try {
      await this.untilWoken(woke, waitMs, due ? markers[0] : undefined);
    } catch (err) {
      waitError = err;
    }
    const interrupted = this.takeInterrupted();
    try {
      const reply = await after;
      // The wait failed but its command ran (a marker key of the wrong
      // type?): report it, and pace the loop, which would spin otherwise.
      if (waitError !== undefined && !interrupted && !this.host.isStopping()) {
        this.report(waitError);
        await sleep(100);
      }
      return reply;
    } catch (err) {
      if (interrupted || this.host.isStopping()) return undefined;
      throw err;
    }
  }

  /**
   * Waits until the blocking connection is ready; false when it is not,
   * when interrupt() ended the wait first, or when the worker is paused or
   * stopping by now.
   */
  private async ready(): Promise<boolean> {
    // A stale interrupt (of a wait that has ended) is dropped here. One that
    // came after the loop chose to wait, while it awaited something else (a
    // layout recheck), is seen in the host's state: pause() and close() set
    // it before they interrupt.
    this.interrupted = false;
    const client = this.blocking.client;
    if (client.status !== 'ready') {
      // Aborted by interrupt(): the wait ends with its timer, which would
      // otherwise keep a closed worker's process alive for its 5 s.
      const cut = new AbortController();
      this.wake = () => cut.abort();
      try {
        await readyUnlessAborted(client, 5000, cut.signal);
      } catch {
        return false;
      } finally {
        this.wake = undefined;
      }
    }
    if (
      this.interrupted ||
      client.status !== 'ready' ||
      this.host.isPaused() ||
      this.host.isStopping()
    ) {
      this.interrupted = false;
      return false;
    }
    return true;
  }

  /** Sends the BZPOPMIN; interrupt() may cut it from now on. */
  private blockingCall(markers: string[], waitMs: number): Promise<unknown> {
    const seconds = Math.max(0.01, waitMs / 1000).toFixed(3);
    this.inBlockingCall = true;
    return this.blocking.client.bzpopmin(...markers, seconds);
  }

  /**
   * Awaits the BZPOPMIN's reply, with the guard: a reply that never comes
   * cuts the connection, which fails whatever else it was carrying.
   *
   * With `dueMarker`, a timer arms that marker when `waitMs` is up. Redis
   * checks blocking timeouts only between its event-loop ticks (every
   * 1000/hz ms, 100 ms by default, when idle), so a BZPOPMIN timed to a
   * delayed job's due time returned 0 to 100 ms late, and the job ran that
   * much late; a write to a key it blocks on wakes it at once.
   */
  private async untilWoken(
    woke: Promise<unknown>,
    waitMs: number,
    dueMarker?: string,
  ) {
    const client = this.blocking.client;
    let guard: NodeJS.Timeout | undefined;
    const due =
      dueMarker === undefined
        ? undefined
        : setTimeout(() => {
            if (this.inBlockingCall) this.host.rearm(dueMarker);
          }, waitMs);
    try {
      await Promise.race([
        woke.then(() => this.host.replied()),
        new Promise<void>((resolve) => {
          guard = setTimeout(() => {
            // Only a live socket is cut: one that is reconnecting is left
            // to ioredis (cut mid-connect, it would close for good).
            if (client.status === 'ready') client.disconnect(true);
            resolve();
          }, waitMs + GUARD_MS);
        }),
      ]);
    } finally {
      this.inBlockingCall = false;
      if (guard) clearTimeout(guard);
      if (due) clearTimeout(due);
    }
  }

  /** Whether interrupt() was called since the wait started; clears it. */
  private takeInterrupted(): boolean {
    const interrupted = this.interrupted;
    this.interrupted = false;
    return interrupted;
  }

  private report(err: unknown): void {
    this.host.reportError(
      mapRedisError(err),
      `waiting for jobs on ${this.queue}`,
    );
  }

  /**
   * Ends the wait at once (used by close and pause). The connection is cut
   * only while a BZPOPMIN is in flight: ioredis turns a disconnect of a
   * connection that is still connecting into a permanent close, even one
   * asked to reconnect, so pause() before the first connect used to leave
   * the blocking connection closed for ever. Before that point only the
   * wait for the connection ends; close() ends the connection itself.
   */
  interrupt(): void {
    this.interrupted = true;
    this.wake?.();
    if (this.inBlockingCall && this.blocking.client.status === 'ready') {
      this.blocking.client.disconnect(!this.host.isStopping());
    }
  }
}

/** A standalone client's socket, which cork() can hold for one write. */
function corkable(
  client: RedisClient,
): { cork(): void; uncork(): void } | undefined {
  const stream = (client as { stream?: unknown }).stream;
  if (
    typeof stream === 'object' &&
    stream !== null &&
    typeof (stream as { cork?: unknown }).cork === 'function'
  )
    return stream as { cork(): void; uncork(): void };
  return undefined;
}
