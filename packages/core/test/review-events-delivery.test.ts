/**
 * Found by an outside review of the event reader (2026-12-02):
 *
 * - `QueueEvents.offset` was the last id read from Redis, up to a batch
 *   ahead of what the iterator had handed out: a consumer that saved it as
 *   its checkpoint after each event lost the rest of the batch on resume.
 *   It is now the offset of the last event delivered (inside a listener,
 *   that listener's event).
 * - One `on('event')` listener that threw dropped the rest of the batch
 *   for every listener and the iterator, logged as a failed read. Now
 *   every listener and the iterator get every event, and the exception is
 *   emitted on 'error' (thrown as an uncaught exception when there is no
 *   'error' listener, as with an EventEmitter).
 * - With `for await` and an `on(kind)` listener on the same reader, the
 *   iterator never saw an event of that kind. Both get every event.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueEvents, type QueueEvent } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep, waitFor } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;

beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

/**
 * Writes `n` events to queue `q`'s log as jobwire does (one `waiting`
 * and one `completed` per job, alternating); returns their offsets.
 */
async function writeEvents(q: string, n: number): Promise<string[]> {
  const pipeline = raw.pipeline();
  for (let i = 0; i < n; i++) {
    const ev = i % 2 === 0 ? 'waiting' : 'completed';
    pipeline.xadd(
      `jobwire:{${q}}:events`,
      '*',
      'ev',
      ev,
      'id',
      `j${i >> 1}`,
      'n',
      'work',
    );
  }
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([, id]) => id as string);
}

describe('QueueEvents delivery', () => {
  it('offset is the last event delivered: to the iterator, and inside a listener its own event', async () => {
    const q = uniqueQueue('rev-off');
    const offsets = await writeEvents(q, 300);
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
    });
    const inListener: [string, string][] = [];
    const handled: string[] = [];
    let checkpoint = '';
    try {
      await events.ready();
      expect(events.offset).toBe('0');
      const it = events[Symbol.asyncIterator]();
      events.on('event', (e) => inListener.push([e.offset, events.offset]));
      for (let i = 0; i < 100; i++) {
        const r = await it.next();
        expect(r.done).toBe(false);
        const e = r.value as QueueEvent;
        handled.push(e.offset);
        // The reader has read ahead (a batch holds up to 1,000 events)...
        await sleep(i === 0 ? 200 : 0);
        // ...but the offset is where the consumer is.
        expect(events.offset).toBe(e.offset);
        checkpoint = events.offset;
      }
    } finally {
      await events.close();
    }
    expect(handled).toEqual(offsets.slice(0, 100));
    expect(inListener).toEqual(offsets.slice(0, 100).map((o) => [o, o]));

    // A new reader from the saved checkpoint gets every event not handled.
    const resumed = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: checkpoint,
    });
    const rest: string[] = [];
    resumed.on('event', (e) => rest.push(e.offset));
    try {
      await waitFor(
        () => rest.length >= 200,
        5000,
        'the 200 events after the checkpoint',
      );
      await sleep(100);
      expect(rest).toEqual(offsets.slice(100));
      expect(resumed.offset).toBe(offsets[299]);
    } finally {
      await resumed.close();
    }
  });

  it('a throwing listener is reported on error and stops nothing: every listener and the iterator get every event', async () => {
    const q = uniqueQueue('rev-thr');
    const offsets = await writeEvents(q, 300);
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
    });
    const errors: unknown[] = [];
    const a: string[] = [];
    const b: string[] = [];
    const completed: string[] = [];
    const iterated: string[] = [];
    const bug = new Error('listener bug');
    events.on('error', (err) => errors.push(err));
    events.on('event', (e) => {
      a.push(e.offset);
      if (a.length === 5) throw bug;
    });
    events.on('completed', async (e) => {
      completed.push(e.offset);
      // An async listener's rejection is reported the same way.
      if (completed.length === 7) throw new Error('async listener bug');
      await Promise.resolve();
    });
    events.on('event', (e) => b.push(e.offset));
    const loop = (async () => {
      for await (const e of events) iterated.push(e.offset);
    })();
    try {
      await waitFor(
        () => iterated.length >= 300,
        5000,
        'the iterator to see 300 events',
      );
      await sleep(100);
    } finally {
      await events.close();
      await loop;
    }
    expect(a).toEqual(offsets);
    expect(b).toEqual(offsets);
    expect(iterated).toEqual(offsets);
    expect(completed).toEqual(offsets.filter((_, i) => i % 2 === 1));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBe(bug);
    expect((errors[1] as Error).message).toBe('async listener bug');
  });

  it('the iterator and an on(kind) listener on one reader both get every event', async () => {
    const q = uniqueQueue('rev-both');
    const offsets = await writeEvents(q, 300);
    const events = createQueueEvents({
      connection: redis.url,
      queue: q,
      from: '0',
    });
    const listened: string[] = [];
    const iterated: QueueEvent[] = [];
    events.on('completed', (e) => listened.push(e.offset));
    const loop = (async () => {
      for await (const e of events) {
        iterated.push(e);
        if (iterated.length % 50 === 0) await sleep(1);
      }
    })();
    try {
      await waitFor(
        () => iterated.length >= 300,
        5000,
        'the iterator to see 300 events',
      );
      await sleep(100);
    } finally {
      await events.close();
      await loop;
    }
    expect(iterated.map((e) => e.offset)).toEqual(offsets);
    expect(iterated.filter((e) => e.event === 'completed')).toHaveLength(150);
    expect(listened).toEqual(offsets.filter((_, i) => i % 2 === 1));
  });

  it('with no error listener, a listener that throws is an uncaught exception, as with an EventEmitter', async () => {
    const q = uniqueQueue('rev-unc');
    await writeEvents(q, 10);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', CHILD, redis.url, q],
      { cwd: HERE, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) =>
      child.on('exit', resolve),
    );
    expect(stderr).toContain('listener bug in child');
    expect(code).not.toBe(0);
    // Both listeners got the event before the exception surfaced.
    expect(JSON.parse(stdout.trim().split('\n')[0]!)).toEqual({
      first: 1,
      second: 1,
    });
  }, 60_000);
});

const HERE = path.dirname(fileURLToPath(import.meta.url));

const CHILD = `
import { createQueueEvents } from '../src/index.ts';

const [url, queue] = process.argv.slice(1);
const events = createQueueEvents({ connection: url, queue, from: '0' });
let first = 0;
let second = 0;
events.on('event', () => {
  first++;
  throw new Error('listener bug in child');
});
events.on('event', () => {
  second++;
  if (second === 1) process.stdout.write(JSON.stringify({ first, second }) + '\\n');
});
await new Promise((r) => setTimeout(r, 10_000));
process.stdout.write('not crashed\\n');
await events.close();
`;
