/**
 * The multi-queue part of the model-based test: one worker serving two
 * queues (autorun, two slots, a 5 s blockTimeoutMs), fed by a producer of
 * its own. Such a worker waits on its markers with no slots held and
 * leases after it wakes (two hops, queue-consumer.ts). The model checks
 * that every job it is given ends, completed, and that each is picked up
 * within PICKUP_MS of its enqueue: a worker that waited out its block
 * timeout instead (the 4-5 s late pickup of a job enqueued shortly after
 * the worker's last completion, fixed in 2769ca0) breaks the bound.
 *
 * Its queues live on the model's redis-server, so Redis restarts reach
 * this worker too; jobs in flight across one get RECOVERY_MS instead.
 */
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type Queue,
  type Worker,
} from '../../src/index.ts';
import type { RedisServer } from '@jobwire/test-kit';
import type { Tracker } from './model.ts';

/** Generous: pickup takes milliseconds; the old defect took 4-5 s. */
export const PICKUP_MS = 1500;
/** The worker's wait on its markers: a pickup that waits it out is late. */
const BLOCK_TIMEOUT_MS = 5000;
/** Lease and stall check short enough that a lost ack is redone in time. */
const LEASE_MS = 2000;
const STALL_CHECK_MS = 1000;
/**
 * A Redis restart disturbs pickups for RESTART_SHADOW_MS after it (the
 * fetch loop backs off up to 2 s after failed calls): a job enqueued or
 * waiting then has RECOVERY_MS (reconnects, back-off, a lost ack redone
 * after a stall).
 */
export const RESTART_SHADOW_MS = 3000;
export const RECOVERY_MS = 12_000;

export type MqQueue = 'a' | 'b';
const TYPE_OF = { a: 'mqa', b: 'mqb' } as const;

const quiet = { warn: () => {}, error: () => {} };
const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

/**
 * Two queues, one type each: `mqa` keeps its completed jobs (the default
 * rule), `mqb` removes them at once.
 */
export function multiRegistry(queue: string) {
  const payload = z.object({ n: z.number().int(), ms: z.number().int() });
  return defineJobs({
    mqa: job({ queue: `${queue}-a`, payload }),
    mqb: job({
      queue: `${queue}-b`,
      payload,
      retention: { completed: false },
    }),
  });
}
type MultiJobs = ReturnType<typeof multiRegistry>['jobs'];

/** A job given to the multi-queue worker, as the model sees it. */
export interface MqJob {
  id: string;
  queue: MqQueue;
  /** Client-clock window of the enqueue call. */
  enqueued: [number, number];
  tracker: Tracker;
  /** A late pickup was reported: once is enough. */
  reported?: boolean;
}

/** The real side: the worker, its producer, and when each job first started. */
export class MultiQueue {
  /** Client-clock time each job's handler was first called. */
  readonly started = new Map<string, number>();
  readonly q: Queue<MultiJobs>;
  private worker: Worker<MultiJobs> | undefined;

  constructor(
    private readonly server: RedisServer,
    readonly queue: string,
  ) {
    this.q = createQueue(multiRegistry(queue), {
      connection: server.url,
      connectTimeoutMs: 5000,
      logger: quiet,
    });
  }

  /** Key prefixes of the two queues (outside the model queue's own). */
  prefixes(prefix: string): string[] {
    return [`${prefix}:{${this.queue}-a}:`, `${prefix}:{${this.queue}-b}:`];
  }

  /** Starts the worker, once, and waits until it is ready. */
  async ensureWorker(): Promise<void> {
    if (this.worker !== undefined) return;
    const handler = async (j: { id: string; data: { ms: number } }) => {
      if (!this.started.has(j.id)) this.started.set(j.id, Date.now());
      if (j.data.ms > 0) await sleep(j.data.ms);
    };
    this.worker = createWorker(
      multiRegistry(this.queue),
      { mqa: handler, mqb: handler },
      {
        connection: this.server.url,
        concurrency: 2,
        blockTimeoutMs: BLOCK_TIMEOUT_MS,
        leaseMs: LEASE_MS,
        stallCheckIntervalMs: STALL_CHECK_MS,
        logger: quiet,
      },
    );
    this.worker.on('error', () => {});
    if (!(await this.ready(10_000)))
      throw new Error(
        `multi-queue worker not ready: ${JSON.stringify(this.worker.health())}`,
      );
  }

  /** Whether the worker (if any) is ready within `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    const worker = this.worker;
    if (worker === undefined) return true;
    const until = Date.now() + timeoutMs;
    while (!worker.health().ready) {
      if (Date.now() > until) return false;
      await sleep(10);
    }
    return true;
  }

  /** Enqueues `count` jobs to each named queue in one call (bulk when several). */
  async enqueue(
    queues: MqQueue[],
    count: number,
    ms: number,
    nextN: () => number,
  ): Promise<{ id: string; queue: MqQueue; tracker: Promise<unknown> }[]> {
    const items = queues.flatMap((queue) =>
      Array.from({ length: count }, () => ({
        queue,
        name: TYPE_OF[queue],
        payload: { n: nextN(), ms },
      })),
    );
    if (items.length === 1) {
      const it = items[0]!;
      const h = await this.q.enqueue(it.name, it.payload);
      return [{ id: h.id, queue: it.queue, tracker: h.finished() }];
    }
    const handles = await this.q.enqueueBulk(
      items.map(({ name, payload }) => ({ name, payload })),
    );
    return handles.map((h, i) => ({
      id: h.id,
      queue: items[i]!.queue,
      tracker: h.finished(),
    }));
  }

  /** What getCounts() says of the two types. */
  async counts(): Promise<Record<string, Record<string, number>>> {
    return (await this.q.getCounts()).byType as Record<
      string,
      Record<string, number>
    >;
  }

  async shutdown(): Promise<void> {
    await this.worker?.close({ deadlineMs: 0 });
    await this.q.close();
  }
}

/** Where MQ_TYPE names a queue's type, for the checks. */
export const MQ_TYPE = TYPE_OF;

/**
 * Pickup within PICKUP_MS of the enqueue's acknowledgement, unless a Redis
 * restart fell between the enqueue and the start (then RECOVERY_MS).
 */
export function checkPickups(
  jobs: MqJob[],
  started: ReadonlyMap<string, number>,
  disturbed: readonly [number, number][],
  v: string[],
): void {
  const now = Date.now();
  for (const j of jobs) {
    if (j.reported === true) continue;
    const start = started.get(j.id);
    const from = j.enqueued[0];
    const to = start ?? now;
    const hit = disturbed.some(([a, b]) => a <= to && b >= from);
    const bound = hit ? RECOVERY_MS : PICKUP_MS;
    const waited = to - j.enqueued[1];
    if (waited <= bound) continue;
    j.reported = true;
    v.push(
      `multi-queue worker: ${j.id} (queue ${j.queue}) ${start === undefined ? 'not picked up' : 'picked up'} after ${waited} ms, bound ${bound} ms${hit ? ' (a Redis restart fell in between)' : ' (late pickup after a completion: 2769ca0)'}`,
    );
  }
}

/**
 * Every job ends, completed: waits up to `timeoutMs` for their finished()
 * calls, then compares getCounts() (mqa keeps its completed jobs, mqb none).
 */
export async function checkAllEnded(
  jobs: MqJob[],
  mq: MultiQueue,
  timeoutMs: number,
  v: string[],
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const j of jobs) {
    if (j.tracker.settled === undefined)
      await Promise.race([
        j.tracker.promise,
        sleep(Math.max(0, until - Date.now())),
      ]);
    const s = j.tracker.settled;
    if (s === undefined)
      v.push(
        `multi-queue worker: ${j.id} (queue ${j.queue}) has not ended ${timeoutMs} ms on`,
      );
    else if (!s.ok)
      v.push(
        `multi-queue worker: finished() of ${j.id} (queue ${j.queue}) rejected with ${s.code}`,
      );
  }
  if (v.length > 0) return;
  const got = await mq.counts();
  const want = {
    mqa: { completed: jobs.filter((j) => j.queue === 'a').length },
    mqb: { completed: 0 },
  };
  for (const [type, w] of Object.entries(want)) {
    const g = got[type] ?? {};
    for (const state of Object.keys({ ...g, completed: 0 })) {
      const n = g[state] ?? 0;
      const expected = state === 'completed' ? w.completed : 0;
      if (n !== expected)
        v.push(
          `multi-queue getCounts(): ${type} ${state} is ${n}, want ${expected}`,
        );
    }
  }
}

/** Keys of the multi-queue's queues are not the model queue's strays. */
export function isMultiQueueKey(
  violation: string,
  prefixes: string[],
): boolean {
  const key = /^key outside .*: (.*)$/.exec(violation)?.[1];
  return key !== undefined && prefixes.some((p) => key.startsWith(p));
}
