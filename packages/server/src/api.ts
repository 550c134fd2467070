import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { z } from 'zod';
import type { ConnectionInput, JobMap, Logger, Queue } from '@jobwire/core';
import { assertTokenOrInsecure, bearerAuth } from './auth.ts';
import { hasBody, isJsonType } from './body.ts';
import { isDashboardRequest, mountDashboard } from './dashboard/index.ts';
import { errorBody, HttpCode, HttpError, renderError } from './http-errors.ts';
import { mountEventRoutes } from './routes/events.ts';
import { mountJobRoutes } from './routes/jobs.ts';
import {
  mountFlowRoutes,
  mountHealthRoute,
  mountQueueRoutes,
} from './routes/queues.ts';
import { mountRepeatRoutes } from './routes/repeats.ts';
import type { RouteContext } from './routes/shared.ts';

export { assertTokenOrInsecure } from './auth.ts';
export { MAX_JOBS_PER_REQUEST } from './routes/jobs.ts';

/** Default largest request body: 1 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/** A `.` or `..` path segment, plain or percent-encoded (`%2e`). */
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?:\/|$)/i;

/** Options of `createApi`. @public */
export interface ApiOptions {
  /** The queue the routes act on; its registry names the job types. */
  queue: Queue<JobMap>;
  /** Where `GET /events` readers connect (same as the queue's). */
  connection?: ConnectionInput | undefined;
  /** Key prefix (same as the queue's). @defaultValue 'jobwire' */
  prefix?: string | undefined;
  /** How long a route waits for Redis before answering 503. @defaultValue 1000 */
  connectTimeoutMs?: number | undefined;
  /** Required bearer token. Omit only together with `insecure: true`. */
  token?: string | undefined;
  /** Allow running without a token (local development only). */
  insecure?: boolean | undefined;
  /** @defaultValue 1048576 (1 MiB) */
  bodyLimitBytes?: number | undefined;
  /** Origins allowed by CORS. @defaultValue [] (CORS closed) */
  corsOrigins?: string[] | undefined;
  /**
   * Serve the web dashboard at `/` (its files need no token; everything it
   * reads does). @defaultValue true
   */
  dashboard?: boolean | undefined;
  logger?: Logger | undefined;
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
  const allowed = new Set(options.corsOrigins ?? []);
  const streams = new Set<() => Promise<void>>();

  const ctx: RouteContext = {
    queue,
    registry,
    logger,
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    connectTimeoutMs: options.connectTimeoutMs ?? 1000,
    connection: options.connection,
    prefix: options.prefix,
    streams,
    queueName: z.enum(registry.queues as [string, ...string[]]),
    jobName: z.enum(registry.names as [string, ...string[]]),
    ping: () => queue.isPaused(registry.queues[0] ?? 'default'),
  };

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
    // Set last, over whatever a handler set: Hono's streamSSE answers
    // `no-cache`, and the event stream carries results and errors.
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
  app.use('*', async (c, next) => {
    // URLs drop `.` and `..` segments (and decode %2e) before routing, so
    // `/jobs/./log` would reach the job whose id is `log`: refuse them on
    // the raw request line instead of answering for another resource.
    const raw = (c.env as { incoming?: { url?: string } } | undefined)?.incoming
      ?.url;
    if (raw !== undefined && DOT_SEGMENT.test(raw.split('?')[0]!)) {
      throw new HttpError(
        400,
        HttpCode.BAD_REQUEST,
        'the path has a "." or ".." segment; no route or job id uses one',
      );
    }
    await next();
  });
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

  mountHealthRoute(app, ctx);
  if (dashboard) mountDashboard(app);
  mountQueueRoutes(app, ctx);
  mountFlowRoutes(app, ctx);
  mountJobRoutes(app, ctx);
  mountRepeatRoutes(app, ctx);
  mountEventRoutes(app, ctx);

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
