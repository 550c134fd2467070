/**
 * The real side of the model-based test: one queue on a real redis-server
 * (AOF, fsync always), a producer, and up to two controlled workers.
 *
 * A controlled worker runs one job at a time, takes a job only when told
 * (it is paused otherwise), and its handler waits on a promise the test
 * settles: so the model can say which job it holds. It reaches Redis
 * through its own TCP forwarder and its own ioredis client, so it can be
 * frozen (the forwarder goes silent, then heals) or crashed (the client is
 * cut for good, as a SIGKILLed process would leave it). Nothing runs a
 * stall check on its own: the test runs one when it says so.
 */
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type Job,
  type Queue,
  type Worker,
} from '../../src/index.ts';
import { startForwarder, type Forwarder } from '../faults/harness/forwarder.ts';
import type { RedisServer } from '@jobwire/test-kit';
import type { TypeName } from './model.ts';
import { EventFollower } from './event-follower.ts';
import { MultiQueue } from './multi-queue.ts';

export const PREFIX = 'jobwire';
/** Lease of every controlled worker: renewed every third of it. */
export const LEASE_MS = 500;
/** Never fires within a run: stall checks are the test's own steps. */
const NEVER_MS = 1e9;
/** A close deadline that ends no run, and one that ends at once. */
export const LONG_DEADLINE_MS = 30_000;
export const SHORT_DEADLINE_MS = 30;

const quiet = { warn: () => {}, error: () => {} };
export const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

export function modelRegistry(queue: string) {
  const payload = z.object({ n: z.number().int() });
  const result = z.object({ n: z.number().int() });
  // Retries wait a minute: longer than any run, so they stay delayed
  // until promoted.
  const backoff = { type: 'fixed', delayMs: 60_000 } as const;
  return defineJobs({
    charge: job({
      queue,
      payload,
      result,
      backoff,
      retention: { completed: true, failed: true },
    }),
    ping: job({
      queue,
      payload,
      result,
      backoff,
      retention: { completed: { count: 1 }, failed: { count: 1 } },
    }),
    // Returns nothing, as its optional result schema allows. At contract
    // version 2, so its jobs wait in their own lane (w:note@2).
    note: job({
      queue,
      version: 2,
      upcast: { 1: { from: payload, to: (old) => old } },
      payload,
      result: result.optional(),
      backoff,
      retention: { completed: false, failed: { count: 2 } },
    }),
  });
}
export type ModelJobs = ReturnType<typeof modelRegistry>['jobs'];

/** The handler call a controlled worker is blocked in. */
export interface HeldCall {
  id: string;
  complete(): void;
  fail(err: Error): void;
}

/** One controlled worker. */
export class Slot {
  held: HeldCall | undefined;
  calls = 0;
  closing: Promise<void> | undefined;
  frozen = false;

  constructor(
    readonly worker: Worker<ModelJobs>,
    readonly client: Redis,
    readonly fwd: Forwarder,
  ) {}
}

/** Polls `cond` every 5 ms; false once `timeoutMs` passed. */
export async function poll(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await cond()) return true;
    } catch {
      /* Redis restarting: not yet */
    }
    if (Date.now() > until) return false;
    await sleep(5);
  }
}

/** Starts a worker (made with autorun false) that takes nothing yet. */
async function runPaused(worker: Worker<ModelJobs>): Promise<void> {
  // pause() cuts the blocking connection; cut before it connected, it
  // would stay closed.
  await poll(
    () => worker.health().connections.every((c) => c.blocking === 'ready'),
    5000,
  );
  worker.pause();
  worker.run();
}

/**
 * close() once the blocking connection is back from pause()'s cut: cut
 * again while its reconnect is pending, ioredis never reports it ended
 * (the leak check then counts it as open).
 */
async function closeWorker(
  worker: Worker<ModelJobs>,
  deadlineMs: number,
): Promise<void> {
  await poll(
    () => worker.health().connections.every((c) => c.blocking === 'ready'),
    5000,
  );
  return worker.close({ deadlineMs });
}

export class System {
  readonly slots: (Slot | undefined)[] = [undefined, undefined];
  /** Crashed and closed workers, shut for good at the end of the run. */
  private readonly graveyard: Slot[] = [];
  readonly base: string;
  readonly registry: ReturnType<typeof modelRegistry>;
  readonly q: Queue<ModelJobs>;
  /** The multi-queue worker's side, made on first use (multi-queue.ts). */
  private multiQueue: MultiQueue | undefined;
  /** Follows the queue's event log for the whole run (event-follower.ts). */
  readonly events: EventFollower;

  private constructor(
    readonly server: RedisServer,
    readonly admin: Redis,
    readonly queue: string,
  ) {
    this.base = `${PREFIX}:{${queue}}:`;
    this.events = new EventFollower(server.url, queue);
    this.registry = modelRegistry(queue);
    this.q = createQueue(this.registry, {
      connection: server.url,
      connectTimeoutMs: 5000,
      logger: quiet,
    });
  }

  /** A fresh queue on an emptied server. */
  static async open(
    server: RedisServer,
    admin: Redis,
    queue: string,
  ): Promise<System> {
    await admin.flushall();
    const sys = new System(server, admin, queue);
    // Held for good: only the test's own stall checks run (see stallCheck).
    await admin.set(sys.stallLock, '1', 'PX', NEVER_MS);
    await sys.events.start();
    return sys;
  }

  get multi(): MultiQueue {
    this.multiQueue ??= new MultiQueue(this.server, this.queue);
    return this.multiQueue;
  }

  /** Key prefixes of the multi-queue's queues, once it exists. */
  get multiPrefixes(): string[] {
    return this.multiQueue?.prefixes(PREFIX) ?? [];
  }

  get stallLock(): string {
    return `${this.base}stall-lock`;
  }

  /** Starts a paused controlled worker in slot `i`. */
  async startSlot(i: number): Promise<Slot> {
    const fwd = await startForwarder(this.server.port);
    const client = new Redis(fwd.port, '127.0.0.1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: () => 50,
    });
    client.on('error', () => {});
    // The handler needs its slot, which needs the worker.
    const ref: { slot?: Slot } = {};
    const handler = (j: Job<{ n: number }, number>) =>
      new Promise<{ n: number } | undefined>((resolve, reject) => {
        const slot = ref.slot!;
        slot.calls++;
        slot.held = {
          id: j.id,
          complete: () =>
            resolve(j.name === 'note' ? undefined : { n: j.data.n }),
          fail: reject,
        };
      });
    const worker = createWorker(
      this.registry,
      {
        charge: handler as (
          j: Job<{ n: number }, number>,
        ) => Promise<{ n: number }>,
        ping: handler as (
          j: Job<{ n: number }, number>,
        ) => Promise<{ n: number }>,
        note: handler,
      },
      {
        connection: client,
        autorun: false,
        concurrency: 1,
        prefetch: 0,
        leaseMs: LEASE_MS,
        stallCheckIntervalMs: NEVER_MS,
        blockTimeoutMs: 100,
        maxStalls: 1,
        logger: quiet,
      },
    );
    worker.on('error', () => {});
    const slot = new Slot(worker, client, fwd);
    ref.slot = slot;
    this.slots[i] = slot;
    await runPaused(worker);
    if (!(await poll(() => worker.health().ready, 5000)))
      throw new Error(
        `slot ${i}: worker not ready: ${JSON.stringify(worker.health())}`,
      );
    return slot;
  }

  /**
   * Lets slot `i` fetch once: resumes it until its handler is called or
   * `settled()` says the fetch is over, then pauses it. Returns the id it
   * took, and the client-clock window the fetch ran in.
   */
  async take(
    i: number,
    settled: () => Promise<boolean>,
  ): Promise<{ id: string | undefined; window: [number, number] }> {
    const slot = this.slots[i] ?? (await this.startSlot(i));
    const before = slot.calls;
    const t0 = Date.now();
    slot.worker.resume();
    await poll(async () => slot.calls > before || (await settled()), 3000);
    slot.worker.pause();
    const t1 = Date.now();
    return {
      id: slot.calls > before ? slot.held?.id : undefined,
      window: [t0, t1],
    };
  }

  /** Settles the held call and waits until its outcome is written. */
  async settle(i: number, how: 'complete' | Error): Promise<void> {
    const slot = this.slots[i]!;
    const held = slot.held!;
    slot.held = undefined;
    if (how === 'complete') held.complete();
    else held.fail(how);
    if (!(await poll(() => slot.worker.running === 0, 10_000)))
      throw new Error(`slot ${i}: the outcome of ${held.id} was never written`);
    if (slot.closing !== undefined) {
      await slot.closing;
      this.bury(i);
    }
  }

  /** Cuts slot `i` off for good, as a SIGKILL would: no write follows. */
  crash(i: number): void {
    const slot = this.slots[i]!;
    slot.client.disconnect();
    slot.fwd.reset();
    this.bury(i);
  }

  freeze(i: number): void {
    const slot = this.slots[i]!;
    slot.frozen = true;
    slot.fwd.blackhole();
  }

  /**
   * Heals slot `i`. When its job was taken over, its late writes must be
   * refused: the stale call is let go and must end without an outcome.
   * Otherwise it must renew its lease again.
   */
  async thaw(i: number, takenOver: boolean): Promise<string | undefined> {
    const slot = this.slots[i]!;
    slot.frozen = false;
    slot.fwd.heal();
    const held = slot.held;
    if (held === undefined) return undefined;
    if (takenOver) {
      slot.held = undefined;
      held.complete();
      if (!(await poll(() => slot.worker.running === 0, 10_000)))
        return `slot ${i}: the stale run of ${held.id} never ended after the thaw`;
      return undefined;
    }
    const renewed = await poll(async () => {
      const score = await this.admin.zscore(`${this.base}active`, held.id);
      return score !== null && Number(score) > Date.now() + LEASE_MS / 2;
    }, 5000);
    return renewed
      ? undefined
      : `slot ${i}: no lease renewal of ${held.id} after the thaw`;
  }

  /** Starts close() with a deadline; awaits it unless a held job keeps it open. */
  async close(i: number, deadlineMs: number): Promise<void> {
    const slot = this.slots[i]!;
    slot.closing = closeWorker(slot.worker, deadlineMs);
    if (slot.held === undefined || deadlineMs < LONG_DEADLINE_MS) {
      await slot.closing;
      // Past the deadline the job went back: let the aborted call end.
      slot.held?.complete();
      slot.held = undefined;
      this.bury(i);
    }
  }

  private bury(i: number): void {
    this.graveyard.push(this.slots[i]!);
    this.slots[i] = undefined;
  }

  /** One stall check, run now by a worker of its own. */
  async stallCheck(): Promise<void> {
    await this.admin.del(this.stallLock);
    const checker = createWorker(
      this.registry,
      {
        charge: () => ({ n: 0 }),
        ping: () => ({ n: 0 }),
        note: () => undefined,
      },
      {
        connection: this.server.url,
        autorun: false,
        stallCheckIntervalMs: NEVER_MS,
        maxStalls: 1,
        logger: quiet,
      },
    );
    checker.on('error', () => {});
    await runPaused(checker);
    try {
      // The script takes the lock first, in the same atomic run.
      if (
        !(await poll(
          async () => (await this.admin.exists(this.stallLock)) === 1,
          5000,
        ))
      )
        throw new Error('the stall check never ran');
    } finally {
      await closeWorker(checker, 0);
    }
  }

  /** kill -9 and restart Redis (same port and dir), then wait for everyone. */
  async restartRedis(): Promise<void> {
    await this.server.restart();
    await poll(async () => (await this.q.getCounts(), true), 10_000);
    for (const slot of this.slots) {
      if (slot === undefined || slot.frozen || slot.closing) continue;
      await poll(() => slot.worker.health().ready, 10_000);
    }
    await this.multiQueue?.ready(10_000);
    // One renewal round, so no live lease lapsed across the outage.
    await sleep(LEASE_MS / 3 + 100);
  }

  /** Ends every worker and the producer. */
  async shutdown(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[i];
      if (slot === undefined) continue;
      if (slot.frozen) slot.fwd.heal();
      this.bury(i);
    }
    for (const slot of this.graveyard) {
      const closing = slot.closing ?? closeWorker(slot.worker, 0);
      slot.held?.complete();
      await closing;
      slot.client.disconnect();
      await slot.fwd.close();
    }
    await this.q.close();
    await this.multiQueue?.shutdown();
    await this.events.stop();
  }

  get eventsKey(): string {
    return `${this.base}events`;
  }

  // ----- raw reads for the checks (never through jobwire) -----

  /** Every job id with a hash, and its type and state letter. */
  async rawJobs(): Promise<Map<string, { n: string; s: string }>> {
    const out = new Map<string, { n: string; s: string }>();
    let cursor = '0';
    const keys: string[] = [];
    do {
      const [next, batch] = await this.admin.scan(
        cursor,
        'MATCH',
        `${this.base}j:*`,
        'COUNT',
        1000,
      );
      cursor = next;
      keys.push(...batch.filter((k) => !k.endsWith(':log')));
    } while (cursor !== '0');
    for (const k of keys) {
      const [n, s] = await this.admin.hmget(k, 'n', 's');
      out.set(k.slice(`${this.base}j:`.length), { n: n ?? '', s: s ?? '' });
    }
    return out;
  }

  async payloadOf(id: string): Promise<unknown> {
    const raw = await this.admin.get(`${this.base}p:${id}`);
    return raw === null ? undefined : (JSON.parse(raw) as unknown);
  }
}

export function typeOf(name: string): TypeName {
  return name as TypeName;
}
