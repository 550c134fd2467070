import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  ErrorCode,
  JobwireError,
  ValidationError,
  type Logger,
} from '@jobwire/core';

/** Codes of refusals made by the HTTP layer itself (not by jobwire). */
export const HttpCode = {
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  INVALID_JSON: 'INVALID_JSON',
  JSON_TOO_DEEP: 'JSON_TOO_DEEP',
  BAD_REQUEST: 'BAD_REQUEST',
  INTERNAL: 'INTERNAL',
} as const;

/** One failing field of a request. */
export interface HttpIssue {
  path: string;
  message: string;
}

/** The body of every error response: `{ error: { code, message, issues? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: HttpIssue[] | undefined };
}

/** A refusal with a status, thrown by handlers and rendered by `onError`. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: HttpIssue[],
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * The client closed its connection before its request body arrived. Not a
 * server fault: it is not logged as an error, and no response is written.
 */
export class ClientGoneError extends Error {
  constructor(cause: unknown) {
    super('client closed the connection mid-request', { cause });
    this.name = 'ClientGoneError';
  }
}

export function errorBody(
  code: string,
  message: string,
  issues?: HttpIssue[],
): ErrorBody {
  return { error: { code, message, ...(issues ? { issues } : {}) } };
}

/**
 * Status of each jobwire error code. Anything not listed is a 500 whose
 * message is not echoed (it may carry internals); stacks never are.
 */
const statusOf: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  [ErrorCode.VALIDATION_FAILED]: 400,
  [ErrorCode.INVALID_OPTION]: 400,
  [ErrorCode.INVALID_NAME]: 400,
  [ErrorCode.NOT_JSON]: 400,
  [ErrorCode.UNKNOWN_JOB_TYPE]: 404,
  [ErrorCode.JOB_NOT_FOUND]: 404,
  [ErrorCode.JOB_NOT_IN_STATE]: 409,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.REDIS_UNAVAILABLE]: 503,
  [ErrorCode.REDIS_OUT_OF_MEMORY]: 503,
  // BUSY ran nothing of the request: a retry after the script ends is safe.
  [ErrorCode.REDIS_BUSY]: 503,
  [ErrorCode.CLOSED]: 503,
  // The jobs WERE stored; only their persistence is unconfirmed, so this is
  // not a "retry me" 503: a blind retry without jobId would run them twice.
  [ErrorCode.DURABILITY_UNAVAILABLE]: 500,
  [ErrorCode.DURABILITY_TIMEOUT]: 500,
};

/**
 * Where a validation issue's path is rooted in the request body: enqueue
 * reports paths relative to the payload (or the options), with a subject
 * such as `payload of sendEmail` or `item 2 (sendEmail): payload of ...`.
 */
function issuePrefix(subject: string): string {
  const item = /^item (\d+) \([^)]*\): (.*)$/.exec(subject);
  const rest = item ? item[2]! : subject;
  const field = /^payload\b/.test(rest)
    ? 'payload'
    : /options/.test(rest)
      ? 'options'
      : '';
  const base = item ? `jobs.${item[1]!}` : '';
  return [base, field].filter((p) => p !== '').join('.');
}

function joinPath(prefix: string, path: string): string {
  if (prefix === '') return path;
  return path === '' ? prefix : `${prefix}.${path}`;
}

/**
 * The message of a jobwire error as the API gives it. The library's words
 * name its calls (`removeJob: …`) and options (`connectTimeoutMs`,
 * `pass { queue }`), which an API client never sees: the message without
 * them, and for a job id in several queues, advice in the API's terms.
 */
function apiMessage(err: JobwireError): string {
  const hint = err.hint;
  if (hint === undefined) return err.problem ?? err.message;
  if (hint.option !== 'queue') return hint.problem;
  const values =
    hint.values !== undefined && hint.values.length > 0
      ? `<${hint.values.join('|')}>`
      : '<queue>';
  return `${hint.problem}; pass ?queue=${values} to say which`;
}

/** Renders any thrown value as the API's error JSON. */
export function renderError(
  err: unknown,
  c: Context,
  logger: Logger,
): Response {
  if (err instanceof ClientGoneError) {
    // Its socket is gone: the adapter writes nothing for a bodyless 499 on
    // a destroyed socket, and there is nothing worth logging.
    return new Response(null, { status: 499 });
  }
  c.header('Cache-Control', 'no-store');
  if (err instanceof HttpError) {
    return c.json(errorBody(err.code, err.message, err.issues), err.status);
  }
  if (err instanceof ValidationError) {
    const prefix = issuePrefix(err.subject);
    const issues = err.issues.map((i) => ({
      path: joinPath(prefix, i.path),
      message: i.message,
    }));
    return c.json(errorBody(err.code, err.message, issues), 400);
  }
  if (err instanceof JobwireError) {
    const status = statusOf[err.code];
    if (status !== undefined) {
      if (status === 503) c.header('Retry-After', '1');
      return c.json(errorBody(err.code, apiMessage(err)), status);
    }
  }
  logger.error(
    `jobwire server: unhandled error: ${err instanceof Error ? err.message : String(err)}`,
  );
  return c.json(errorBody(HttpCode.INTERNAL, 'internal server error'), 500);
}
