import type { Hono } from 'hono';
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
    const [counts, waitingByVersion] = await Promise.all([
      queue.getCounts(inQueue(q)),
      queue.getWaitingByVersion(inQueue(q)),
    ]);
    // waitingByVersion: per type, its waiting jobs per contract version,
    // and `reason: 'no-reader'` on a version no live worker reads.
    return c.json({ ...counts, waitingByVersion });
  });
}
