import { defaults } from '../defaults.ts';
import type { SerializedError } from '../errors.ts';
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
  | 'removed'
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
  readonly result?: unknown;
  /** `failed`, `retrying`: the recorded error. */
  readonly error?: SerializedError;
  /** `progress`: the progress value. */
  readonly progress?: unknown;
  /** `delayed`, `retrying`: when the job becomes due, ms since the epoch. */
  readonly due?: number;
  /** `stalled`: how many times the job has stalled. */
  readonly stalls?: number;
}

function parseJson(raw: string | undefined): unknown {
  if (raw === undefined || raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

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
  return event;
}

type XReadReply = [string, [string, string[]][]][] | null;

/**
 * Follows one queue's event stream with a blocking XREAD on its own
 * connection, resuming from its last offset after a disconnect.
 */
export class StreamFollower {
  private running = false;
  private loop: Promise<void> | undefined;
  cursor: string;

  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
    from: string,
    private readonly onEvents: (events: QueueEvent[]) => void,
    private readonly logger: Logger,
    private readonly onReconnect: () => void = () => {},
    private readonly blockMs: number = defaults.blockTimeoutMs,
  ) {
    this.cursor = from;
  }

  /** Resolves `$` to a concrete offset, so nothing after "now" is missed. */
  async resolveCursor(connectTimeoutMs: number): Promise<void> {
    if (this.cursor !== '$') return;
    await ensureReady(this.client, connectTimeoutMs);
    const last = (await this.client.xrevrange(
      this.key,
      '+',
      '-',
      'COUNT',
      1,
    )) as [string, string[]][];
    this.cursor = last[0]?.[0] ?? '0-0';
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let failed = false;
    while (this.running) {
      try {
        await ensureReady(this.client, 5000);
        if (failed) {
          failed = false;
          this.onReconnect();
        }
        const reply = (await this.client.xread(
          'COUNT',
          1000,
          'BLOCK',
          this.blockMs,
          'STREAMS',
          this.key,
          this.cursor,
        )) as XReadReply;
        if (!this.running) break;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        this.cursor = entries[entries.length - 1]![0];
        this.onEvents(entries.map(([id, fields]) => parseEvent(id, fields)));
      } catch (err) {
        if (!this.running) break;
        failed = true;
        this.logger.warn(`event stream read failed: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Stops following; the caller closes the connection to end a blocked read. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop?.catch(() => {});
  }
}
