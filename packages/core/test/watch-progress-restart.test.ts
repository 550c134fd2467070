/**
 * watchProgress settles as finished() does, even when Redis restarts
 * right after the job finished: its last read (the log's end, so it can
 * report every progress value before resolving) must not turn a known
 * outcome into a raw ioredis error.
 */
import { describe, expect, it } from 'vitest';
import { forwardedQueue } from './helpers/forwarded-queue.ts';
import { useRedis } from './helpers/redis-server.ts';

const redis = useRedis({
  appendonly: true,
  extraArgs: ['--appendfsync', 'always'],
});

describe('watchProgress across a Redis restart', () => {
  it('resolves with the result when Redis restarts during its read of the log end', async () => {
    const { fwd, queue, close } = await forwardedQueue(redis, {
      work: async (j) => {
        await j.progress(50);
        return { n: j.data.n * 2 };
      },
    });
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
      await close();
    }
  });
});
