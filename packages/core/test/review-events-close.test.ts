/**
 * Found by an outside review of the event reader (2026-12-02):
 *
 * - A clean queue.close() sometimes logged "event stream read failed:
 *   Stream isn't writeable…" (or "Connection is closed"): the result
 *   waiter cut its connection before it stopped its event reader, so a read
 *   in flight failed and was reported (and retried) as a failed read. The
 *   reader is now stopped first; a read in flight when close begins ends
 *   quietly.
 * - QueueEvents.close() took seconds while Redis was down: it waited for
 *   its reader's wait for a connection (up to 5 s) before it ended the
 *   connection. It now ends the connection first, which ends that wait at
 *   once, as Queue's and Worker's close do.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createQueueEvents,
  defineJobs,
  ErrorCode,
  job,
} from '../src/index.ts';
import { startRedis, uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep } from './helpers/wait.ts';

const redis = useRedis();

function collecting(): {
  logger: { warn: (m: string) => void; error: (m: string) => void };
  lines: string[];
} {
  const lines: string[] = [];
  return {
    lines,
    logger: { warn: (m) => lines.push(m), error: (m) => lines.push(m) },
  };
}

describe('closing an event reader', () => {
  it('queue.close() while other processes keep writing events logs nothing', async () => {
    const { logger, lines } = collecting();
    const q = uniqueQueue('rev-close2');
    const jobs = defineJobs({ work: job({ queue: q, payload: z.object({}) }) });
    // Other producers' events keep the reader's blocking read returning.
    const raw = new Redis(redis.url);
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await raw.xadd(
          `jobwire:{${q}}:events`,
          '*',
          'ev',
          'waiting',
          'id',
          'other',
          'n',
          'work',
        );
      }
    })();
    try {
      for (let round = 0; round < 20; round++) {
        const queue = createQueue(jobs, { connection: redis.url, logger });
        const h = await queue.enqueue('work', {});
        const wait = h.finished().catch((err: unknown) => err);
        await sleep(20 + (round % 5) * 7);
        await queue.close();
        expect(await wait).toMatchObject({ code: ErrorCode.CLOSED });
      }
      await sleep(300);
    } finally {
      writing = false;
      await writer;
      await raw.quit();
    }
    expect(lines).toEqual([]);
  });

  it('QueueEvents.close() returns at once while Redis is down', async () => {
    const server = await startRedis();
    try {
      const { logger } = collecting();
      const events = createQueueEvents({
        connection: server.url,
        queue: uniqueQueue('rev-down'),
        logger,
      });
      events.on('error', () => {});
      await events.ready();
      await server.kill9();
      // The reader is waiting for its connection to come back.
      await sleep(1000);
      const t0 = performance.now();
      await events.close();
      expect(performance.now() - t0).toBeLessThan(300);
    } finally {
      await server.stop();
    }
  });
});
