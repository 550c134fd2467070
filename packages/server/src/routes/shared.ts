import type { Context } from 'hono';
import { z } from 'zod';
import type {
  ConnectionInput,
  JobInfo,
  JobMap,
  JobRegistry,
  JobState,
  Logger,
  Queue,
  QueueEvent,
  SerializedError,
} from '@jobwire/core';
import { HttpCode, HttpError, type HttpIssue } from '../http-errors.ts';

/** What every route module works with. */
export interface RouteContext {
  queue: Queue<JobMap>;
  registry: JobRegistry;
  logger: Logger;
  /** Largest request body in bytes. */
  bodyLimit: number;
  connectTimeoutMs: number;
  connection: ConnectionInput | undefined;
  prefix: string | undefined;
  /** Ends of the open event streams, for closeStreams(). */
  streams: Set<() => Promise<void>>;
  /** A queue name of the registry. */
  queueName: z.ZodEnum<Record<string, string>>;
  /** A job type name of the registry. */
  jobName: z.ZodEnum<Record<string, string>>;
  /** A cheap Redis round trip: rejects when Redis is down. */
  ping(): Promise<unknown>;
}

/** Every job state, as the API names them. */
export const jobStates = [
  'waiting',
  'delayed',
  'active',
  'completed',
  'failed',
  'expired',
  'cancelled',
] as const satisfies readonly JobState[];

/** An optional `?queue=` of the registry's queues. */
export const queueQuery = (ctx: RouteContext) =>
  z.object({ queue: ctx.queueName.optional() });

function zodIssues(error: z.ZodError): HttpIssue[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join('.'),
    message: i.message,
  }));
}

/** `value` parsed by `schema`, or a 400 naming each issue. */
export function parseWith<TOut>(schema: z.ZodType<TOut>, value: unknown): TOut {
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

/** The request's query string parsed by `schema`. */
export const query = <TOut>(c: Context, schema: z.ZodType<TOut>): TOut =>
  parseWith(schema, c.req.query());

/** `{ queue }` for a queue call, when the request named one. */
export const inQueue = (
  q: string | undefined,
): { queue?: string | undefined } => (q === undefined ? {} : { queue: q });

/** A recorded error without its stack: the API never shows stacks. */
function withoutStack(e: SerializedError): SerializedError {
  const out: SerializedError = { ...e };
  delete out.stack;
  return out;
}

/**
 * A job as the API shows it: recorded errors (and an upcast error) without
 * their stacks, unless the caller asked for them (`?stacks=true`, as the
 * dashboard does).
 */
export function publicJob(info: JobInfo, stacks = false): JobInfo {
  if (stacks) return info;
  const out: JobInfo = { ...info, errors: info.errors.map(withoutStack) };
  if (info.upcastError !== undefined)
    out.upcastError = withoutStack(info.upcastError);
  return out;
}

/** A `?flag=true|false` query value, false when absent. */
export const flag = () =>
  z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true');

/** An event as the API streams it: its error without the stack. */
export function publicEvent(e: QueueEvent): QueueEvent {
  return e.error === undefined ? e : { ...e, error: withoutStack(e.error) };
}
