/**
 * Found by an outside review: with Redis never reachable, `health()` read
 * `ready: false` but each queue `reachable: true`, while both of its
 * connections were reconnecting: `reachable` only remembered a call that
 * had failed, and no call is sent before a connection is up. A queue is
 * now reachable only while both its connections are up, too.
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
});
