import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type Logger,
} from '../src/index.ts';
import { startCluster, type TestCluster } from './helpers/redis-cluster.ts';
import type { RedisServer } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

// After a Redis Cluster failover, a busy worker's health() reported
// `ready: false` for good. A saturated worker leases through its completion
// calls on the command client and makes no call on its blocking client (a
// Cluster client of its own), so that client's slot table kept pointing at
// the dead master and its slot read as down, while the worker went on
// completing jobs on the new master. A readiness or liveness probe on
// health() then pulled or restarted a worker that worked. The master of
// the queue's slot is killed and its replica takes over.
//
// Re-reading a slot table while the master is still down (no replica took
// over) re-creates that master as a lazy, unconnected node, which read as
// "not known yet", so health() said ready on about half its calls during
// such an outage; the second test holds it to not ready on every call.

const quiet: Logger = { warn: () => {}, error: () => {} };

let cluster: TestCluster;
let nodes: RedisServer[] = [];
const clients: Cluster[] = [];

function clusterClient(): Cluster {
  const client = new Cluster(
    nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
  );
  clients.push(client);
  return client;
}

/** The port of the master serving `queue`'s slot, as `via` sees it. */
function masterOf(via: RedisServer, queue: string): Promise<number> {
  return cluster.masterOf(via, queue);
}

describe('a busy worker after a Redis Cluster failover', () => {
  // Three masters, each with a replica.
  beforeAll(async () => {
    cluster = await startCluster({ replicas: 1, nodeTimeoutMs: 1000 });
    nodes = cluster.nodes;
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await cluster.stop();
    nodes = [];
  });

  it('reports ready again within seconds once it completes jobs on the new master', async () => {
    const queueName = `cluster-health-${Date.now()}`;
    const registry = defineJobs({
      work: job({ queue: queueName, payload: z.object({ n: z.number() }) }),
    });
    const concurrency = 4;
    const total = 6000;
    let completed = 0;
    const queue = createQueue(registry, {
      connection: clusterClient(),
      logger: quiet,
    });
    const worker = createWorker(
      registry,
      {
        work: async () => {
          await sleep(20);
          completed++;
        },
      },
      {
        connection: clusterClient(),
        logger: quiet,
        concurrency,
        ...fastWorkerSettings,
      },
    );
    worker.on('error', () => {});
    try {
      // A backlog that outlasts the test: the worker stays saturated, so
      // it leases through its completions and never blocks for work.
      for (let i = 0; i < total; i += 1000) {
        await queue.enqueueBulk(
          Array.from({ length: 1000 }, (_, j) => ({
            name: 'work' as const,
            payload: { n: i + j },
          })),
        );
      }
      await waitFor(
        () => completed >= 50 && worker.health().ready,
        20_000,
        'the worker busy and ready',
      );
      const victimPort = await masterOf(nodes[0]!, queueName);
      const victim = nodes.find((n) => n.port === victimPort)!;
      const witness = nodes.find((n) => n !== victim)!;
      await victim.kill9();
      await waitFor(
        async () => {
          const now = await masterOf(witness, queueName);
          return now !== 0 && now !== victimPort;
        },
        30_000,
        'the replica took over',
      );
      // The worker works on the new master: it completes jobs again.
      const before = completed;
      await waitFor(
        () => completed >= before + 20,
        30_000,
        'jobs completed on the new master',
      );
      const recoveredAt = Date.now();
      // A probe polling health() sees it ready again within a few seconds.
      let readyAfterMs = -1;
      while (Date.now() - recoveredAt < 5000) {
        if (worker.health().ready) {
          readyAfterMs = Date.now() - recoveredAt;
          break;
        }
        await sleep(100);
      }
      expect(
        readyAfterMs,
        `health() after recovery: ${JSON.stringify(worker.health())}`,
      ).toBeGreaterThanOrEqual(0);
      // The worker was still saturated: the backlog was not used up.
      expect(completed).toBeLessThan(total);
      // And it stays ready.
      await sleep(500);
      expect(worker.health().ready).toBe(true);
    } finally {
      await worker.close({ deadlineMs: 2000 });
      await queue.close();
    }
  }, 120_000);
});

describe('a busy worker while a Redis Cluster master is down for good', () => {
  it('reports not ready on every call: re-reading the slot table does not make it look served', async () => {
    const c = await startCluster({ nodeTimeoutMs: 1000, fullCoverage: false });
    const victim = c.nodes[0]!;
    const queueName = await c.queueOn(victim, `cluster-outage-${Date.now()}`);
    const registry = defineJobs({
      hold: job({ queue: queueName, payload: z.object({ n: z.number() }) }),
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const queueClient = c.client();
    const workerClient = c.client();
    const queue = createQueue(registry, {
      connection: queueClient,
      logger: quiet,
    });
    const worker = createWorker(
      registry,
      { hold: () => held },
      {
        connection: workerClient,
        logger: quiet,
        concurrency: 2,
        ...fastWorkerSettings,
      },
    );
    worker.on('error', () => {});
    try {
      await queue.enqueue('hold', { n: 1 });
      await queue.enqueue('hold', { n: 2 });
      await waitFor(
        () => worker.running === 2 && worker.health().ready,
        10_000,
        'two jobs running and the worker ready',
      );
      await victim.kill9();
      await waitFor(
        () => !worker.health().ready,
        10_000,
        'health() to report not ready',
      );
      let readings = 0;
      let readyReadings = 0;
      const until = Date.now() + 3000;
      while (Date.now() < until) {
        readings++;
        if (worker.health().ready) readyReadings++;
        await sleep(10);
      }
      expect(readyReadings, `ready in ${readyReadings} of ${readings}`).toBe(0);
    } finally {
      release();
      await worker.close({ deadlineMs: 1000 });
      await queue.close();
      queueClient.disconnect();
      workerClient.disconnect();
      await c.stop();
    }
  }, 120_000);
});
