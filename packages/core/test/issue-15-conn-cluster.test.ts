import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  ErrorCode,
  job,
  JobwireError,
  type Logger,
} from '../src/index.ts';
import { startCluster, type TestCluster } from './helpers/redis-cluster.ts';
import type { RedisServer } from './helpers/redis-server.ts';
import { fastWorkerSettings, sleep, waitFor } from './helpers/wait.ts';

// During a Redis Cluster failover a worker's `error` event carried ioredis's
// own errors ("Too many Cluster redirections. Last error: CLUSTERDOWN …",
// MOVED, ClusterAllFailedError), with no `code`, so a listener filtering on
// `code` missed them. Three masters, each with a replica; the master of the
// queue's slot is killed and, once the worker has seen the outage, its
// replica takes over.

const quiet: Logger = { warn: () => {}, error: () => {} };

let cluster: TestCluster;
let nodes: RedisServer[] = [];
const clients: Cluster[] = [];

function clusterClient(options: { lazyConnect?: boolean } = {}): Cluster {
  const client = new Cluster(
    nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    options,
  );
  clients.push(client);
  return client;
}

/** The port of the master serving `queue`'s slot, as `via` sees it. */
function masterOf(via: RedisServer, queue: string): Promise<number> {
  return cluster.masterOf(via, queue);
}

beforeAll(async () => {
  cluster = await startCluster({ replicas: 1, nodeTimeoutMs: 1000 });
  nodes = cluster.nodes;
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster.stop();
  nodes = [];
});

describe('a Cluster client created with lazyConnect', () => {
  it('is connected by a queue and by a worker', async () => {
    const queueName = `conn-lazy-${Date.now()}`;
    const registry = defineJobs({
      echo: job({
        queue: queueName,
        payload: z.object({ n: z.number() }),
        result: z.object({ n: z.number() }),
      }),
    });
    const queue = createQueue(registry, {
      connection: clusterClient({ lazyConnect: true }),
      logger: quiet,
    });
    const worker = createWorker(
      registry,
      { echo: (j) => ({ n: j.data.n }) },
      {
        connection: clusterClient({ lazyConnect: true }),
        strictRedisConfig: true,
        logger: quiet,
        ...fastWorkerSettings,
      },
    );
    try {
      const handle = await queue.enqueue('echo', { n: 5 });
      await worker.ready;
      expect(await handle.finished()).toEqual({ n: 5 });
    } finally {
      await worker.close();
      await queue.close();
    }
  }, 60_000);
});

describe('a worker during a Redis Cluster failover', () => {
  it("reports coded errors (REDIS_UNAVAILABLE, ioredis's error as cause)", async () => {
    const queueName = `conn-failover-${Date.now()}`;
    const registry = defineJobs({
      hold: job({ queue: queueName, payload: z.object({ n: z.number() }) }),
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const queue = createQueue(registry, {
      connection: clusterClient(),
      logger: quiet,
    });
    const worker = createWorker(
      registry,
      { hold: () => held },
      {
        connection: clusterClient(),
        logger: quiet,
        concurrency: 2,
        ...fastWorkerSettings,
      },
    );
    const errors: Error[] = [];
    worker.on('error', (err) => errors.push(err));
    try {
      await queue.enqueue('hold', { n: 1 });
      await queue.enqueue('hold', { n: 2 });
      // Running jobs: their leases are renewed every few hundred ms.
      await waitFor(() => worker.running === 2, 10_000, 'two jobs running');
      const victimPort = await masterOf(nodes[0]!, queueName);
      const victim = nodes.find((n) => n.port === victimPort)!;
      const witness = nodes.find((n) => n !== victim)!;
      // The replica is held (SIGSTOP) until the worker has reported errors:
      // a quick failover can otherwise hide the outage from the worker
      // altogether, and the test would have nothing to check.
      const replica = await cluster.replicaOf(witness, victimPort);
      process.kill(replica.pid, 'SIGSTOP');
      try {
        await victim.kill9();
        await waitFor(
          () => errors.length > 0,
          30_000,
          'the worker reported errors while the slot had no master',
        );
      } finally {
        process.kill(replica.pid, 'SIGCONT');
      }
      const reportedInOutage = errors.length;
      await waitFor(
        async () => {
          const now = await masterOf(witness, queueName);
          return now !== 0 && now !== victimPort;
        },
        60_000,
        'the replica took over',
      );
      await sleep(500);
      const uncoded = errors.filter((e) => !(e instanceof JobwireError));
      expect(
        uncoded.map((e) => `${e.name}: ${e.message}`),
        'errors without a code',
      ).toEqual([]);
      const fromIoredis = errors.filter(
        (e) => e.cause instanceof Error && !(e.cause instanceof JobwireError),
      );
      expect(reportedInOutage).toBeGreaterThan(0);
      expect(fromIoredis.length).toBeGreaterThan(0);
      for (const e of fromIoredis)
        expect((e as JobwireError).code).toBe(ErrorCode.REDIS_UNAVAILABLE);
    } finally {
      release();
      await worker.close();
      await queue.close();
    }
  }, 150_000);
});
