/**
 * Whether Redis answers a busy worker, read from the calls it makes anyway:
 * its lease renewals and its jobs' completion writes. No call of its own.
 *
 * A Redis that is frozen (SIGSTOP, a stuck VM) or behind a silent link
 * leaves the sockets `ready`, so the clients' status says nothing; an idle
 * worker learns of it from its blocking wait's guard, but a busy one makes
 * no blocking wait, and reported ready for as long as its calls waited.
 */
export class CallWatch {
  /** When each call in flight started (performance.now()), oldest first. */
  private readonly since = new Map<object | string, number>();
  /** Failures reported so far (REDIS_UNAVAILABLE). */
  private failures = 0;
  /** Whether the last renewal that settled met a failure. */
  private failing = false;

  /** @param limitMs how long a call may go unanswered (commandTimeoutMs). */
  constructor(private readonly limitMs: number) {}

  /** Watches a lease renewal: it answers, or it met a failure. */
  renewal(call: Promise<unknown>): void {
    const key = {};
    const before = this.failures;
    this.since.set(key, performance.now());
    void call.finally(() => {
      this.since.delete(key);
      this.failing = this.failures !== before;
    });
  }

  /**
   * A completion is being written (by its job's running key: lease tokens
   * repeat across the queues of one worker); retries keep its start.
   */
  writing(key: string): void {
    if (!this.since.has(key)) this.since.set(key, performance.now());
  }

  /** The completion's write ended (written, or given up). */
  written(key: string): void {
    this.since.delete(key);
  }

  /**
   * Redis answered a call (a lease): a failed renewal no longer says it is
   * away. Without this, a renewal failed in a short outage whose jobs then
   * ended kept the next job's worker not ready on a healthy Redis.
   */
  answered(): void {
    this.failing = false;
  }

  /** A call found Redis unavailable. */
  failed(): void {
    this.failures++;
  }

  /**
   * Whether Redis looks unresponsive to a worker holding leases (`holding`):
   * a call of its unanswered past the limit, or its last renewal failed.
   */
  unanswered(holding: boolean): boolean {
    if (holding && this.failing) return true;
    // Insertion order: the first call in flight is the oldest.
    const oldest = this.since.values().next();
    return (
      oldest.done !== true && performance.now() - oldest.value > this.limitMs
    );
  }
}
