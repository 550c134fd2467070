/**
 * watchProgress settles as finished() does, even when Redis restarts
 * right after the job finished: its last read (the log's end, so it can
 * report every progress value before resolving) must not turn a known
 * outcome into a raw ioredis error.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { startForwarder } from './faults/harness/forwarder.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis({
  appendonly: true,
  extraArgs: ['--appendfsync', 'always'],
});

describe('watchProgress across a Redis restart', () => {
  it('resolves with the result when Redis restarts during its read of the log end', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      work: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ n: z.number() }),
        progress: z.number(),
      }),
    });
    const fwd = await startForwarder(redis.server.port);
    const queue = createQueue(reg, {
      connection: `redis://127.0.0.1:${fwd.port}`,
      connectTimeoutMs: 5000,
    });
    const worker = createWorker(
      reg,
      {
        work: async (j) => {
          await j.progress(50);
          return { n: j.data.n * 2 };
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    worker.on('error', () => {});
    try {
      const h = await queue.enqueue('work', { n: 21 });
      const seen: number[] = [];
      // The read of the log's end reaches Redis; its reply is held, and
      // Redis is killed and restarted before it arrives.
      const cut = fwd.cutAfter('xrevrange');
      const watching = queue
        .watchProgress('work', h.id, (p) => seen.push(p))
        .then(
          (value) => ({ ok: true, value }),
          (err: unknown) => ({ ok: false, value: String(err) }),
        );
      await cut;
      await redis.server.restart();
      fwd.reset();
      fwd.heal();
      expect(await watching).toEqual({ ok: true, value: { n: 42 } });
    } finally {
      await worker.close();
      await queue.close();
      await fwd.close();
    }
  });
});
