import type { Context, Hono } from 'hono';
import { z } from 'zod';
import {
  BulkEnqueueError,
  ErrorCode,
  JobwireError,
  type BulkItem,
  type BulkStoredJob,
  type EnqueueOptions,
  type JobInfo,
  type JobMap,
} from '@jobwire/core';
import { hasBody, readJson } from '../body.ts';
import { HttpError } from '../http-errors.ts';
import { listJobs } from '../listing.ts';
import {
  flag,
  inQueue,
  jobStates,
  parseWith,
  publicJob,
  query,
  queueQuery,
  type RouteContext,
} from './shared.ts';

/** Largest number of jobs in one `POST /jobs` request. */
export const MAX_JOBS_PER_REQUEST = 1000;

const jobInput = z.object({
  name: z.string().min(1),
  payload: z.unknown(),
  options: z.record(z.string(), z.unknown()).optional(),
});
const bulkBody = z.object({
  jobs: z.array(jobInput).min(1).max(MAX_JOBS_PER_REQUEST),
});
type JobInput = z.infer<typeof jobInput>;
const idParam = z.string().min(1).max(256);
/** `POST /jobs/:id/cancel`'s optional body (core checks the reason's length). */
const cancelBody = z.strictObject({
  reason: z.string().optional(),
});

/** JSON has no dates: `runAt` comes as an ISO string or epoch ms. */
function toEnqueueOptions(
  options: Record<string, unknown> | undefined,
): EnqueueOptions | undefined {
  if (options === undefined) return undefined;
  const { runAt, ...rest } = options;
  const out: Record<string, unknown> = rest;
  if (typeof runAt === 'string' || typeof runAt === 'number') {
    out.runAt = new Date(runAt);
  } else if (runAt !== undefined) out.runAt = runAt;
  return out as EnqueueOptions;
}

const toItem = (j: JobInput): BulkItem<JobMap> => ({
  name: j.name,
  payload: j.payload,
  ...(j.options !== undefined ? { options: toEnqueueOptions(j.options) } : {}),
});

/**
 * An enqueued job as the API reports it: `outcome` says whether it was
 * stored (`created`), found as a duplicate of its `jobId`, or dropped by
 * its type's throttle (never stored); `duplicate` stays for older clients;
 * `replaced` is the pending job its debounce cancelled, if any.
 */
const storedJob = (h: BulkStoredJob) => ({
  id: h.id,
  name: h.name,
  queue: h.queue,
  outcome: h.outcome,
  duplicate: h.duplicate,
  ...(h.replaced !== undefined ? { replaced: h.replaced } : {}),
});

/** Why an item of a bulk enqueue was not stored: its code and message. */
const itemError = (e: Error) => ({
  code: e instanceof JobwireError ? e.code : 'INTERNAL',
  message: e instanceof JobwireError ? e.message : 'internal server error',
});

/** `/jobs` and `/jobs/:id…`: list, show, enqueue, and the per-job actions. */
export function mountJobRoutes(app: Hono, ctx: RouteContext): void {
  const { queue } = ctx;
  const int = (min: number, max: number) =>
    z.coerce.number().int().min(min).max(max);
  const listQuery = z.object({
    state: z.enum(jobStates).default('waiting'),
    name: ctx.jobName.optional(),
    queue: ctx.queueName.optional(),
    offset: int(0, 1_000_000_000).default(0),
    limit: int(1, 1000).default(50),
    upcast: flag(),
  });
  const inAnyQueue = queueQuery(ctx);
  const jobQuery = inAnyQueue.extend({ stacks: flag(), upcast: flag() });
  const id = (c: Context): string => parseWith(idParam, c.req.param('id'));
  /** The job of the path; with `upcast`, its data in the current shape. */
  const mustGet = async (c: Context, upcast = false): Promise<JobInfo> => {
    const jobId = id(c);
    const { queue: q } = query(c, jobQuery);
    const info = await queue.getJob(jobId, { ...inQueue(q), upcast });
    if (info === undefined) {
      throw new HttpError(
        404,
        ErrorCode.JOB_NOT_FOUND,
        `job ${jobId} does not exist`,
      );
    }
    return info;
  };

  app.get('/jobs', async (c) => {
    const jobs = await listJobs(queue, query(c, listQuery));
    return c.json({ jobs: jobs.map((j) => publicJob(j)) });
  });

  app.get('/jobs/:id', async (c) => {
    const { stacks, upcast } = query(c, jobQuery);
    return c.json(publicJob(await mustGet(c, upcast), stacks));
  });

  app.get('/jobs/:id/log', async (c) => {
    const info = await mustGet(c);
    return c.json({ id: info.id, logs: info.logs });
  });

  app.post('/jobs', async (c) => {
    const raw = await readJson(c.req.raw, ctx.bodyLimit);
    // Pick the shape by its key, so issues name fields, not a union.
    const body =
      typeof raw === 'object' && raw !== null && 'jobs' in raw
        ? parseWith(bulkBody, raw)
        : parseWith(jobInput, raw);
    if ('jobs' in body) {
      try {
        const handles = await queue.enqueueBulk(body.jobs.map(toItem));
        return c.json({ jobs: handles.map(storedJob) }, 201);
      } catch (err) {
        if (!(err instanceof BulkEnqueueError)) throw err;
        // Some stored, some not: 207, and per item what happened, so a
        // client retries exactly the failed ones (a 5xx would invite a
        // retry of the whole request, storing the others twice).
        return c.json(
          {
            error: { code: err.code, message: err.message },
            jobs: err.outcomes.map((o) =>
              o.ok ? storedJob(o.handle) : { error: itemError(o.error) },
            ),
          },
          207,
        );
      }
    }
    const item = toItem(body);
    const h = await queue.enqueue(item.name, item.payload, item.options);
    // A throttled job was handled as its type's rules say, but nothing was
    // created: 200, not 201. Not 429: the drop is the rule working, and a
    // client or proxy retrying on 429 would turn a lossy throttle into a
    // deferral (docs/http-api.md).
    return c.json(storedJob(h), h.outcome === 'throttled' ? 200 : 201);
  });

  const action =
    (
      run: (jobId: string, o: { queue?: string | undefined }) => Promise<void>,
      done: string,
    ) =>
    async (c: Context) => {
      const jobId = id(c);
      const { queue: q } = query(c, inAnyQueue);
      await run(jobId, inQueue(q));
      return c.json({ id: jobId, [done]: true });
    };
  app.delete(
    '/jobs/:id',
    action((i, o) => queue.remove(i, o), 'removed'),
  );
  app.post(
    '/jobs/:id/retry',
    action((i, o) => queue.retry(i, o), 'retried'),
  );
  app.post(
    '/jobs/:id/promote',
    action((i, o) => queue.promote(i, o), 'promoted'),
  );
  // A waiting or delayed job ends cancelled at once (`cancelled`); an
  // active one is aborted at its worker's next lease renewal (`requested`).
  app.post('/jobs/:id/cancel', async (c) => {
    const jobId = id(c);
    const { queue: q } = query(c, inAnyQueue);
    const body = hasBody(c.req.raw)
      ? parseWith(cancelBody, await readJson(c.req.raw, ctx.bodyLimit))
      : {};
    const outcome = await queue.cancel(jobId, {
      ...inQueue(q),
      ...(body.reason !== undefined ? { reason: body.reason } : {}),
    });
    return c.json({ id: jobId, outcome });
  });
}
