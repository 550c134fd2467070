import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import {
  createQueueEvents,
  ErrorCode,
  JobwireError,
  type QueueEvents,
} from '@jobwire/core';
import { parseWith, publicEvent, query, type RouteContext } from './shared.ts';

const SSE_KEEPALIVE_MS = 15_000;
const OFFSET = /^(\$|0|\d{1,20}(-\d{1,20})?)$/;

/** `GET /events`: a queue's events as server-sent events, resumable by offset. */
export function mountEventRoutes(app: Hono, ctx: RouteContext): void {
  const { registry, connectTimeoutMs, logger } = ctx;
  app.get('/events', async (c) => {
    const q = query(
      c,
      z.object({
        queue:
          registry.queues.length === 1
            ? ctx.queueName.default(registry.queues[0]!)
            : ctx.queueName,
        from: z
          .string()
          .regex(OFFSET, 'an event offset, "0" or "$"')
          .default('$'),
      }),
    );
    const lastId = c.req.header('last-event-id');
    const from =
      lastId !== undefined && lastId !== ''
        ? parseWith(z.string().regex(OFFSET), lastId)
        : q.from;
    // Fail fast (503) when Redis is down instead of opening a stream that
    // would sit silently until the reader's own (long) start-up timeout.
    await ctx.ping();
    const events: QueueEvents = createQueueEvents({
      queue: q.queue,
      from,
      connectTimeoutMs,
      logger,
      ...(ctx.connection !== undefined ? { connection: ctx.connection } : {}),
      ...(ctx.prefix !== undefined ? { prefix: ctx.prefix } : {}),
    });
    // QueueEvents emits 'error' if its start-up fails; without a listener
    // Node would throw it (ready() rejects too, and is awaited below).
    events.on('error', () => {});
    try {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        events.ready(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new JobwireError(
                  ErrorCode.REDIS_UNAVAILABLE,
                  `event reader not ready within ${connectTimeoutMs} ms`,
                ),
              ),
            connectTimeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      await events.close();
      throw err;
    }
    c.header('Cache-Control', 'no-store');
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      const end = (): Promise<void> => events.close();
      ctx.streams.add(end);
      stream.onAbort(() => void end());
      const keepalive = setInterval(() => {
        stream.write(': keepalive\n\n').catch(() => void end());
      }, SSE_KEEPALIVE_MS);
      // Events trimmed from the log before this client read them: told
      // as a `gap` message (no id, so Last-Event-ID stays at the last
      // event) just before the first event after them.
      let gap: { offset: string; oldest: string } | undefined;
      events.on('gap', (g) => (gap = g));
      try {
        // The iterator also yields events that arrived before it started,
        // and ends when the reader is closed (client gone, server closing).
        // A client that reads slowly slows the reader down: nothing is
        // dropped, and the server holds at most about 2,000 events for it.
        for await (const e of events) {
          if (gap !== undefined) {
            const data = JSON.stringify(gap);
            gap = undefined;
            await stream.writeSSE({ event: 'gap', data });
          }
          await stream.writeSSE({
            id: e.offset,
            event: e.event,
            data: JSON.stringify(publicEvent(e)),
          });
        }
      } catch {
        // The client went away mid-write: nothing left to tell it.
      } finally {
        clearInterval(keepalive);
        ctx.streams.delete(end);
        await end();
      }
    });
  });
}
