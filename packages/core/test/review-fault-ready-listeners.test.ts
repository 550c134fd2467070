/**
 * Many calls waiting at once for one connection to be ready: each added
 * its own 'end' listener to the client, and past Node's 10 a warning
 * (MaxListenersExceededWarning: 11 end listeners added to [Commander])
 * was printed, e.g. 200 concurrent getJob() on a fresh queue (an outside
 * review). Now the waiting calls share one wait per connection, and its
 * listeners go once nobody waits.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, defineJobs, job } from '../src/index.ts';
import type { Logger } from '../src/index.ts';
import { ensureReady } from '../src/redis/connection.ts';
import { freePort, uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep } from './helpers/wait.ts';

const redis = useRedis();
const quiet: Logger = { warn: () => {}, error: () => {} };
const CALLS = 500;

let warnings: string[] = [];
const onWarning = (w: Error): void => {
  warnings.push(`${w.name}: ${w.message}`);
};
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

/** Listener counts of the events a wait for readiness listens to. */
function listeners(client: Redis): Record<string, number> {
  return {
    ready: client.listenerCount('ready'),
    end: client.listenerCount('end'),
  };
}

describe(`${CALLS} calls waiting at once for one connection`, () => {
  it('on a fresh queue: no MaxListenersExceededWarning, all answered', async () => {
    const jobs = defineJobs({
      note: job({
        queue: uniqueQueue('listeners'),
        payload: z.object({ n: z.number() }),
      }),
    });
    const queue = createQueue(jobs, { connection: redis.url, logger: quiet });
    try {
      const found = await Promise.all(
        Array.from({ length: CALLS }, (_, n) => queue.getJob(`none-${n}`)),
      );
      expect(found.every((j) => j === undefined)).toBe(true);
      // Warnings are emitted on a later tick.
      await sleep(50);
      expect(warnings).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('that connects: its listeners are back as they were', async () => {
    const client = new Redis(redis.url, { lazyConnect: true });
    try {
      const before = listeners(client);
      await Promise.all(
        Array.from({ length: CALLS }, () => ensureReady(client, 5000)),
      );
      await sleep(50);
      expect(warnings).toEqual([]);
      expect(listeners(client)).toEqual(before);
    } finally {
      client.disconnect();
    }
  });

  it('that never connects: all time out, no listener left behind', async () => {
    const port = await freePort(); // nothing listens there
    const client = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => 50,
    });
    client.on('error', () => {});
    try {
      const before = listeners(client);
      const outcomes = await Promise.allSettled(
        Array.from({ length: CALLS }, (_, n) =>
          // Different timeouts: the calls give up one by one.
          ensureReady(client, 100 + (n % 5) * 50),
        ),
      );
      expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
      await sleep(50);
      expect(warnings).toEqual([]);
      expect(listeners(client)).toEqual(before);
    } finally {
      client.disconnect();
    }
  });

  it('of a queue closed while they wait: all reject with CLOSED', async () => {
    const port = await freePort(); // nothing listens there
    const jobs = defineJobs({
      note: job({
        queue: uniqueQueue('listeners'),
        payload: z.object({ n: z.number() }),
      }),
    });
    const queue = createQueue(jobs, {
      connection: `redis://127.0.0.1:${port}`,
      connectTimeoutMs: 10_000,
      logger: quiet,
    });
    const waits = Array.from({ length: CALLS }, (_, n) =>
      queue.getJob(`none-${n}`).then(
        () => 'found',
        (err: { code?: string }) => err.code,
      ),
    );
    await sleep(100);
    await queue.close();
    const codes = new Set(await Promise.all(waits));
    expect([...codes]).toEqual(['CLOSED']);
    await sleep(50);
    expect(warnings).toEqual([]);
  });
});
