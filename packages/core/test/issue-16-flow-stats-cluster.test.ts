/**
 * Issue 16, observable: getFlowStats on Redis Cluster. Its reads are
 * pipelines of one queue's keys (one slot), so a cluster must serve them
 * as a single Redis does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { seedFlowType, tenantSeed } from './helpers/flow-layout.ts';
import { startCluster, type TestCluster } from './helpers/redis-cluster.ts';
import { uniqueQueue } from './helpers/redis-server.ts';

let c: TestCluster;

beforeAll(async () => {
  c = await startCluster();
}, 60_000);

afterAll(async () => {
  await c?.stop();
});

describe('getFlowStats on Redis Cluster (issue 16)', () => {
  it('reads every queue of the registry, each from its own slot', async () => {
    const queues = [uniqueQueue('fa'), uniqueQueue('fb'), uniqueQueue('fc')];
    const payload = z.object({ n: z.number() });
    const jobs = defineJobs({
      send: job({ queue: queues[0]!, payload }),
      b: job({ queue: queues[1]!, payload }),
      c: job({ queue: queues[2]!, payload }),
    });
    const cluster = c.client();
    const queue = createQueue(jobs, { connection: cluster });
    try {
      await seedFlowType(cluster, queues[0]!, tenantSeed);
      for (const [i, type] of [
        [1, 'b'],
        [2, 'c'],
      ] as const)
        await seedFlowType(cluster, queues[i]!, {
          type,
          rules: { rateLimit: { limit: 1, perMs: 60_000, keyed: false } },
          typeStarts: [5],
        });
      const flow = await queue.getFlowStats();
      expect(Object.keys(flow).sort()).toEqual(['b', 'c', 'send']);
      expect(flow.send!.keys.map((k) => [k.key, k.waiting, k.why])).toEqual([
        ['acme', 40, 'concurrency'],
        ['globex', 7, 'rate'],
        ['initech', 3, 'turn'],
      ]);
      expect(flow.c).toMatchObject({
        queue: queues[2],
        rate: { used: 1, capped: true },
      });
    } finally {
      await queue.close();
      await cluster.quit();
    }
  });
});
