/**
 * Found by an outside review: with Redis never reachable, `health()` read
 * `ready: false` but each queue `reachable: true`, while both of its
 * connections were reconnecting: `reachable` only remembered a call that
 * had failed, and no call is sent before a connection is up. A queue is
 * now reachable only while the command connection is up, too; not the
 * blocking one, which pause() cuts on purpose.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createWorker, defineJobs, job } from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { startRedis, uniqueQueue } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const quiet: Logger = { warn: () => {}, error: () => {} };

describe('health() of a queue whose Redis is not up', () => {
  it('reads reachable: false until both connections are up, then true', async () => {
    // Started and killed: its port is free and known, to restart on.
    const server = await startRedis();
    await server.kill9();
    const jobs = defineJobs({
      t: job({ queue: uniqueQueue('reach'), payload: z.object({}) }),
    });
    const worker = createWorker(
      jobs,
      { t: () => {} },
      { connection: server.url, logger: quiet },
    );
    worker.on('error', () => {});
    try {
      await sleep(300);
      const down = worker.health();
      expect(down.ready).toBe(false);
      expect(down.connections.map((c) => c.reachable)).toEqual([false]);
      await server.restart();
      await waitFor(() => worker.health().ready, 15_000, 'ready');
      expect(worker.health().connections.map((c) => c.reachable)).toEqual([
        true,
      ]);
    } finally {
      await worker.close({ deadlineMs: 1000 });
      await server.stop();
    }
  }, 30_000);

  it('stays reachable through pause(), which cuts the blocking connection', async () => {
    const server = await startRedis();
    const jobs = defineJobs({
      t: job({ queue: uniqueQueue('reach'), payload: z.object({}) }),
    });
    const worker = createWorker(
      jobs,
      { t: () => {} },
      { connection: server.url, logger: quiet },
    );
    try {
      await waitFor(() => worker.health().ready, 15_000, 'ready');
      const unreachable: string[] = [];
      for (let round = 0; round < 3; round++) {
        worker.pause();
        for (let i = 0; i < 15; i++) {
          const [c] = worker.health().connections;
          if (c?.reachable !== true) unreachable.push(String(c?.blocking));
          await sleep(10);
        }
        worker.resume();
        await sleep(100);
      }
      expect(unreachable).toEqual([]);
    } finally {
      await worker.close({ deadlineMs: 1000 });
      await server.stop();
    }
  }, 30_000);
});
