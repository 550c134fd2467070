import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings } from './helpers/wait.ts';

const redis = useRedis();

function registry(queue: string) {
  return defineJobs({
    note: job({
      queue,
      payload: z.object({ text: z.string() }),
      result: z.object({ length: z.number() }),
      retention: { completed: false },
    }),
  });
}

describe('job storage', () => {
  it('keeps the payload in its own key so the job hash stays compact', async () => {
    const queue = uniqueQueue();
    const raw = new Redis(redis.url);
    const q = createQueue(registry(queue), { connection: redis.url });
    try {
      const text = 'x'.repeat(200); // over Redis's 64-byte listpack value limit
      const h = await q.enqueue('note', { text });
      const base = `jobwire:{${queue}}:`;
      expect(await raw.get(`${base}p:${h.id}`)).toBe(JSON.stringify({ text }));
      expect(await raw.hexists(`${base}j:${h.id}`, 'd')).toBe(0);
      // A hash with a 200-byte value would be a full hash table.
      expect(await raw.object('ENCODING', `${base}j:${h.id}`)).toBe('listpack');
      expect((await q.getJob(h.id))?.data).toEqual({ text });
      await q.remove(h.id);
      expect(await raw.exists(`${base}p:${h.id}`, `${base}j:${h.id}`)).toBe(0);
    } finally {
      await q.close();
      await raw.quit();
    }
  });

  it('runs jobs stored with the payload in the hash (written before the split), and removes every key', async () => {
    const queue = uniqueQueue();
    const raw = new Redis(redis.url);
    const jobs = registry(queue);
    const q = createQueue(jobs, { connection: redis.url });
    const base = `jobwire:{${queue}}:`;
    const w = createWorker(
      jobs,
      { note: (j) => ({ length: j.data.text.length }) },
      { connection: redis.url, ...fastWorkerSettings, autorun: false },
    );
    try {
      // Enqueue normally, then move the payload into the hash as older
      // versions stored it.
      const h = await q.enqueue('note', { text: 'legacy' });
      const payload = await raw.get(`${base}p:${h.id}`);
      await raw.hset(`${base}j:${h.id}`, 'd', payload!);
      await raw.del(`${base}p:${h.id}`);
      expect((await q.getJob(h.id))?.data).toEqual({ text: 'legacy' });
      const fresh = await q.enqueue('note', { text: 'fresh!' });
      w.run();
      expect(await h.finished({ timeoutMs: 5000 })).toEqual({ length: 6 });
      expect(await fresh.finished({ timeoutMs: 5000 })).toEqual({ length: 6 });
      // Completed and removed: no hash, no log, no payload left behind.
      const left = await raw.keys(`${base}[jp]:*`);
      expect(left).toEqual([]);
    } finally {
      await w.close();
      await q.close();
      await raw.quit();
    }
  });
});
