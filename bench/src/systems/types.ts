/** The interface every benchmarked system implements, plus shared helpers. */
import fs from 'node:fs';

export type SystemName = 'jobwire' | 'bullmq' | 'beequeue';

/**
 * The `flow` scenario's limiters (issue 16), each set so it never binds:
 * what is measured is its cost, not its limit. Keyed ones key on the last
 * two digits of the payload's `ref` (100 keys); debounce keys on the whole
 * `ref`, so no job replaces another (see systems/jobwire.ts).
 */
export const FLOW_VARIANTS = [
  'none',
  'rate',
  'keyed',
  'keyrate',
  'debounce',
  'throttle',
] as const;
export type FlowVariant = (typeof FLOW_VARIANTS)[number];

export const systemLabels: Record<SystemName, string> = {
  jobwire: 'jobwire',
  bullmq: 'BullMQ',
  beequeue: 'Bee-Queue',
};

export interface AdapterOptions {
  host: string;
  port: number;
  /** Remove completed jobs (process, latency, backlog, validation). */
  removeCompleted: boolean;
  /** jobwire only: false swaps the payload schema for `z.any()`. */
  validate?: boolean;
  /**
   * Job types in the one queue (default 1). Job `i` is of type `i % types`
   * (see {@link typeName}): jobwire declares that many job types, BullMQ
   * uses them as job names, Bee-Queue (which has no job names) carries the
   * type in the payload's `type` field.
   */
  types?: number;
  /** Payload size as JSON (default {@link PAYLOAD_BYTES}). */
  payloadBytes?: number;
  /** jobwire only: the job type's flow-control rule (default none). */
  flow?: FlowVariant;
  /** BullMQ only: the worker's queue-wide rate limiter. */
  limiter?: { max: number; duration: number };
}

/** A running worker that reports each handler start. */
export interface RunningWorker {
  close(): Promise<void>;
}

/** A worker that is connected but not yet consuming. */
export interface PreparedWorker {
  /** Starts consuming; `finished` resolves after `stopAfter` completions. */
  start(): void;
  readonly finished: Promise<void>;
  close(): Promise<void>;
}

/** Milliseconds per job, in enqueue order. */
export interface LatencyResult {
  /** Handler start − enqueue call. */
  pickup: number[];
  /** Producer learns of completion − enqueue call. */
  completion: number[];
}

export interface SystemAdapter {
  readonly name: SystemName;
  readonly version: string;
  /** Connects the producer and enqueues one job, outside any measurement. */
  warmUp(): Promise<void>;
  /** One awaited enqueue after another. */
  enqueueSeq(n: number): Promise<void>;
  /** `inFlight` enqueues outstanding at any time. */
  enqueueConcurrent(n: number, inFlight: number): Promise<void>;
  /** The system's bulk call, `chunk` jobs per call, one call at a time. */
  enqueueBulk(n: number, chunk: number): Promise<void>;
  /** Loads `n` waiting jobs as fast as possible (not measured). */
  fill(n: number): Promise<void>;
  /** A connected, idle worker that will stop counting at `stopAfter`. */
  worker(concurrency: number, stopAfter: number): Promise<PreparedWorker>;
  /** `n` jobs at `ratePerSec`, a worker of `concurrency` already running. */
  latency(
    n: number,
    ratePerSec: number,
    concurrency: number,
  ): Promise<LatencyResult>;
  /**
   * Starts a worker of `concurrency` that calls `onStart(i)` as job `i`'s
   * handler starts (`i` is the payload's `ref`); resolves once it consumes.
   */
  consume(
    concurrency: number,
    onStart: (i: number) => void,
  ): Promise<RunningWorker>;
  /** Enqueues job `i`; resolves when the system acknowledged it. */
  enqueueOne(i: number): Promise<void>;
  /**
   * Enqueues job `i` and resolves when the producer learns it completed,
   * through each system's own API: jobwire's `finished()`, BullMQ's
   * `job.waitUntilFinished(queueEvents)`, Bee-Queue's `succeeded` event.
   */
  roundTrip(i: number): Promise<void>;
  /** Closes every connection the adapter opened. */
  close(): Promise<void>;
}

/** The benchmark payload: 208 bytes as JSON unless sized otherwise. */
export interface Payload {
  /** Bee-Queue only, with several job types: the type's name. */
  type?: string;
  ref: string;
  userId: string;
  email: string;
  subject: string;
  locale: string;
  tags: string[];
  amount: number;
  body: string;
}

export const PAYLOAD_BYTES = 208;

/** The `payload_10k` scenario's payload size: 10 KB as JSON. */
export const PAYLOAD_10K_BYTES = 10_240;

const base: Omit<Payload, 'ref' | 'body'> = {
  userId: 'usr_7f3a9c2e41b8',
  email: 'ada.lovelace@example.com',
  subject: 'Your weekly report is ready',
  locale: 'en-GB',
  tags: ['weekly', 'report', 'digest'],
  amount: 1234.5,
};

const filler = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. ';

/** The job type name of job `i` when there are `types` of them. */
export function typeName(i: number, types: number): string {
  return types <= 1 ? 'bench' : `t${String(i % types).padStart(2, '0')}`;
}

/**
 * A payload maker: `make(i)` is a fresh payload object for job `i` (its
 * `ref` is `i`, zero-padded), `bytes` long as JSON. With `types` > 1 it also
 * carries `type` (for Bee-Queue, whose jobs have no name) on top of those
 * bytes, as the others store the job name beside the payload.
 */
export function payloadMaker(
  bytes: number = PAYLOAD_BYTES,
  types?: number,
): (i: number) => Payload {
  const typed = types !== undefined && types > 1;
  const probe = { ref: '00000000', ...base, body: '' };
  const bodyLength = bytes - Buffer.byteLength(JSON.stringify(probe));
  if (bodyLength < 0) throw new Error(`payload base is over ${bytes} bytes`);
  const body = filler
    .repeat(Math.ceil(bodyLength / filler.length))
    .slice(0, bodyLength);
  return (i) => ({
    ...(typed ? { type: typeName(i, types) } : {}),
    ref: String(i).padStart(8, '0'),
    ...base,
    tags: [...base.tags],
    body,
  });
}

/** A fresh 208-byte payload object for job `i`. */
export const payload = payloadMaker();

/** Runs `fn(0..n-1)` with at most `inFlight` calls outstanding. */
export async function pool(
  n: number,
  inFlight: number,
  fn: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(inFlight, n) }, async () => {
    while (next < n) await fn(next++);
  });
  await Promise.all(lanes);
}

/**
 * Calls `send(i)` for i in 0..n-1 at a steady `ratePerSec`: whatever is due
 * by the clock is sent on each tick, so timer jitter never lowers the rate.
 * `send` must not block; it records its own start time.
 */
export async function paced(
  n: number,
  ratePerSec: number,
  send: (i: number) => void,
): Promise<void> {
  const start = performance.now();
  let sent = 0;
  while (sent < n) {
    const due = Math.min(
      n,
      Math.floor(((performance.now() - start) * ratePerSec) / 1000) + 1,
    );
    while (sent < due) send(sent++);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** `version` from a package.json next to this repository's files. */
export function packageVersion(url: URL): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(url, 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Yields each `[start, end)` chunk of `0..n`. */
export function* chunks(n: number, size: number): Generator<[number, number]> {
  for (let start = 0; start < n; start += size) {
    yield [start, Math.min(n, start + size)];
  }
}
