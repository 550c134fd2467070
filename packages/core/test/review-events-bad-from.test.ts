/**
 * Found by an outside review of the event reader (2026-12-02): an invalid
 * `from` ('garbage', '-1', '1-2-3') was accepted, and the reader then
 * warned "event stream read failed: ERR Invalid stream ID" every 200 ms for
 * ever. It is refused when the reader is created, before any connection,
 * with a ValidationError (INVALID_OPTION) naming `from`, as GET /events
 * refuses it with a 400.
 */
import { describe, expect, it } from 'vitest';
import { createQueueEvents, ErrorCode, ValidationError } from '../src/index.ts';
import { freePort, uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { sleep } from './helpers/wait.ts';

const redis = useRedis();

describe('QueueEvents from', () => {
  it('refuses an invalid from when created, naming it, before connecting', async () => {
    // Nothing listens there: a reader that connected would keep trying.
    const nowhere = `redis://127.0.0.1:${String(await freePort())}`;
    for (const from of [
      'garbage',
      '-1',
      '1-2-3',
      '',
      ' 0',
      '1-',
      '$0',
      '18446744073709551616', // 2**64: past Redis's 64-bit ids
      '1-18446744073709551616',
    ]) {
      let thrown: unknown;
      try {
        createQueueEvents({ connection: nowhere, queue: 'q', from });
      } catch (err) {
        thrown = err;
      }
      expect(thrown, JSON.stringify(from)).toBeInstanceOf(ValidationError);
      const err = thrown as ValidationError;
      expect(err.code).toBe(ErrorCode.INVALID_OPTION);
      expect(err.issues.map((i) => i.path)).toEqual(['from']);
      expect(err.message).toContain('from');
      expect(err.message).toContain(JSON.stringify(from));
    }
  });

  it('accepts $, 0 and offsets, and reads from them without a warning', async () => {
    const q = uniqueQueue('rev-from');
    const warnings: string[] = [];
    const logger = {
      warn: (m: string) => warnings.push(m),
      error: (m: string) => warnings.push(m),
    };
    for (const from of [
      '$',
      '0',
      '0-0',
      '1',
      '1700000000000-5',
      '18446744073709551615-18446744073709551615',
    ]) {
      const events = createQueueEvents({
        connection: redis.url,
        queue: q,
        from,
        logger,
      });
      try {
        await events.ready();
        await sleep(50);
      } finally {
        await events.close();
      }
    }
    expect(warnings).toEqual([]);
  });
});
