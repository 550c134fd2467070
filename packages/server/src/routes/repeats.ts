import type { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode, type RepeatSpec } from '@jobwire/core';
import { HttpCode, HttpError } from '../http-errors.ts';
import { parseWith, query, type RouteContext } from './shared.ts';

/**
 * A repeat key as `repeat()` takes it. Checked before Redis is asked: a
 * key is a field of the queue's schedule hash beside each schedule's
 * internals (`<key>:next`, …), so another string could name one of those.
 */
const repeatKey = z.object({
  key: z
    .string()
    .regex(
      /^[A-Za-z0-9_-]{1,64}$/,
      'a repeat key is 1 to 64 letters, digits, _ or -',
    ),
});

/**
 * `/repeats`: the repeat schedules of the registry's queues, each with its
 * pending occurrence (`next`) or `ended: true`, and removing one.
 */
export function mountRepeatRoutes(app: Hono, ctx: RouteContext): void {
  const { queue, registry } = ctx;
  const listQuery = z.object({
    queue: ctx.queueName.optional(),
    name: ctx.jobName.optional(),
  });

  app.get('/repeats', async (c) => {
    const { queue: q, name } = query(c, listQuery);
    const repeats: RepeatSpec[] = (await queue.getRepeats()).filter(
      (r) =>
        (q === undefined || r.queue === q) &&
        (name === undefined || r.name === name),
    );
    return c.json({ repeats });
  });

  app.delete('/repeats/:type/:key', async (c) => {
    const type = c.req.param('type');
    if (!Object.hasOwn(registry.jobs, type)) {
      throw new HttpError(
        404,
        ErrorCode.UNKNOWN_JOB_TYPE,
        `no job type ${type} in this registry`,
      );
    }
    const { key } = parseWith(repeatKey, { key: c.req.param('key') });
    if (!(await queue.removeRepeat(type, key))) {
      throw new HttpError(
        404,
        HttpCode.NOT_FOUND,
        `repeat schedule ${key} of ${type} does not exist`,
      );
    }
    return c.json({ name: type, key, removed: true });
  });
}
