import { slotState } from '../redis/cluster-slots.ts';
import type { RedisClient } from '../redis/scripts/index.ts';
import type { QueueConsumer } from './queue-consumer.ts';
import type { WorkerHealth } from './worker-options.ts';
import type { JobwireError } from '../errors.ts';

/**
 * What `Worker#health()` reports. A queue is reachable when the command
 * connection is up, its last call did not find Redis unavailable and, on
 * a Cluster, the master of its slot
 * is connected on both the command and the blocking client: a Cluster
 * client's own status stays `ready` while one of its masters is down.
 * Synchronous; a slot that reads down has its client re-read the slot
 * table (rate-limited), so a client that sends nothing, as a busy worker's
 * blocking client, learns of a failover and the next call reports ready.
 */
export function workerHealth(
  consumers: readonly QueueConsumer[],
  command: RedisClient,
  state: {
    stopping: boolean;
    paused: boolean;
    running: number;
    /** Still checking the eviction policy before it leases (strict). */
    starting: boolean;
    /** Why the worker refused to start, if it did. */
    refused: JobwireError | undefined;
  },
): WorkerHealth {
  const connections = consumers.map((c) => ({
    queue: c.keys.queue,
    command: command.status,
    blocking: c.blocking.client.status,
    queuePaused: c.queuePaused,
    // The command connection stands for Redis: the blocking one is cut on
    // purpose by pause() and reconnects, which is no outage.
    reachable:
      command.status === 'ready' &&
      !c.unavailable &&
      slotState(command, c.keys.id) !== 'down' &&
      slotState(c.blocking.client, c.keys.id) !== 'down',
  }));
  return {
    ready:
      !state.stopping &&
      !state.starting &&
      state.refused === undefined &&
      connections.every(
        (c) => c.command === 'ready' && c.blocking === 'ready' && c.reachable,
      ),
    running: state.running,
    paused: state.paused,
    closing: state.stopping,
    ...(state.refused === undefined
      ? {}
      : {
          refused: {
            code: state.refused.code,
            message: state.refused.message,
          },
        }),
    connections,
  };
}
