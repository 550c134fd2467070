import { defaults } from '../defaults.ts';
import type { SerializedError } from '../errors.ts';
import { BUSY_RETRY_MS, isBusyReply, retryWhileBusy } from './busy.ts';
import { ensureReady, type Logger } from './connection.ts';
import type { RedisClient } from './scripts/index.ts';

/** Every event name written to a queue's durable log. @public */
export type QueueEventName =
  | 'waiting'
  | 'delayed'
  | 'active'
  | 'progress'
  | 'completed'
  | 'failed'
  | 'retrying'
  | 'stalled'
  | 'expired'
  | 'cancelled'
  | 'removed'
  | 'drained'
  | 'migrated'
  | 'paused'
  | 'resumed';

/** One entry of the event log. @public */
export interface QueueEvent {
  /** Stream entry id; pass it as `from` to resume after this event. */
  readonly offset: string;
  readonly event: QueueEventName;
  /** Job id ('' for queue-level events). */
  readonly jobId: string;
  /** Job type ('' for queue-level events). */
  readonly name: string;
  /** When Redis recorded it, ms since the epoch. */
  readonly timestamp: number;
  /** `completed`: the stored result (parsed JSON). */
  readonly result?: unknown | undefined;
  /** `failed`, `retrying`: the recorded error. */
  readonly error?: SerializedError | undefined;
  /** `progress`: the progress value. */
  readonly progress?: unknown | undefined;
  /** `delayed`, `retrying`: when the job becomes due, ms since the epoch. */
  readonly due?: number | undefined;
  /** `cancelled`: the reason given with the cancel ('' = none). */
  readonly reason?: string | undefined;
  /** `cancelled`: the state the job was cancelled from. */
  readonly from?: 'waiting' | 'delayed' | 'active' | undefined;
  /** `stalled`: how many times the job has stalled. */
  readonly stalls?: number | undefined;
  /**
   * `drained`: how many waiting or delayed jobs one drain step removed. A
   * drain writes one such event per step (up to 1,000 jobs), not a
   * `removed` event per job. `migrated`: how many jobs one `migrate`
   * batch rewrote.
   */
  readonly count?: number | undefined;
  /**
   * `migrated` (name: the job type): the contract version one `migrate`
   * batch rewrote `count` waiting or delayed jobs to.
   */
  readonly version?: number | undefined;
}

function parseJson(raw: string | undefined): unknown {
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** The states a `cancelled` event's `from` letter names. */
const CANCELLED_FROM: Record<string, 'waiting' | 'delayed' | 'active'> = {
  w: 'waiting',
  d: 'delayed',
  a: 'active',
};

/** Turns a raw stream entry into a QueueEvent. */
export function parseEvent(offset: string, fields: string[]): QueueEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  const event: {
    -readonly [K in keyof QueueEvent]: QueueEvent[K];
  } = {
    offset,
    event: f.ev as QueueEventName,
    jobId: f.id ?? '',
    name: f.n ?? '',
    timestamp: Number(offset.split('-')[0]),
  };
  if (f.r !== undefined && f.r !== '') event.result = parseJson(f.r);
  if (f.err !== undefined) event.error = parseJson(f.err) as SerializedError;
  if (f.pg !== undefined) event.progress = parseJson(f.pg);
  if (f.due !== undefined) event.due = Number(f.due);
  if (f.sc !== undefined) event.stalls = Number(f.sc);
  if (f.count !== undefined) event.count = Number(f.count);
  if (f.v !== undefined) event.version = Number(f.v);
  if (f.ev === 'cancelled') {
    event.reason = f.reason ?? '';
    const from = CANCELLED_FROM[f.from ?? ''];
    if (from !== undefined) event.from = from;
  }
  return event;
}

type XReadReply = [string, [string, string[]][]][] | null;

/** Compares two stream entry ids (`<ms>-<seq>`). */
export function compareOffsets(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** A field of an XINFO STREAM reply (undefined for no stream). */
function streamField(info: unknown, field: string): unknown {
  if (!Array.isArray(info)) return undefined;
  const i = info.indexOf(field);
  return i >= 0 ? (info[i + 1] as unknown) : undefined;
}

/**
 * Whether `b` is the id right after `a`: the same millisecond, the next
 * sequence number. No entry can lie between them, so none was lost.
 */
function isNextId(a: string, b: string): boolean {
  const [am, as] = a.split('-');
  const [bm, bs] = b.split('-');
  if (as === undefined || bs === undefined || am !== bm) return false;
  return BigInt(bs) === BigInt(as) + 1n;
}

/**
 * What a follower found when the log's oldest entry was past its position:
 * the entries after `after` and before `oldest`, if there were any, were
 * trimmed before it read them.
 */
export interface StreamGap {
  /** The follower's position: the last entry it read, or where it started. */
  readonly after: string;
  /** The oldest entry the log still holds. */
  readonly oldest: string;
}

/**
 * Follows one queue's event stream with a blocking XREAD on its own
 * connection, resuming from its last offset after a disconnect.
 *
 * Gap detection: the stream is trimmed to about `maxEvents` entries, so a
 * follower that falls that far behind (a long pause, a slow consumer, a
 * huge batch) would skip entries without noticing. Each XREAD is pipelined
 * with an XRANGE of the stream's first entry (no extra round trip); when
 * that entry is past the cursor the read started from, entries after the
 * cursor may have been trimmed unread. XINFO STREAM then tells whether the
 * stream ever lost an entry (a stream created after the follower started
 * has not), and if so `onGap` runs before the entries are delivered. A
 * follower that keeps up is about `maxEvents` entries ahead of the first
 * one, so this costs nothing in normal operation.
 *
 * Backpressure: `onEvents` may return a promise; the next read waits for it
 * (or for `stop()`), so a consumer that falls behind stops the reading
 * instead of piling entries up in memory.
 */
export class StreamFollower {
  private running = false;
  private loop: Promise<void> | undefined;
  /** Ends the pause before a retried read at once (set while pausing). */
  private wake: (() => void) | undefined;
  cursor: string;

  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
    from: string,
    private readonly onEvents: (events: QueueEvent[]) => void | Promise<void>,
    private readonly logger: Logger,
    private readonly onReconnect: () => void = () => {},
    private readonly blockMs: number = defaults.blockTimeoutMs,
    private readonly onGap?: (gap: StreamGap) => void,
  ) {
    this.cursor = from;
  }

  /** Resolves `$` to a concrete offset, so nothing after "now" is missed. */
  async resolveCursor(connectTimeoutMs: number): Promise<void> {
    if (this.cursor !== '$') return;
    await ensureReady(this.client, connectTimeoutMs);
    // The last id ever generated, not the last entry left: an id deleted
    // since would otherwise look like a gap after the cursor.
    // BUSY (a long script) is waited out, for the same time as the connection.
    const info: unknown = await retryWhileBusy(connectTimeoutMs, () =>
      this.client.xinfo('STREAM', this.key).catch((err: unknown) => {
        // No stream yet: nothing was written, nothing deleted.
        if (/no such key/i.test(String(err))) return undefined;
        throw err;
      }),
    );
    const last = streamField(info, 'last-generated-id');
    this.cursor = typeof last === 'string' ? last : '0-0';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let failed = false;
    let busyReported = false;
    while (this.running) {
      try {
        await ensureReady(this.client, 5000);
        if (!this.running) break;
        if (failed) {
          failed = false;
          this.onReconnect();
        }
        const from = this.cursor;
        const reply = await this.read(from);
        busyReported = false;
        if (!this.running) break;
        if (reply.oldest !== undefined)
          this.onGap?.({ after: from, oldest: reply.oldest });
        const entries = reply.entries;
        if (entries.length === 0) continue;
        this.cursor = entries[entries.length - 1]![0];
        const room = this.onEvents(
          entries.map(([id, fields]) => parseEvent(id, fields)),
        );
        // stop() ends this wait too (wake): the consumer may never make
        // room, e.g. an async schema that never settles.
        if (room !== undefined && this.running)
          await Promise.race([
            room,
            new Promise<void>((resolve) => (this.wake = resolve)),
          ]).finally(() => (this.wake = undefined));
      } catch (err) {
        // A read in flight when stop() came ends quietly: the caller
        // closed the connection under it.
        if (!this.running) break;
        failed = true;
        // A long script in Redis answers BUSY to every read until it ends:
        // one warning per streak, and a retry soon after its end.
        const busy = isBusyReply(err);
        if (!busy || !busyReported)
          this.logger.warn(
            `event stream read failed: ${(err as Error).message}`,
          );
        busyReported = busy;
        await this.pause(busy ? BUSY_RETRY_MS : 200);
      }
    }
  }

  /** Waits `ms` before a retry, or less if stop() comes first. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => (this.wake = undefined));
  }

  /**
   * One blocking read from `from`; with `onGap`, also the log's oldest
   * entry when entries after `from` were lost.
   */
  private async read(
    from: string,
  ): Promise<{ entries: [string, string[]][]; oldest: string | undefined }> {
    const args = [
      'COUNT',
      1000,
      'BLOCK',
      this.blockMs,
      'STREAMS',
      this.key,
      from,
    ] as const;
    if (this.onGap === undefined) {
      const reply = (await this.client.xread(...args)) as XReadReply;
      return { entries: reply?.[0]?.[1] ?? [], oldest: undefined };
    }
    // Run right after the read on the same connection: a trim that removed
    // entries past `from` before the read was served leaves the stream's
    // first entry past `from`. XRANGE of one entry, not XINFO STREAM: its
    // reply (two whole entries and a dozen fields) cost more than the read
    // itself at a low event rate (issue 15).
    const replies = await this.client
      .pipeline()
      .xread(...args)
      .xrange(this.key, '-', '+', 'COUNT', 1)
      .exec();
    const [readErr, reply] = replies?.[0] ?? [null, null];
    if (readErr) throw readErr;
    const [firstErr, first] = replies?.[1] ?? [null, null];
    const firstId = (first as [string, string[]][] | null)?.[0]?.[0];
    const entries = (reply as XReadReply)?.[0]?.[1] ?? [];
    // An empty or missing stream has lost nothing past `from`, nor one
    // whose first entry is the very next id.
    if (
      firstErr ||
      firstId === undefined ||
      compareOffsets(firstId, from) <= 0 ||
      isNextId(from, firstId)
    )
      return { entries, oldest: undefined };
    return { entries, oldest: (await this.everLost()) ? firstId : undefined };
  }

  /**
   * Whether the stream ever lost an entry (more added than it holds): a
   * stream created after the follower's position, never trimmed since,
   * starts past that position with nothing lost. When Redis cannot say,
   * assume a loss: a needless signal costs less than a silent one. (Not
   * exact: Redis keeps no record of the ids a trim removed, as
   * `max-deleted-entry-id` counts only XDEL, so a trim that stopped right
   * at the position, its next entry in a later millisecond, reads as a
   * loss too.)
   */
  private async everLost(): Promise<boolean> {
    const info: unknown = await this.client
      .xinfo('STREAM', this.key)
      .catch(() => undefined);
    const added = Number(streamField(info, 'entries-added'));
    const length = Number(streamField(info, 'length'));
    if (!Number.isFinite(added) || !Number.isFinite(length)) return true;
    return added > length;
  }

  /**
   * Stops following: at once no read result is delivered and no failure
   * reported; the caller closes the connection to end a blocked read, then
   * awaits the returned promise.
   */
  stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    return this.loop?.catch(() => {}) ?? Promise.resolve();
  }
}
