/**
 * finished() of a pending job survives a Redis restart (docs/results-and-
 * events.md: waits read the job hash after a reconnect). The model-based
 * test found a wait that rejected with ioredis's raw
 * MaxRetriesPerRequestError instead: the queue's first wait fixes the event
 * log's cursor with XINFO STREAM on its new connection, and a restart while
 * that call was in flight failed the wait, and every later wait of the
 * queue with it (the failed start was kept).
 */
import { describe, expect, it } from 'vitest';
import { forwardedQueue } from './helpers/forwarded-queue.ts';
import { useRedis } from './helpers/redis-server.ts';
import { waitFor } from './helpers/wait.ts';

// The delayed job must outlive kill -9 of Redis.
const redis = useRedis({
  appendonly: true,
  extraArgs: ['--appendfsync', 'always'],
});

describe('finished() across a Redis restart', () => {
  it('keeps waiting for a delayed job when Redis restarts during the first wait, and settles when the job completes', async () => {
    const { fwd, queue, close } = await forwardedQueue(redis, {
      work: (j) => ({ n: j.data.n * 2 }),
    });
    try {
      const h = await queue.enqueue('work', { n: 21 }, { delayMs: 600_000 });
      // The first wait's XINFO STREAM reaches Redis; its reply is held, and
      // Redis is killed and restarted before it arrives.
      const cut = fwd.cutAfter('xinfo');
      let settled: { ok: boolean; value: unknown } | undefined;
      const waiting = h.finished().then(
        (value) => (settled = { ok: true, value }),
        (err: unknown) => (settled = { ok: false, value: err }),
      );
      await cut;
      await redis.server.restart();
      fwd.reset();
      fwd.heal();
      // Back: the queue answers again, and a second wait starts fine.
      await waitFor(
        async () => {
          try {
            return (await queue.getJob(h.id))?.state === 'delayed';
          } catch {
            return false;
          }
        },
        15_000,
        'the queue reads the job after the restart',
      );
      const second = h.finished();
      second.catch(() => {});
      // The restart itself settles nothing: the job is still delayed. (A
      // broken wait has rejected by now: the held call failed at the kill.)
      expect(settled).toBeUndefined();
      await queue.promote(h.id);
      await waiting;
      expect(settled).toEqual({ ok: true, value: { n: 42 } });
      expect(await second).toEqual({ n: 42 });
    } finally {
      await close();
    }
  });

  it('keeps waiting when Redis restarts while a later wait reads the job hash', async () => {
    const { fwd, queue, close } = await forwardedQueue(redis, {
      work: (j) => ({ n: j.data.n * 2 }),
    });
    try {
      // A first wait starts the queue's event follower.
      const first = await queue.enqueue('work', { n: 1 });
      expect(await first.finished()).toEqual({ n: 2 });
      const h = await queue.enqueue('work', { n: 5 }, { delayMs: 600_000 });
      // waitForResult reads the job hash (the job may have finished before
      // the call); that read is cut off by a restart.
      const cut = fwd.cutAfter('hmget');
      let settled: { ok: boolean; value: unknown } | undefined;
      const waiting = queue.waitForResult('work', h.id).then(
        (value) => (settled = { ok: true, value }),
        (err: unknown) => (settled = { ok: false, value: err }),
      );
      await cut;
      await redis.server.restart();
      fwd.reset();
      fwd.heal();
      await waitFor(
        async () => {
          try {
            return (await queue.getJob(h.id))?.state === 'delayed';
          } catch {
            return false;
          }
        },
        15_000,
        'the queue reads the job after the restart',
      );
      expect(settled).toBeUndefined();
      await queue.promote(h.id);
      await waiting;
      expect(settled).toEqual({ ok: true, value: { n: 10 } });
    } finally {
      await close();
    }
  });
});
