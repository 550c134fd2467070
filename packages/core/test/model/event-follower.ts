/**
 * The event reader's side of the model-based test: a QueueEvents that
 * follows the model queue's log for the whole run, through Redis restarts,
 * and is closed and resumed from its saved `offset` when a command says so,
 * delivering by listener or by iterator.
 *
 * The iterator lags on purpose: it takes the first event and then nothing
 * until the end of the run, so the reader holds the rest; closed before,
 * it leaves those untaken, and the reader resumed from its offset must
 * deliver them.
 *
 * What it must show: what it delivered is the log, in log order, each
 * entry once with the fields the log holds (all of it once caught up), and
 * no `'gap'` (runs never fill `maxEvents`, and the log is fsynced on every
 * write). And, from the writers: each job the model says ended has its
 * ending as its last event in the log.
 */
import type { Redis } from 'ioredis';
import {
  createQueueEvents,
  type QueueEvent,
  type QueueEvents,
  type QueueEventsGap,
} from '../../src/index.ts';
import type { Model, State } from './model.ts';
import { poll } from './system.ts';

export type DeliveryMode = 'listener' | 'iterator';

interface Delivered {
  offset: string;
  event: string;
  jobId: string;
  name: string;
  /** Which reader incarnation delivered it. */
  reader: number;
}

const ENDED_BY: Partial<Record<State, string>> = {
  completed: 'completed',
  failed: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
};

/** Events a job may still get after its ending event. */
const AFTER_END = new Set(['removed']);

export class EventFollower {
  readonly delivered: Delivered[] = [];
  readonly gaps: QueueEventsGap[] = [];
  readonly errors: string[] = [];
  private reader: QueueEvents | undefined;
  private iterating: Promise<void> | undefined;
  private incarnation = 0;
  private mode: DeliveryMode = 'listener';
  /** Events the iterator may still take: none, or all at the end. */
  private allowance = 0;
  private waiting: (() => void)[] = [];

  constructor(
    private readonly url: string,
    private readonly queue: string,
  ) {}

  /** Starts the first reader, from the start of the log. */
  async start(): Promise<void> {
    await this.open('0', 'listener');
  }

  /** Closes the reader and starts another from its last delivered offset. */
  async resume(mode: DeliveryMode): Promise<void> {
    const from = this.reader?.offset ?? '0';
    await this.stop();
    await this.open(from, mode);
  }

  async stop(): Promise<void> {
    const reader = this.reader;
    this.reader = undefined;
    await reader?.close();
    this.allow(Infinity);
    await this.iterating;
    this.iterating = undefined;
    this.allowance = 0;
  }

  private async open(from: string, mode: DeliveryMode): Promise<void> {
    const reader = createQueueEvents({
      connection: this.url,
      queue: this.queue,
      from,
      connectTimeoutMs: 10_000,
      logger: { warn: () => {}, error: () => {} },
    });
    const n = ++this.incarnation;
    const record = (e: QueueEvent) =>
      this.delivered.push({
        offset: e.offset,
        event: e.event,
        jobId: e.jobId,
        name: e.name,
        reader: n,
      });
    reader.on('gap', (g: QueueEventsGap) => this.gaps.push(g));
    reader.on('error', (err: unknown) =>
      this.errors.push(`reader ${n}: ${String(err)}`),
    );
    this.mode = mode;
    if (mode === 'listener') reader.on('event', record);
    else
      this.iterating = (async () => {
        for await (const e of reader) {
          record(e);
          while (this.allowance <= 0)
            await new Promise<void>((r) => this.waiting.push(r));
          this.allowance--;
        }
      })();
    this.reader = reader;
    await reader.ready();
  }

  /**
   * Compares what the reader delivered with the log, and the log's last
   * event of each job with the model. With `catchUp` (and always for a
   * listener), waits until the reader delivered the log's newest entry and
   * requires all of it; a lagging iterator must have delivered a prefix.
   * Returns violations.
   */
  async check(
    model: Model,
    admin: Redis,
    eventsKey: string,
    catchUp = false,
  ): Promise<string[]> {
    const log = await admin.xrange(eventsKey, '-', '+');
    const v: string[] = [];
    if (catchUp || this.mode === 'listener') {
      if (catchUp) this.allow(Infinity);
      try {
        await this.awaitDelivery(log.at(-1)?.[0], v);
      } finally {
        this.allowance = 0;
      }
    }
    v.push(...this.errors.splice(0));
    for (const g of this.gaps.splice(0))
      v.push(
        `event reader: 'gap' ${JSON.stringify(g)} though nothing was trimmed`,
      );
    const firstBad = this.delivered.findIndex((d, i) => {
      const entry = log[i];
      if (entry === undefined) return true;
      const f = fieldsOf(entry[1]);
      return (
        d.offset !== entry[0] ||
        d.event !== f.ev ||
        d.jobId !== (f.id ?? '') ||
        d.name !== (f.n ?? '')
      );
    });
    if (firstBad >= 0) {
      const d = this.delivered[firstBad]!;
      v.push(
        `event reader: delivery ${firstBad} was ${d.offset} ${d.event} ${d.jobId} (reader ${d.reader}), the log holds ${JSON.stringify(log[firstBad] ?? null)}`,
      );
    } else if (
      (catchUp || this.mode === 'listener') &&
      this.delivered.length < log.length
    )
      v.push(
        `event reader: delivered ${this.delivered.length} of the log's ${log.length} entries`,
      );
    v.push(...checkEndings(model, log));
    return v;
  }

  private allow(n: number): void {
    this.allowance = n;
    for (const r of this.waiting.splice(0)) r();
  }

  private async awaitDelivery(
    last: string | undefined,
    v: string[],
  ): Promise<void> {
    if (
      last !== undefined &&
      !(await poll(() => this.delivered.at(-1)?.offset === last, 5000))
    )
      v.push(
        `event reader: never delivered the log's newest entry ${last} (last delivered ${this.delivered.at(-1)?.offset ?? 'none'}, reader offset ${this.reader?.offset ?? 'closed'})`,
      );
  }
}

function fieldsOf(flat: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let k = 0; k + 1 < flat.length; k += 2) f[flat[k]!] = flat[k + 1]!;
  return f;
}

/** Each job the model holds as ended has that ending as its last event. */
function checkEndings(model: Model, log: [string, string[]][]): string[] {
  const lastOf = new Map<string, string>();
  for (const [, flat] of log) {
    const f = fieldsOf(flat);
    if (f.id !== undefined && f.id !== '' && !AFTER_END.has(f.ev ?? ''))
      lastOf.set(f.id, f.ev ?? '');
  }
  const v: string[] = [];
  for (const j of model.jobs.values()) {
    const want = ENDED_BY[j.state];
    if (want === undefined) continue;
    const got = lastOf.get(j.id);
    if (got !== want)
      v.push(
        `event log: ${j.id} (${j.type}) is ${j.state} but its last event is ${got ?? 'none'}`,
      );
  }
  return v;
}
