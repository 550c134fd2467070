import {
  ensureReady,
  mapRedisError,
  type Connection,
} from '../redis/connection.ts';
import { sleep } from './wakeup.ts';

/** What a marker wait needs from its worker. */
export interface MarkerWaitHost {
  isStopping(): boolean;
  reportError(err: unknown, context: string): void;
  /** Redis answered the wait (health: the queue is reachable). */
  replied(): void;
}

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
   * network partition), so the loop can never hang forever.
   */
  async block(markers: string[], waitMs: number): Promise<void> {
    if (waitMs <= 0) return;
    this.interrupted = false;
    const client = this.blocking.client;
    try {
      await Promise.race([
        ensureReady(client, 5000),
        new Promise<void>((resolve) => (this.wake = resolve)),
      ]);
    } catch {
      return;
    } finally {
      this.wake = undefined;
    }
    if (this.interrupted || client.status !== 'ready') {
      this.interrupted = false;
      return;
    }
    const seconds = Math.max(0.01, waitMs / 1000).toFixed(3);
    let guard: NodeJS.Timeout | undefined;
    this.inBlockingCall = true;
    try {
      await Promise.race([
        client.bzpopmin(...markers, seconds).then(() => this.host.replied()),
        new Promise<void>((resolve) => {
          guard = setTimeout(() => {
            // Only a live socket is cut: one that is reconnecting is left
            // to ioredis (cut mid-connect, it would close for good).
            if (client.status === 'ready') client.disconnect(true);
            resolve();
          }, waitMs + 3000);
        }),
      ]);
    } catch (err) {
      // interrupt() cuts the blocking read on purpose: not a Redis problem.
      const interrupted = this.interrupted;
      this.interrupted = false;
      if (!this.host.isStopping() && !interrupted) {
        this.host.reportError(
          mapRedisError(err),
          `waiting for jobs on ${this.queue}`,
        );
        await sleep(100);
      }
    } finally {
      this.inBlockingCall = false;
      if (guard) clearTimeout(guard);
    }
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
