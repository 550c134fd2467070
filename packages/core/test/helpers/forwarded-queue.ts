/**
 * A producer that reaches Redis through a TCP forwarder (so a test can hold
 * one of its requests while Redis is killed and restarted) and a worker
 * connected directly, over one job type `work`: `{ n }` in, `{ n }` out,
 * progress a number.
 */
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type HandlerMap,
} from '../../src/index.ts';
import { startForwarder } from '../faults/harness/forwarder.ts';
import { uniqueQueue, type UseRedis } from './redis-server.ts';
import { fastWorkerSettings } from './wait.ts';

const registry = (queue: string) =>
  defineJobs({
    work: job({
      queue,
      payload: z.object({ n: z.number() }),
      result: z.object({ n: z.number() }),
      progress: z.number(),
    }),
  });

type WorkJobs = ReturnType<typeof registry>['jobs'];

/** Starts the forwarder, the queue behind it and the worker. */
export async function forwardedQueue(
  redis: UseRedis,
  handlers: HandlerMap<WorkJobs>,
) {
  const reg = registry(uniqueQueue());
  const fwd = await startForwarder(redis.server.port);
  const queue = createQueue(reg, {
    connection: `redis://127.0.0.1:${fwd.port}`,
    connectTimeoutMs: 5000,
  });
  const worker = createWorker(reg, handlers, {
    connection: redis.url,
    ...fastWorkerSettings,
  });
  worker.on('error', () => {});
  return {
    fwd,
    queue,
    worker,
    async close(): Promise<void> {
      await worker.close();
      await queue.close();
      await fwd.close();
    },
  };
}
