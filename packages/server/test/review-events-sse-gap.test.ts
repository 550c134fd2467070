/**
 * Found by an outside review of the event reader (2026-12-02): a client
 * of GET /events that resumed (from=, or Last-Event-ID) from an offset
 * the log had trimmed away by `maxEvents` went on from the oldest event
 * kept and was never told that events were lost. The stream now carries a
 * `gap` message, without an id, just before the first event after the loss.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';
import type { Logger } from '@jobwire/core';
import { startServer } from '@jobwire/server';
import { rawRedis } from '../../core/test/helpers/raw-redis.ts';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';

const redis = useRedis();
const TOKEN = 'test-token-0123456789abcdef';
const quiet: Logger = { warn: () => {}, error: () => {} };
const auth = { authorization: `Bearer ${TOKEN}` };

/** Reads SSE messages from `res` until `enough` says so (or 5 s pass). */
async function readMessages(
  res: Response,
  enough: (messages: string[]) => boolean,
): Promise<string[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + 5000;
  const messages = (): string[] =>
    text.split('\n\n').filter((m) => m.includes('event:'));
  try {
    while (!enough(messages()) && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return messages();
}

describe('GET /events after the log was trimmed', () => {
  it('sends a gap message before the first event kept, for from= and Last-Event-ID', async () => {
    const queue = uniqueQueue('sse-gap');
    const raw = rawRedis(redis.url);
    const key = `jobwire:{${queue}}:events`;
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(
        (await raw.xadd(
          key,
          '*',
          'ev',
          'waiting',
          'id',
          `j${i}`,
          'n',
          'work',
        ))!,
      );
    }
    // maxEvents trimmed the first five away.
    await raw.xtrim(key, 'MAXLEN', 5);
    const server = await startServer({
      registry: defineJobs({
        work: job({ queue, payload: z.object({}) }),
      }),
      connection: redis.url,
      token: TOKEN,
      port: 0,
      logger: quiet,
    });
    try {
      for (const headers of [
        { url: `${server.url}/events?from=${ids[2]!}`, headers: auth },
        {
          url: `${server.url}/events`,
          headers: { ...auth, 'last-event-id': ids[2]! },
        },
      ]) {
        const ac = new AbortController();
        const res = await fetch(headers.url, {
          headers: headers.headers,
          signal: ac.signal,
        });
        expect(res.status).toBe(200);
        const messages = await readMessages(res, (m) => m.length >= 6);
        ac.abort();
        expect(messages[0]).toBe(
          `event: gap\ndata: ${JSON.stringify({ offset: ids[2], oldest: ids[5] })}`,
        );
        expect(
          messages.slice(1).map((m) => /^id: (.*)$/m.exec(m)?.[1]),
        ).toEqual(ids.slice(5));
      }
    } finally {
      await server.close();
      await raw.quit();
    }
  });
});
