/**
 * Issue 12 follow-up: two ways a worker's blocking connection (the one that
 * waits on the marker keys) went wrong.
 * - pause() before it had connected cut it mid-connect, which ioredis
 *   turns into a permanent close: health() reported it 'end' for ever.
 * - close() while it was reconnecting (Redis down) left it in
 *   'reconnecting' for ever, never 'end': a leaked client.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { startRedis, uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

const quiet = { warn: () => {}, error: () => {} };

function registry() {
  const q = uniqueQueue();
  return defineJobs({
    work: job({ queue: q, payload: z.object({ n: z.number() }) }),
  });
}

describe('issue 12: the blocking connection survives pause() and ends at close()', () => {
  it('pause() before the blocking connection has connected leaves it connecting, and resume() takes jobs', async () => {
    const reg = registry();
    const queue = createQueue(reg, { connection: redis.url });
    const ran: number[] = [];
    const w = createWorker(
      reg,
      { work: (j) => void ran.push(j.data.n) },
      { connection: redis.url, ...fastWorkerSettings, logger: quiet },
    );
    try {
      // At once, in the constructor's turn: nothing has connected yet.
      expect(w.health().connections[0]!.blocking).not.toBe('ready');
      w.pause();
      await waitFor(
        () => w.health().connections[0]!.blocking === 'ready',
        10_000,
        'the blocking connection to connect despite pause()',
      );
      w.resume();
      await waitFor(() => w.health().ready, 10_000, 'the worker to be ready');
      await queue.enqueue('work', { n: 1 });
      await waitFor(() => ran.length === 1, 10_000, 'the job to run');
      expect(ran).toEqual([1]);
      expect(w.health()).toMatchObject({
        ready: true,
        paused: false,
        connections: [{ command: 'ready', blocking: 'ready' }],
      });
    } finally {
      await w.close();
      await queue.close();
    }
  });

  it('close() while the connections are reconnecting ends both (no client is left behind)', async () => {
    const server = await startRedis();
    const reg = registry();
    const w = createWorker(
      reg,
      { work: async () => {} },
      { connection: server.url, ...fastWorkerSettings, logger: quiet },
    );
    try {
      await waitFor(() => w.health().ready, 10_000, 'the worker to be ready');
      await server.kill9();
      await waitFor(
        () => w.health().connections[0]!.blocking === 'reconnecting',
        10_000,
        'the blocking connection to reconnect',
      );
      await w.close();
      // 'end' is final: no reconnect timer or socket is left to hold the
      // process open, once close() has resolved. The leak check
      // (test/setup) holds this too.
      expect(w.health().connections).toMatchObject([
        { command: 'end', blocking: 'end' },
      ]);
    } finally {
      await w.close();
      await server.stop();
    }
  });
});
