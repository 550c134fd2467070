import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  createWorker,
  defineJobs,
  job,
} from '../src/index.ts';
import { startCluster, type TestCluster } from './helpers/redis-cluster.ts';
import { uniqueQueue } from './helpers/redis-server.ts';

// A real three-master Redis Cluster on loopback: every script must touch a
// single slot, or Redis refuses it with CROSSSLOT.
let c: TestCluster;

beforeAll(async () => {
  c = await startCluster();
}, 60_000);

afterAll(async () => {
  await c?.stop();
});

describe('Redis Cluster', () => {
  it('enqueues, processes, reports events and results across a cluster', async () => {
    const queues = [uniqueQueue('ca'), uniqueQueue('cb')];
    const jobs = defineJobs({
      add: job({
        queue: queues[0],
        payload: z.object({ a: z.number(), b: z.number() }),
        result: z.object({ sum: z.number() }),
      }),
      echo: job({
        queue: queues[1],
        payload: z.object({ s: z.string() }),
        delayMs: 50,
      }),
    });
    const cluster = c.client();
    const queue = createQueue(jobs, { connection: cluster });
    const events = createQueueEvents({
      connection: cluster,
      queue: queues[0]!,
      from: '0',
    });
    const worker = createWorker(
      jobs,
      {
        add: async (j) => {
          await j.progress(50);
          await j.log('adding');
          return { sum: j.data.a + j.data.b };
        },
        echo: async () => {},
      },
      { connection: cluster, concurrency: 4, blockTimeoutMs: 1000 },
    );
    try {
      const handles = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          queue.enqueue('add', { a: i, b: 1 }),
        ),
      );
      const bulk = await queue.enqueueBulk(
        Array.from({ length: 10 }, (_, i) => ({
          name: 'echo' as const,
          payload: { s: `${i}` },
        })),
      );
      const results = await Promise.all(
        handles.map((h) => h.finished({ timeoutMs: 10_000 })),
      );
      expect(results.map((r) => r.sum)).toEqual(handles.map((_, i) => i + 1));
      await Promise.all(bulk.map((h) => h.finished({ timeoutMs: 10_000 })));
      // Ids are unique per queue; both queues here have a job 1.
      const info = await queue.getJob(handles[0]!.id, { queue: queues[0] });
      expect(info).toMatchObject({
        state: 'completed',
        progress: 50,
        logs: ['adding'],
      });
      const counts = await queue.getCounts();
      expect(counts.completed).toBe(30);
      // The keys of each queue live in one slot, on one node.
      for (const q of queues) {
        const perNode = await Promise.all(
          cluster.nodes('master').map((n) => n.keys(`jobwire:{${q}}:*`)),
        );
        const keys = perNode.flat();
        expect(perNode.filter((k) => k.length > 0)).toHaveLength(1);
        const slots = new Set(
          await Promise.all(
            keys.map((k) => cluster.call('CLUSTER', 'KEYSLOT', k)),
          ),
        );
        expect(keys.length).toBeGreaterThan(3);
        expect(slots.size).toBe(1);
      }
      const seen: string[] = [];
      for await (const e of events) {
        if (e.jobId === handles[0]!.id) seen.push(e.event);
        if (seen.includes('completed')) break;
      }
      expect(seen).toEqual(['waiting', 'active', 'progress', 'completed']);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
      await cluster.quit();
    }
  });
});
