import type { Hono } from 'hono';
import { z } from 'zod';
import { ErrorCode } from '@jobwire/core';
import { HttpCode, HttpError } from '../http-errors.ts';
import { inQueue, query, queueQuery, type RouteContext } from './shared.ts';

/** `/health`: ready when Redis answers (open: needs no token). */
export function mountHealthRoute(app: Hono, ctx: RouteContext): void {
  app.get('/health', async (c) => {
    try {
      await ctx.ping();
      return c.json({ ready: true });
    } catch {
      c.header('Retry-After', '1');
      return c.json({ ready: false }, 503);
    }
  });
}

/**
 * `/queues` and `/stats`: the registry's queues (with each job type's
 * current contract version, which `?upcast=true` reads jobs as) and the
 * job counts.
 */
export function mountQueueRoutes(app: Hono, ctx: RouteContext): void {
  const { queue, registry } = ctx;
  app.get('/queues', async (c) => {
    const queues = await Promise.all(
      registry.queues.map(async (name) => {
        const jobTypes = registry.names.filter(
          (n) => registry.jobs[n]?.queue === name,
        );
        return {
          name,
          paused: await queue.isPaused(name),
          jobTypes,
          versions: Object.fromEntries(
            jobTypes.map((n) => [n, registry.jobs[n]!.version]),
          ),
        };
      }),
    );
    return c.json({ queues });
  });

  app.get('/stats', async (c) => {
    const { queue: q } = query(c, queueQuery(ctx));
    const [counts, waitingByVersion, flow] = await Promise.all([
      queue.getCounts(inQueue(q)),
      queue.getWaitingByVersion(inQueue(q)),
      queue.getFlowStats(inQueue(q)),
    ]);
    // waitingByVersion: per type, its waiting jobs per contract version,
    // and `reason: 'no-reader'` on a version no live worker reads.
    // flow: per type with flow rules, what waits on a limit (as /flow).
    return c.json({ ...counts, waitingByVersion, flow });
  });
}

/** `?keys=`: how many keys to list per type. */
const keysQuery = z.coerce.number().int().min(1).max(1000).default(50);

/**
 * `/flow` and `/flow/:type`: flow control now, per job type with flow
 * rules (or throttled and debounced jobs): its rules, rate window and
 * counters, and its keys with the most waiting jobs and what each waits on.
 */
export function mountFlowRoutes(app: Hono, ctx: RouteContext): void {
  const { queue, registry } = ctx;
  const flowQuery = queueQuery(ctx).extend({ keys: keysQuery });
  app.get('/flow', async (c) => {
    const { queue: q, keys } = query(c, flowQuery);
    return c.json({ flow: await queue.getFlowStats({ ...inQueue(q), keys }) });
  });
  app.get('/flow/:type', async (c) => {
    const type = c.req.param('type');
    const { keys } = query(c, z.object({ keys: keysQuery }));
    if (!Object.hasOwn(registry.jobs, type)) {
      throw new HttpError(
        404,
        ErrorCode.UNKNOWN_JOB_TYPE,
        `no job type ${type} in this registry`,
      );
    }
    const flow = await queue.getFlowStats({ type, keys });
    const stats = Object.hasOwn(flow, type) ? flow[type] : undefined;
    if (stats === undefined) {
      throw new HttpError(
        404,
        HttpCode.NOT_FOUND,
        `job type ${type} has no flow state: no worker recorded flow rules for it, and nothing was throttled or debounced`,
      );
    }
    return c.json({ type, ...stats });
  });
}
