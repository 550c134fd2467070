import type { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BulkEnqueueError,
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
  RedisUnavailableError,
  type Logger,
} from '../src/index.ts';
import { startCluster, type TestCluster } from './helpers/redis-cluster.ts';
import type { RedisServer } from './helpers/redis-server.ts';
import { waitFor } from './helpers/wait.ts';

// Issue 13, items 15 and 16: one master of a three-master cluster (no
// replicas) is killed, so its slots are unserved. The cluster runs with
// cluster-require-full-coverage no, so the other masters keep serving
// their slots; the test switches it to yes (Redis's default) to see
// CLUSTERDOWN on every queue.

const CONNECT_TIMEOUT_MS = 1000;
// A bound on when a refusal arrives, not a speed: generous for a loaded
// machine, and still below ioredis's 16 redirection rounds on its own.
const REFUSAL_BOUND_MS = CONNECT_TIMEOUT_MS + 1500;
const quiet: Logger = { warn: () => {}, error: () => {} };

let c: TestCluster;
let victim: RedisServer;

beforeAll(async () => {
  c = await startCluster({ nodeTimeoutMs: 1000, fullCoverage: false });
  victim = c.nodes[0]!;
}, 90_000);

afterAll(async () => {
  await c?.stop();
});

interface Queues {
  down: string;
  up1: string;
  up2: string;
}

/** Fresh queue names: one on the victim, one on each other master. */
async function queuesFor(base: string): Promise<Queues> {
  return {
    down: await c.queueOn(victim, `${base}-down`),
    up1: await c.queueOn(c.nodes[1]!, `${base}-up1`),
    up2: await c.queueOn(c.nodes[2]!, `${base}-up2`),
  };
}

function registry(queues: Queues) {
  const payload = z.object({ n: z.number() });
  return defineJobs({
    onDown: job({ queue: queues.down, payload }),
    onUp1: job({ queue: queues.up1, payload }),
    onUp2: job({ queue: queues.up2, payload }),
  });
}

/** Runs `fn` and returns what it rejected with and how long that took. */
async function refusal(
  fn: () => Promise<unknown>,
): Promise<{ err: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    await fn();
  } catch (err) {
    return { err, ms: performance.now() - t0 };
  }
  throw new Error('expected a rejection');
}

function expectUnavailable(r: { err: unknown; ms: number }): void {
  expect(r.err).toBeInstanceOf(RedisUnavailableError);
  expect((r.err as JobwireError).code).toBe(ErrorCode.REDIS_UNAVAILABLE);
  expect(r.ms).toBeLessThan(REFUSAL_BOUND_MS);
}

let victimDown = false;

// A failed test must not leave the next one a broken cluster.
afterEach(async () => {
  if (victimDown) await restartVictim();
  for (const n of c.nodes)
    await c.cli(n, 'CONFIG', 'SET', 'cluster-require-full-coverage', 'no');
});

/** Kills the victim and waits until the live masters mark it failed. */
async function killVictim(): Promise<void> {
  victimDown = true;
  await victim.kill9();
  await waitFor(
    async () => (await c.cli(c.nodes[1]!, 'CLUSTER', 'NODES')).includes('fail'),
    30_000,
    'the killed master to be marked failed',
  );
}

/** Restarts the victim (same port and nodes.conf) and waits for the cluster. */
async function restartVictim(): Promise<void> {
  await victim.restart();
  victimDown = false;
  await c.waitForState('ok', 60_000);
}

/** Retries an enqueue until the cluster serves its slot again. */
async function enqueueWhenBack(enqueue: () => Promise<unknown>): Promise<void> {
  let last: unknown;
  await waitFor(
    () =>
      enqueue().then(
        () => true,
        (err: unknown) => {
          last = err;
          return false;
        },
      ),
    60_000,
    `an enqueue to succeed after recovery (last: ${String(last)})`,
  );
}

describe('Redis Cluster with a master down', () => {
  it('enqueues to the lost slot reject with RedisUnavailableError in time, health() tells, and both recover', async () => {
    const queues = await queuesFor('outage');
    const cluster: Cluster = c.client();
    const opts = {
      connection: cluster,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: quiet,
    };
    const queue = createQueue(registry(queues), opts);
    const ran: number[] = [];
    const worker = createWorker(
      registry(queues),
      {
        onDown: (j) => void ran.push(j.data.n),
        onUp1: () => {},
        onUp2: () => {},
      },
      { ...opts, blockTimeoutMs: 1000 },
    );
    try {
      await queue.enqueue('onDown', { n: 0 });
      await queue.enqueue('onUp1', { n: 0 });
      await waitFor(() => worker.health().ready, 30_000, 'worker ready');

      await killVictim();
      // Every enqueue to the lost slot: a coded error, within the bound.
      for (let round = 0; round < 3; round++) {
        const all = await Promise.all(
          Array.from({ length: 5 }, (_, n) =>
            refusal(() => queue.enqueue('onDown', { n })),
          ),
        );
        for (const r of all) expectUnavailable(r);
      }
      // Documented: other masters' queues keep working (full coverage off).
      await queue.enqueue('onUp1', { n: 1 });
      await queue.enqueue('onUp2', { n: 1 });
      await waitFor(
        () => !worker.health().ready,
        30_000,
        'health() to report not ready',
      );
      const entry = worker
        .health()
        .connections.find((e) => e.queue === queues.down);
      expect(entry?.reachable).toBe(false);

      await restartVictim();
      await enqueueWhenBack(() => queue.enqueue('onUp1', { n: 3 }));
      await enqueueWhenBack(() => queue.enqueue('onDown', { n: 42 }));
      await waitFor(
        () => ran.includes(42),
        60_000,
        'a job on the healed slot to run',
      );
      await waitFor(
        () => worker.health().ready,
        60_000,
        'health() to report ready again',
      );

      // With full coverage required (Redis's default), once the lost master
      // is marked failed the cluster declares itself down (CLUSTERDOWN):
      // every queue is refused, with the same coded error, in time.
      for (const n of c.nodes.slice(1))
        await c.cli(n, 'CONFIG', 'SET', 'cluster-require-full-coverage', 'yes');
      await killVictim();
      await c.waitForState('fail');
      for (const name of ['onUp1', 'onUp2', 'onDown'] as const)
        expectUnavailable(await refusal(() => queue.enqueue(name, { n: 2 })));
      await waitFor(
        () => !worker.health().ready,
        30_000,
        'health() to report not ready while the cluster is down',
      );
      await restartVictim();
      for (const n of c.nodes.slice(1))
        await c.cli(n, 'CONFIG', 'SET', 'cluster-require-full-coverage', 'no');
      await enqueueWhenBack(() => queue.enqueue('onUp2', { n: 3 }));
      await enqueueWhenBack(() => queue.enqueue('onDown', { n: 43 }));
      await waitFor(
        () => ran.includes(43),
        60_000,
        'a job to run after CLUSTERDOWN',
      );
      await waitFor(
        () => worker.health().ready,
        60_000,
        'health() to report ready after CLUSTERDOWN',
      );
    } finally {
      await worker.close();
      await queue.close();
      await cluster.quit();
    }
  }, 180_000);

  it('a bulk enqueue across queues stores the healthy queues, and says per item what was stored', async () => {
    const queues = await queuesFor('bulk');
    const cluster: Cluster = c.client();
    const queue = createQueue(registry(queues), {
      connection: cluster,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      logger: quiet,
    });
    const names = ['onDown', 'onUp1', 'onUp2'] as const;
    const items = Array.from({ length: 300 }, (_, n) => ({
      name: names[n % 3]!,
      payload: { n },
    }));
    try {
      await queue.enqueue('onDown', { n: -1 });
      await killVictim();
      const { err } = await refusal(() => queue.enqueueBulk(items));
      expect(err).toBeInstanceOf(BulkEnqueueError);
      expect(err).toBeInstanceOf(JobwireError);
      const bulk = err as BulkEnqueueError;
      expect(bulk.code).toBe(ErrorCode.BULK_PARTIAL);
      expect(bulk.outcomes).toHaveLength(300);
      const down = items.flatMap((it, i) => (it.name === 'onDown' ? [i] : []));
      expect(bulk.failedIndexes).toEqual(down);
      for (const [i, o] of bulk.outcomes.entries()) {
        if (items[i]!.name === 'onDown') {
          expect(o.ok).toBe(false);
          if (!o.ok)
            expect((o.error as JobwireError).code).toBe(
              ErrorCode.REDIS_UNAVAILABLE,
            );
        } else {
          expect(o.ok).toBe(true);
          // Each stored item is in Redis, under its reported id.
          if (o.ok) {
            const info = await queue.getJob(o.handle.id, {
              queue: o.handle.queue,
            });
            expect(info?.data).toEqual(items[i]!.payload);
          }
        }
      }
      const counts = await Promise.all(
        [queues.up1, queues.up2].map((q) => queue.getCounts({ queue: q })),
      );
      expect(counts.map((k) => k.waiting)).toEqual([100, 100]);

      // The caller retries exactly the failed items once the node is back.
      await restartVictim();
      await enqueueWhenBack(() => queue.enqueue('onDown', { n: -2 }));
      const retried = await queue.enqueueBulk(
        bulk.failedIndexes.map((i) => items[i]!),
      );
      expect(retried).toHaveLength(100);
      const all = await Promise.all(
        Object.values(queues).map((q) => queue.getCounts({ queue: q })),
      );
      // The restarted node came back empty (no persistence): its queue holds
      // the retried items and the probe enqueue.
      expect(all.map((k) => k.waiting)).toEqual([101, 100, 100]);
    } finally {
      await queue.close();
      await cluster.quit();
    }
  }, 180_000);
});
