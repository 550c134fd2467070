import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import {
  createQueueEvents,
  ErrorCode,
  JobwireError,
  type BulkItem,
  type ConnectionInput,
  type EnqueueOptions,
  type JobInfo,
  type JobMap,
  type JobState,
  type Logger,
  type Queue,
  type QueueEvent,
  type QueueEvents,
  type SerializedError,
} from '@jobwire/core';
import { hasBody, isJsonType, readJson } from './body.ts';
import { isDashboardRequest, mountDashboard } from './dashboard/index.ts';
import {
  errorBody,
  HttpCode,
  HttpError,
  renderError,
  type HttpIssue,
} from './http-errors.ts';
import { listJobs } from './listing.ts';

/** Default largest request body: 1 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** Largest number of jobs in one `POST /jobs` request. */
export const MAX_JOBS_PER_REQUEST = 1000;
const SSE_KEEPALIVE_MS = 15_000;

/** Options of `createApi`. @public */
export interface ApiOptions {
  /** The queue the routes act on; its registry names the job types. */
  queue: Queue<JobMap>;
  /** Where `GET /events` readers connect (same as the queue's). */
  connection?: ConnectionInput;
  /** Key prefix (same as the queue's). @defaultValue 'jobwire' */
  prefix?: string;
  /** How long a route waits for Redis before answering 503. @defaultValue 1000 */
  connectTimeoutMs?: number;
  /** Required bearer token. Omit only together with `insecure: true`. */
  token?: string;
  /** Allow running without a token (local development only). */
  insecure?: boolean;
  /** @defaultValue 1048576 (1 MiB) */
  bodyLimitBytes?: number;
  /** Origins allowed by CORS. @defaultValue [] (CORS closed) */
  corsOrigins?: string[];
  /**
   * Serve the web dashboard at `/` (its files need no token; everything it
   * reads does). @defaultValue true
   */
  dashboard?: boolean;
  logger?: Logger;
}

/** What `buildApi` returns: the app plus a way to end open event streams. */
export interface BuiltApi {
  app: Hono;
  /** Ends every open `GET /events` stream and closes its reader. */
  closeStreams(): Promise<void>;
}

const quietDefaultLogger: Logger = {
  warn: (m) => console.warn(`[jobwire-server] ${m}`),
  error: (m) => console.error(`[jobwire-server] ${m}`),
};

/** Throws unless a token is set or insecure mode was asked for. */
export function assertTokenOrInsecure(
  token: string | undefined,
  insecure: boolean | undefined,
): void {
  if (token !== undefined && token.length === 0) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      'jobwire server: token is empty; set JOBWIRE_TOKEN to a long random secret',
    );
  }
  if (token === undefined && insecure !== true) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      'jobwire server refuses to start without an API token: set JOBWIRE_TOKEN (or pass `token`), ' +
        'or pass `insecure: true` to run unauthenticated on loopback only',
    );
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Bearer-token check. Both sides are hashed to fixed-length digests, then
 * compared with `timingSafeEqual`, so neither the token's content nor its
 * length leaks through response timing. `isOpen` names the requests that
 * need no token: they must not read or change anything in Redis.
 */
function bearerAuth(
  token: string,
  isOpen: (method: string, path: string) => boolean,
): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    if (isOpen(c.req.method, c.req.path)) return next();
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    const given = digest(m?.[1] ?? '');
    if (m === null || !timingSafeEqual(given, expected)) {
      c.header('WWW-Authenticate', 'Bearer realm="jobwire"');
      c.header('Cache-Control', 'no-store');
      return c.json(
        errorBody(
          HttpCode.UNAUTHORIZED,
          'missing or invalid bearer token (Authorization: Bearer <token>)',
        ),
        401,
      );
    }
    return next();
  };
}

const jobStates = [
  'waiting',
  'delayed',
  'active',
  'completed',
  'failed',
  'expired',
] as const satisfies readonly JobState[];

const jobInput = z.object({
  name: z.string().min(1),
  payload: z.unknown(),
  options: z.record(z.string(), z.unknown()).optional(),
});
const bulkBody = z.object({
  jobs: z.array(jobInput).min(1).max(MAX_JOBS_PER_REQUEST),
});
type JobInput = z.infer<typeof jobInput>;

function zodIssues(error: z.ZodError): HttpIssue[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join('.'),
    message: i.message,
  }));
}

function parseWith<TOut>(schema: z.ZodType<TOut>, value: unknown): TOut {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new HttpError(
      400,
      HttpCode.BAD_REQUEST,
      'invalid request',
      zodIssues(parsed.error),
    );
  }
  return parsed.data;
}

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

/** A recorded error without its stack: the API never shows stacks. */
function withoutStack(e: SerializedError): SerializedError {
  const out: SerializedError = { ...e };
  delete out.stack;
  return out;
}

/**
 * A job as the API shows it: recorded errors without their stacks, unless
 * the caller asked for them (`?stacks=true`, as the dashboard does).
 */
function publicJob(info: JobInfo, stacks = false): JobInfo {
  return stacks ? info : { ...info, errors: info.errors.map(withoutStack) };
}

function publicEvent(e: QueueEvent): QueueEvent {
  return e.error === undefined ? e : { ...e, error: withoutStack(e.error) };
}

const OFFSET = /^(\$|0|\d{1,20}(-\d{1,20})?)$/;

/**
 * Builds the HTTP JSON API.
 *
 * CSRF: mutations need `Authorization: Bearer <token>`, which a browser
 * never attaches on its own (unlike cookies), and a JSON content type,
 * which a cross-site form or "simple" request cannot send without a CORS
 * preflight; with CORS closed (the default) that preflight fails. So a
 * third-party page cannot forge a mutation.
 */
export function buildApi(options: ApiOptions): BuiltApi {
  assertTokenOrInsecure(options.token, options.insecure);
  const queue = options.queue;
  const registry = queue.registry;
  const logger = options.logger ?? quietDefaultLogger;
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const allowed = new Set(options.corsOrigins ?? []);
  const streams = new Set<() => Promise<void>>();

  const queueName = z.enum(registry.queues as [string, ...string[]]);
  const jobName = z.enum(registry.names as [string, ...string[]]);
  const int = (min: number, max: number) =>
    z.coerce.number().int().min(min).max(max);
  const listQuery = z.object({
    state: z.enum(jobStates).default('waiting'),
    name: jobName.optional(),
    queue: queueName.optional(),
    offset: int(0, 1_000_000_000).default(0),
    limit: int(1, 1000).default(50),
  });
  const queueQuery = z.object({ queue: queueName.optional() });
  const jobQuery = queueQuery.extend({
    stacks: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
  });
  const idParam = z.string().min(1).max(256);

  const app = new Hono();
  app.onError((err, c) => renderError(err, c, logger));
  app.notFound((c) =>
    c.json(
      errorBody(HttpCode.NOT_FOUND, `no route ${c.req.method} ${c.req.path}`),
      404,
    ),
  );

  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    if (!c.res.headers.has('Cache-Control'))
      c.header('Cache-Control', 'no-store');
  });
  // CORS is closed unless an origin is listed: unlisted origins get no
  // Access-Control-Allow-Origin, so browsers block the response.
  app.use(
    '*',
    cors({
      origin: (origin) => (allowed.has(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID'],
      maxAge: 600,
    }),
  );
  const dashboard = options.dashboard ?? true;
  const isOpen = (method: string, path: string): boolean =>
    path === '/health' || (dashboard && isDashboardRequest(method, path));
  if (options.token !== undefined) {
    app.use('*', bearerAuth(options.token, isOpen));
  }
  app.use('*', async (c, next) => {
    if (
      hasBody(c.req.raw) &&
      !isJsonType(c.req.header('content-type') ?? null)
    ) {
      throw new HttpError(
        415,
        HttpCode.UNSUPPORTED_MEDIA_TYPE,
        'request bodies must be Content-Type: application/json',
      );
    }
    return next();
  });

  const query = <TOut>(c: Context, schema: z.ZodType<TOut>): TOut =>
    parseWith(schema, c.req.query());
  const id = (c: Context): string => parseWith(idParam, c.req.param('id'));
  const mustGet = async (c: Context): Promise<JobInfo> => {
    const jobId = id(c);
    const { queue: q } = query(c, jobQuery);
    const info = await queue.getJob(jobId, q === undefined ? {} : { queue: q });
    if (info === undefined) {
      throw new HttpError(
        404,
        ErrorCode.JOB_NOT_FOUND,
        `job ${jobId} does not exist`,
      );
    }
    return info;
  };
  const ping = (): Promise<unknown> =>
    queue.isPaused(registry.queues[0] ?? 'default');

  app.get('/health', async (c) => {
    try {
      await ping();
      return c.json({ ready: true });
    } catch {
      c.header('Retry-After', '1');
      return c.json({ ready: false }, 503);
    }
  });

  if (dashboard) mountDashboard(app);

  app.get('/queues', async (c) => {
    const queues = await Promise.all(
      registry.queues.map(async (name) => ({
        name,
        paused: await queue.isPaused(name),
        jobTypes: registry.names.filter(
          (n) => registry.jobs[n]?.queue === name,
        ),
      })),
    );
    return c.json({ queues });
  });

  app.get('/stats', async (c) => {
    const { queue: q } = query(c, queueQuery);
    return c.json(await queue.getCounts(q === undefined ? {} : { queue: q }));
  });

  app.get('/jobs', async (c) => {
    const jobs = await listJobs(queue, query(c, listQuery));
    return c.json({ jobs: jobs.map((j) => publicJob(j)) });
  });

  app.get('/jobs/:id', async (c) => {
    const info = await mustGet(c);
    return c.json(publicJob(info, query(c, jobQuery).stacks));
  });

  app.get('/jobs/:id/log', async (c) => {
    const info = await mustGet(c);
    return c.json({ id: info.id, logs: info.logs });
  });

  app.post('/jobs', async (c) => {
    const raw = await readJson(c.req.raw, limit);
    // Pick the shape by its key, so issues name fields, not a union.
    const body =
      typeof raw === 'object' && raw !== null && 'jobs' in raw
        ? parseWith(bulkBody, raw)
        : parseWith(jobInput, raw);
    const toItem = (j: JobInput): BulkItem<JobMap> => ({
      name: j.name,
      payload: j.payload,
      ...(j.options !== undefined
        ? { options: toEnqueueOptions(j.options) }
        : {}),
    });
    if ('jobs' in body) {
      const handles = await queue.enqueueBulk(body.jobs.map(toItem));
      return c.json(
        {
          jobs: handles.map((h) => ({
            id: h.id,
            name: h.name,
            queue: h.queue,
            duplicate: h.duplicate,
          })),
        },
        201,
      );
    }
    const item = toItem(body);
    const h = await queue.enqueue(item.name, item.payload, item.options);
    return c.json(
      { id: h.id, name: h.name, queue: h.queue, duplicate: h.duplicate },
      201,
    );
  });

  const action =
    (
      run: (jobId: string, o: { queue?: string }) => Promise<void>,
      done: string,
    ) =>
    async (c: Context) => {
      const jobId = id(c);
      const { queue: q } = query(c, queueQuery);
      await run(jobId, q === undefined ? {} : { queue: q });
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

  app.get('/events', async (c) => {
    const q = query(
      c,
      z.object({
        queue:
          registry.queues.length === 1
            ? queueName.default(registry.queues[0]!)
            : queueName,
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
    await ping();
    const events: QueueEvents = createQueueEvents({
      queue: q.queue,
      from,
      connectTimeoutMs,
      logger,
      ...(options.connection !== undefined
        ? { connection: options.connection }
        : {}),
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
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
      streams.add(end);
      stream.onAbort(() => void end());
      const keepalive = setInterval(() => {
        stream.write(': keepalive\n\n').catch(() => void end());
      }, SSE_KEEPALIVE_MS);
      try {
        // The iterator also yields events that arrived before it started,
        // and ends when the reader is closed (client gone, server closing).
        for await (const e of events) {
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
        streams.delete(end);
        await end();
      }
    });
  });

  return {
    app,
    async closeStreams() {
      await Promise.all([...streams].map((end) => end()));
    },
  };
}

/**
 * Creates the HTTP JSON API (a Hono app) over a queue. Mount it with any
 * Hono adapter, or use `startServer` for a ready HTTP server.
 * @public
 */
export function createApi(options: ApiOptions): Hono {
  return buildApi(options).app;
}
