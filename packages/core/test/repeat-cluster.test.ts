/**
 * Repeat schedules on a real Redis Cluster: a declaration, the same one
 * again (compared in the script), and the listing's pipelined read of the
 * pending occurrence, each on the queue's own slot; an empty queue lists
 * nothing.
 */
import { Cluster } from 'ioredis';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import { startCluster } from './helpers/redis-cluster.ts';
import { uniqueQueue } from './helpers/redis-server.ts';

it('declares, re-declares and lists repeat schedules on a Redis Cluster', async () => {
  const cluster = await startCluster();
  const client = new Cluster(
    cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
  );
  const [a, b] = [uniqueQueue('rc'), uniqueQueue('rc')];
  const registry = defineJobs({
    tick: job({ queue: a, payload: z.object({ n: z.number() }) }),
    tock: job({ queue: b, payload: z.object({ n: z.number() }) }),
  });
  const queue = createQueue(registry, { connection: client });
  try {
    expect(await queue.getRepeats()).toEqual([]);
    const spec = { key: 'k', everyMs: 60_000, limit: 2 };
    const first = await queue.repeat('tick', { n: 1 }, spec);
    const again = await queue.repeat('tick', { n: 1 }, spec);
    expect(again.outcome).toBe('duplicate');
    const listed = await queue.getRepeats();
    expect(listed).toMatchObject([
      { key: 'k', name: 'tick', queue: a, next: { id: first.id } },
    ]);
  } finally {
    await queue.close();
    client.disconnect();
    await cluster.stop();
  }
}, 120_000);
