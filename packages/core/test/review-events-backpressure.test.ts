/**
 * Found by an outside review of the event reader (2026-12-02): a
 * QueueEvents read ahead of its iterator into a buffer that silently
 * dropped its oldest events beyond 100,000 (a reader from '0' on a long
 * log, or a slow SSE client of GET /events). Now reading pauses while the
 * iterator is 1,000 events behind and resumes as it catches up: memory
 * stays bounded and nothing is dropped.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createQueueEvents } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep } from './helpers/wait.ts';

const redis = useRedis();

/** What the reader holds for its iterator (a private field). */
function held(events: object): number {
  return ((events as { pending?: unknown[] }).pending ?? []).length;
}

describe('QueueEvents backpressure', () => {
  it('holds at most about 2,000 events for an iterator that does not keep up, and loses none of 101,000', async () => {
    const q = uniqueQueue('rev-bp');
    const key = `jobwire:{${q}}:events`;
    const raw = new Redis(redis.url);
    const total = 101_000;
    try {
      for (let i = 0; i < total; i += 10_000) {
        const p = raw.pipeline();
        for (let k = i; k < Math.min(i + 10_000, total); k++)
          p.xadd(key, '*', 'ev', 'waiting', 'id', `j${k}`, 'n', 'work');
        await p.exec();
      }
      const events = createQueueEvents({
        connection: redis.url,
        queue: q,
        from: '0',
      });
      let n = 0;
      let inOrder = true;
      let last = '';
      let loop: Promise<void> | undefined;
      let heldBefore = 0;
      let maxHeld = 0;
      try {
        await events.ready();
        // Nobody consumes yet: the reader reads ahead, then stops (before,
        // it read the whole log into its buffer and dropped the oldest).
        await sleep(3000);
        heldBefore = held(events);
        loop = (async () => {
          for await (const e of events) {
            if (e.jobId !== `j${n}`) inOrder = false;
            n++;
            last = e.offset;
            // A slow consumer now and then: the reader must wait for it.
            if (n % 20_000 === 0) {
              await sleep(300);
              maxHeld = Math.max(maxHeld, held(events));
            }
          }
        })();
        // Until all are seen, or none came for 2 s (some were lost).
        for (let seen = -1, since = Date.now(); n < total; await sleep(50)) {
          if (n !== seen) [seen, since] = [n, Date.now()];
          else if (Date.now() - since > 2000) break;
        }
        await sleep(200);
      } finally {
        await events.close();
        await loop;
      }
      expect(n).toBe(total);
      expect(inOrder).toBe(true);
      const [lastId] = (await raw.xrevrange(key, '+', '-', 'COUNT', 1))[0]!;
      expect(last).toBe(lastId);
      expect(heldBefore).toBeGreaterThan(0);
      expect(heldBefore).toBeLessThanOrEqual(2000);
      expect(maxHeld).toBeGreaterThan(0);
      expect(maxHeld).toBeLessThanOrEqual(2000);
    } finally {
      await raw.quit();
    }
  }, 120_000);
});
