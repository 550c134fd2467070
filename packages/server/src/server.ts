import type { Server } from 'node:http';
import { isIP } from 'node:net';
import { serve } from '@hono/node-server';
import {
  createQueue,
  ErrorCode,
  JobwireError,
  type ConnectionInput,
  type JobMap,
  type JobRegistry,
  type Logger,
} from '@jobwire/core';
import { assertTokenOrInsecure, buildApi } from './api.ts';

/** Options of `startServer`. @public */
export interface ServerOptions {
  registry: JobRegistry;
  /** @defaultValue `process.env.REDIS_URL`, else 'redis://127.0.0.1:6379' */
  connection?: ConnectionInput | undefined;
  /** Key prefix. @defaultValue 'jobwire' */
  prefix?: string | undefined;
  /** Bearer token every route but `GET /health` requires (JOBWIRE_TOKEN). */
  token?: string | undefined;
  /** Run without a token; only allowed on a loopback host. */
  insecure?: boolean | undefined;
  /** @defaultValue '127.0.0.1' */
  host?: string | undefined;
  /** 0 picks a free port. @defaultValue 8787 */
  port?: number | undefined;
  /** @defaultValue 1048576 (1 MiB) */
  bodyLimitBytes?: number | undefined;
  /** Origins allowed by CORS. @defaultValue [] (CORS closed) */
  corsOrigins?: string[] | undefined;
  /** How long a route waits for Redis before answering 503. @defaultValue 1000 */
  connectTimeoutMs?: number | undefined;
  /**
   * How long a single Redis command may take, and how long a route keeps
   * retrying while Redis answers BUSY, before answering 503. @defaultValue 5000
   */
  commandTimeoutMs?: number | undefined;
  /** Serve the web dashboard at `/`. @defaultValue true */
  dashboard?: boolean | undefined;
  logger?: Logger | undefined;
}

/** A running server. @public */
export interface RunningServer {
  /** e.g. `http://127.0.0.1:8787` */
  url: string;
  /** Ends event streams, stops listening, then closes the queue. */
  close(): Promise<void>;
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
}

/**
 * Starts the HTTP JSON API on its own Queue. Refuses to start without a
 * token unless `insecure: true`, and in insecure mode binds loopback only.
 * @public
 */
export async function startServer(
  options: ServerOptions,
): Promise<RunningServer> {
  assertTokenOrInsecure(options.token, options.insecure);
  const host = options.host ?? '127.0.0.1';
  if (options.token === undefined && !isLoopback(host)) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `jobwire server: insecure mode (no JOBWIRE_TOKEN) only binds a loopback host, not ${host}; set JOBWIRE_TOKEN to listen on other interfaces`,
    );
  }
  const port = options.port ?? 8787;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `jobwire server: port must be an integer 0-65535, got ${String(port)}`,
    );
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const queue = createQueue<JobMap>(options.registry, {
    connectTimeoutMs,
    ...(options.commandTimeoutMs !== undefined
      ? { commandTimeoutMs: options.commandTimeoutMs }
      : {}),
    ...(options.connection !== undefined
      ? { connection: options.connection }
      : {}),
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
  });
  let api: ReturnType<typeof buildApi>;
  let server: Server;
  try {
    api = buildApi({
      queue,
      connectTimeoutMs,
      ...(options.connection !== undefined
        ? { connection: options.connection }
        : {}),
      ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.insecure !== undefined ? { insecure: options.insecure } : {}),
      ...(options.bodyLimitBytes !== undefined
        ? { bodyLimitBytes: options.bodyLimitBytes }
        : {}),
      ...(options.corsOrigins !== undefined
        ? { corsOrigins: options.corsOrigins }
        : {}),
      ...(options.dashboard !== undefined
        ? { dashboard: options.dashboard }
        : {}),
      ...(options.logger !== undefined ? { logger: options.logger } : {}),
    });
    const app = api.app;
    server = await new Promise<Server>((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port, hostname: host }) as Server;
      s.once('error', reject);
      s.once('listening', () => {
        s.off('error', reject);
        resolve(s);
      });
    });
  } catch (err) {
    await queue.close();
    throw err;
  }
  // A failing socket must never take the process down.
  server.on('error', (err) =>
    (options.logger ?? console).error(
      `jobwire server: ${err instanceof Error ? err.message : String(err)}`,
    ),
  );
  const addr = server.address();
  const boundPort =
    typeof addr === 'object' && addr !== null ? addr.port : port;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${boundPort}`,
    close() {
      closing ??= (async () => {
        await api.closeStreams();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await queue.close();
      })();
      return closing;
    },
  };
}
