import { inspect } from 'node:util';
import type { $ZodIssue } from 'zod/v4/core';

/**
 * Every error code jobwire raises. Codes are stable strings: match on them,
 * not on messages.
 * @public
 */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  INVALID_OPTION: 'INVALID_OPTION',
  INVALID_NAME: 'INVALID_NAME',
  UNKNOWN_JOB_TYPE: 'UNKNOWN_JOB_TYPE',
  NOT_JSON: 'NOT_JSON',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  CORRUPT_JOB: 'CORRUPT_JOB',
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  JOB_NOT_IN_STATE: 'JOB_NOT_IN_STATE',
  LEASE_LOST: 'LEASE_LOST',
  TIMEOUT: 'TIMEOUT',
  SHUTDOWN: 'SHUTDOWN',
  STALL_LIMIT: 'STALL_LIMIT',
  EXPIRED: 'EXPIRED',
  PERMANENT: 'PERMANENT',
  HANDLER_FAILED: 'HANDLER_FAILED',
  REDIS_UNAVAILABLE: 'REDIS_UNAVAILABLE',
  REDIS_OUT_OF_MEMORY: 'REDIS_OUT_OF_MEMORY',
  REDIS_BUSY: 'REDIS_BUSY',
  REDIS_CONFIG: 'REDIS_CONFIG',
  REDIS_NO_PERMISSION: 'REDIS_NO_PERMISSION',
  CLOSED: 'CLOSED',
  DURABILITY_UNAVAILABLE: 'DURABILITY_UNAVAILABLE',
  DURABILITY_TIMEOUT: 'DURABILITY_TIMEOUT',
  BULK_PARTIAL: 'BULK_PARTIAL',
  UPCAST_FAILED: 'UPCAST_FAILED',
  CANCELLED: 'CANCELLED',
  THROTTLED: 'THROTTLED',
  LAYOUT_UNSUPPORTED: 'LAYOUT_UNSUPPORTED',
} as const;

/** @public */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Structured advice on an error that one option of the call resolves, or
 * whose wait that option bounded, so a front end (the CLI, a UI) can phrase
 * it in its own terms: the CLI says `--queue` where the library says
 * `{ queue }`, and points at REDIS_URL where it says `(connectTimeoutMs)`.
 * @public
 */
export interface OptionHint {
  /**
   * The option of the call that resolves the error, e.g. `queue`, or that
   * bounded the wait that ran out (`connectTimeoutMs`).
   */
  readonly option: string;
  /** The values to choose from, when known (e.g. the queues holding an id). */
  readonly values?: readonly string[] | undefined;
  /** The message without the library's advice. */
  readonly problem: string;
}

/**
 * The base class of every error jobwire throws or records.
 * @public
 */
export class JobwireError extends Error {
  readonly code: ErrorCode;
  /** Which option resolves this error (or bounded its wait), when one does. */
  readonly hint?: OptionHint | undefined;
  /**
   * The library call the message names first (`removeJob` in
   * `removeJob: job 7 does not exist`), when it names one.
   */
  readonly operation?: string | undefined;
  /**
   * The message without the call it names (`job 7 does not exist`), set
   * with `operation`, so a front end can frame it in its own terms.
   */
  readonly problem?: string | undefined;
  constructor(
    code: ErrorCode,
    message: string,
    options?: {
      cause?: unknown;
      hint?: OptionHint | undefined;
      operation?: string | undefined;
      problem?: string | undefined;
    },
  ) {
    super(message, options);
    this.name = 'JobwireError';
    this.code = code;
    if (options?.hint !== undefined) this.hint = options.hint;
    if (options?.operation !== undefined) this.operation = options.operation;
    if (options?.problem !== undefined) this.problem = options.problem;
  }
}

/**
 * An error refused by one library call, as `operation: problem`, with both
 * parts kept as fields (`operation`, `problem`) for front ends.
 */
export function refusedBy(
  code: ErrorCode,
  operation: string,
  problem: string,
): JobwireError {
  return new JobwireError(code, `${operation}: ${problem}`, {
    operation,
    problem,
  });
}

/** One failing field: a dotted path (empty for the root) and zod's message. */
export interface ValidationIssue {
  path: string;
  message: string;
  code: string;
}

/**
 * A payload, result, progress value or option failed its schema. Lists every
 * failing field.
 * @public
 */
export class ValidationError extends JobwireError {
  readonly issues: readonly ValidationIssue[];
  /** What was being validated, e.g. `payload of sendEmail`. */
  readonly subject: string;
  constructor(
    subject: string,
    issues: readonly ValidationIssue[],
    code: ErrorCode = ErrorCode.VALIDATION_FAILED,
  ) {
    const detail = issues
      .map((i) => `${i.path === '' ? '(root)' : i.path}: ${i.message}`)
      .join('; ');
    super(code, `invalid ${subject}: ${detail}`);
    this.name = 'ValidationError';
    this.subject = subject;
    this.issues = issues;
  }

  /** Builds the error from zod issues. */
  static fromZod(
    subject: string,
    issues: readonly $ZodIssue[],
  ): ValidationError {
    return new ValidationError(
      subject,
      issues.flatMap((i): ValidationIssue[] => {
        const path = i.path.map(String);
        // One issue per unknown key, at the key's own path, so each names
        // the field to remove (zod reports them all at the object).
        if (i.code === 'unrecognized_keys') {
          return i.keys.map((key) => ({
            path: [...path, key].join('.'),
            message: `unknown key ${JSON.stringify(key)}`,
            code: i.code,
          }));
        }
        return [{ path: path.join('.'), message: i.message, code: i.code }];
      }),
    );
  }
}

/**
 * A serialized payload is larger than `maxPayloadBytes`, or a handler's
 * result, progress value or log line larger than the worker's
 * `maxResultBytes`.
 * @public
 */
export class PayloadTooLargeError extends JobwireError {
  constructor(
    readonly limit: number,
    readonly actual: number,
    subject: string,
    option: 'maxPayloadBytes' | 'maxResultBytes' = 'maxPayloadBytes',
  ) {
    const hint =
      option === 'maxPayloadBytes'
        ? 'store large data elsewhere and enqueue a reference'
        : 'store large values elsewhere and keep a reference to them';
    super(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `${subject} is ${actual} bytes as JSON, over the limit of ${limit} bytes (${option}); ${hint}`,
    );
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * A handler ran past its `timeoutMs`.
 * @public
 */
export class TimeoutError extends JobwireError {
  constructor(readonly timeoutMs: number) {
    super(ErrorCode.TIMEOUT, `handler timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * The worker is shutting down and its deadline passed; used as the abort
 * reason of the handler's signal.
 * @public
 */
export class ShutdownError extends JobwireError {
  constructor(message = 'worker shut down before the handler finished') {
    super(ErrorCode.SHUTDOWN, message);
    this.name = 'ShutdownError';
  }
}

/**
 * The worker no longer holds the job's lease: another worker took it over, so
 * this worker's writes for the job are refused.
 * @public
 */
export class LeaseLostError extends JobwireError {
  constructor(readonly jobId: string) {
    super(
      ErrorCode.LEASE_LOST,
      `lease on job ${jobId} was lost (stalled and recovered, or taken by another worker); this write was refused`,
    );
    this.name = 'LeaseLostError';
  }
}

/**
 * The job was cancelled (`queue.cancel`, the CLI, the HTTP API or the
 * dashboard). It is the abort reason of an active job's handler signal,
 * and what `finished()` rejects with for a cancelled job. A cancelled job
 * is never retried.
 * @public
 */
export class CancelledError extends JobwireError {
  constructor(
    readonly jobId: string,
    /** The reason given with the cancel, if any. */
    readonly reason?: string,
  ) {
    super(
      ErrorCode.CANCELLED,
      `job ${jobId} was cancelled${reason !== undefined && reason !== '' ? `: ${reason}` : ''}`,
    );
    this.name = 'CancelledError';
  }
}

/**
 * Throw this from a handler to fail the job at once, without retries.
 * @public
 */
export class PermanentError extends JobwireError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.PERMANENT, message, options);
    this.name = 'PermanentError';
  }
}

/**
 * An upcaster threw while a job of an older contract version was brought to
 * the current one. The job fails at once (retrying runs the same function on
 * the same data); the thrown error's message and stack are recorded on it.
 * @public
 */
export class UpcastError extends JobwireError {
  constructor(
    subject: string,
    /** The version the failing step reads. */
    readonly fromVersion: number,
    /** The version it was to produce. */
    readonly toVersion: number,
    cause: unknown,
  ) {
    const thrown = thrownParts(cause);
    super(
      ErrorCode.UPCAST_FAILED,
      `upcaster from version ${fromVersion} to ${toVersion} threw on ${subject}: ${thrown.isError ? thrown.message : thrown.described}`,
      { cause },
    );
    this.name = 'UpcastError';
    // The recorded stack is the upcaster's: that is where the bug is.
    if (thrown.stack !== undefined)
      this.stack = `${this.name}: ${this.message}\nCaused by: ${thrown.stack}`;
  }
}

/**
 * Redis could not be reached within the configured time, or the connection
 * dropped while a command was in flight (its outcome is then unknown).
 * @public
 */
export class RedisUnavailableError extends JobwireError {
  /**
   * `message` is the text, or the text with its hint (a wait for a
   * connection names the option that bounded it).
   */
  constructor(
    message: string | { message: string; hint?: OptionHint | undefined },
    options?: { cause?: unknown },
  ) {
    const text = typeof message === 'string' ? message : message.message;
    const hint = typeof message === 'string' ? undefined : message.hint;
    super(ErrorCode.REDIS_UNAVAILABLE, text, { ...options, hint });
    this.name = 'RedisUnavailableError';
  }
}

/**
 * Redis refused a write because it reached `maxmemory`. Nothing was written.
 * @public
 */
export class RedisOutOfMemoryError extends JobwireError {
  constructor(options?: { cause?: unknown }) {
    super(
      ErrorCode.REDIS_OUT_OF_MEMORY,
      'Redis is out of memory (maxmemory reached with noeviction); the write was refused and nothing was stored',
      options,
    );
    this.name = 'RedisOutOfMemoryError';
  }
}

/**
 * Redis answered BUSY for longer than the call could wait: a Lua script (of
 * any program) was running past `busy-reply-threshold`, and Redis refuses
 * every other command until it ends. The command that met BUSY was not run,
 * so retrying it is safe.
 * @public
 */
export class RedisBusyError extends JobwireError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.REDIS_BUSY, message, options);
    this.name = 'RedisBusyError';
  }
}

/**
 * An enqueue with a `durability` setting stored its jobs, but the durability
 * wait after the write failed: the server cannot confirm it
 * (`DURABILITY_UNAVAILABLE`: no `WAITAOF` before Redis 7.2, AOF off, or a
 * replica refusing `WAIT`), or fewer acknowledgements than asked arrived in
 * time (`DURABILITY_TIMEOUT`). The jobs WERE written and will run; only
 * their persistence is unconfirmed. Do not blindly re-enqueue without a
 * `jobId`, or the job may run twice.
 * @public
 */
export class DurabilityError extends JobwireError {
  constructor(
    code:
      | typeof ErrorCode.DURABILITY_UNAVAILABLE
      | typeof ErrorCode.DURABILITY_TIMEOUT,
    message: string,
    /** The ids of the jobs that were stored (or found as duplicates). */
    readonly jobIds: readonly string[],
    /** Acknowledgements received: local AOF fsyncs (0/1) and replicas. */
    readonly acked: { local: number; replicas: number } | undefined,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'DurabilityError';
  }
}

/**
 * A queue's data is stored in a layout newer than this build of jobwire
 * knows (a newer jobwire wrote it): the producer, worker or command
 * refused the queue and wrote nothing. Upgrade jobwire.
 * @public
 */
export class LayoutUnsupportedError extends JobwireError {
  constructor(
    /** The queue refused. */
    readonly queue: string,
    /** The layout the queue records. */
    readonly found: number,
    /** The newest layout this build reads and writes. */
    readonly supported: number,
  ) {
    super(
      ErrorCode.LAYOUT_UNSUPPORTED,
      `queue ${JSON.stringify(queue)} is stored in layout ${String(found)}, but this jobwire supports layouts up to ${String(supported)}; nothing was written. A newer jobwire wrote it: upgrade @jobwire/core (and the CLI) in every process that uses this queue`,
    );
    this.name = 'LayoutUnsupportedError';
  }
}

/** Refusal codes returned by Lua scripts, as negative integers. */
export const ScriptCode = {
  JOB_NOT_FOUND: -1,
  LEASE_LOST: -2,
  NOT_IN_STATE: -3,
  REPEAT_REMOVED: -4,
} as const;

/**
 * Maps a negative status code returned by a Lua script to a typed error that
 * names the job, the script and the expected state.
 */
export function errorFromScriptCode(
  code: number,
  ctx: { script: string; jobId: string; expected?: string | undefined },
): JobwireError {
  switch (code) {
    case ScriptCode.JOB_NOT_FOUND:
      return refusedBy(
        ErrorCode.JOB_NOT_FOUND,
        ctx.script,
        `job ${ctx.jobId} does not exist`,
      );
    case ScriptCode.LEASE_LOST:
      return new LeaseLostError(ctx.jobId);
    case ScriptCode.REPEAT_REMOVED:
      return refusedBy(
        ErrorCode.JOB_NOT_FOUND,
        ctx.script,
        `repeat of job ${ctx.jobId} was removed; occurrence not scheduled`,
      );
    case ScriptCode.NOT_IN_STATE:
      return refusedBy(
        ErrorCode.JOB_NOT_IN_STATE,
        ctx.script,
        `job ${ctx.jobId} is not ${ctx.expected ?? 'in the expected state'}`,
      );
    default:
      return refusedBy(
        ErrorCode.CORRUPT_JOB,
        ctx.script,
        `unexpected status ${code} for job ${ctx.jobId}`,
      );
  }
}

/** The shape in which a failure is recorded on a job and sent in events. */
export interface SerializedError {
  code: string;
  message: string;
  name: string;
  stack?: string | undefined;
  issues?: readonly ValidationIssue[] | undefined;
  attempt?: number | undefined;
  at?: number | undefined;
}

/**
 * The longest message, name or stack recorded for a failure, in
 * characters: a longer one is cut, and a cut message ends with `…`.
 */
export const MAX_RECORDED_CHARS = 4000;

/** What a read of a property gives when the read itself threw. */
const UNREADABLE: unique symbol = Symbol('unreadable');

/**
 * `value[key]`, or UNREADABLE when reading it throws: a getter that
 * throws, a Proxy whose `get` trap throws, a revoked Proxy.
 */
function readSafely(value: unknown, key: PropertyKey): unknown {
  try {
    return (value as Record<PropertyKey, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

/** `value instanceof type`, false when the check throws (a revoked Proxy). */
export function isInstance<T>(
  value: unknown,
  type: abstract new (...args: never[]) => T,
): value is T {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

/** What {@link describeValue} gives for a value that resists every look. */
const NOT_INSPECTABLE = 'a value that could not be inspected';

/**
 * Describes any value in a line, never throwing: strings quoted as JSON,
 * BigInts as their digits with `n`, plain objects and arrays as JSON, and
 * what JSON cannot show (a circular object, a Map, a class instance, a
 * function, a symbol) as `util.inspect` shows it, two levels deep.
 */
export function describeValue(value: unknown): string {
  try {
    switch (typeof value) {
      case 'undefined':
        return 'undefined';
      case 'string':
        return JSON.stringify(value);
      case 'bigint':
        return `${value.toString()}n`;
      case 'number':
      case 'boolean':
        return String(value);
      case 'symbol':
      case 'function':
        return inspectLine(value);
      case 'object':
        break;
    }
    if (value === null) return 'null';
    if (isPlainData(value)) {
      try {
        const json = JSON.stringify(value) as string | undefined;
        if (json !== undefined) return json;
      } catch {
        // circular, a BigInt inside, or a getter that throws: inspect it
      }
    }
    return inspectLine(value);
  } catch {
    return NOT_INSPECTABLE;
  }
}

/**
 * An array, or an object whose prototype is Object.prototype or null;
 * false when asking throws (a Proxy).
 */
function isPlainData(value: object): boolean {
  try {
    if (Array.isArray(value)) return true;
    const proto = Object.getPrototypeOf(value) as unknown;
    return proto === Object.prototype || proto === null;
  } catch {
    return false;
  }
}

/**
 * util.inspect on one line, two levels deep, running none of the value's
 * code: no custom inspect function, no getter, no Proxy trap (a Proxy
 * shows as `Proxy [ target, handler ]`, a revoked one as `<Revoked Proxy>`).
 */
function inspectLine(value: unknown): string {
  return inspect(value, {
    depth: 2,
    breakLength: Infinity,
    maxArrayLength: 20,
    maxStringLength: MAX_RECORDED_CHARS,
    customInspect: false,
    showProxy: true,
  });
}

/** `text`, cut to MAX_RECORDED_CHARS, ending with `…` when it was cut. */
function capped(text: string): string {
  return text.length <= MAX_RECORDED_CHARS
    ? text
    : `${text.slice(0, MAX_RECORDED_CHARS - 1)}…`;
}

/**
 * The name, message and stack of a thrown value, read without throwing:
 * an Error's own (a `name` or `message` that is not a string described by
 * {@link describeValue}, a `stack` that is not a string dropped), or for
 * any other value a description of it.
 */
function thrownParts(thrown: unknown): {
  isError: boolean;
  name: string;
  message: string;
  stack: string | undefined;
  /** A non-Error value, described. */
  described: string;
} {
  if (!isInstance(thrown, Error)) {
    const described = describeValue(thrown);
    return {
      isError: false,
      name: 'Error',
      message:
        described === NOT_INSPECTABLE
          ? 'handler threw a value that could not be inspected'
          : `handler threw a non-Error value: ${described}`,
      stack: undefined,
      described,
    };
  }
  const name = readSafely(thrown, 'name');
  const message = readSafely(thrown, 'message');
  const stack = readSafely(thrown, 'stack');
  return {
    isError: true,
    name: textOf(name) ?? 'Error',
    message:
      message === UNREADABLE
        ? 'handler threw an Error whose message could not be read'
        : (textOf(message) ?? ''),
    stack: typeof stack === 'string' ? stack : undefined,
    described: '',
  };
}

/** A property read as text: a string as it is, else described; none when absent or unreadable. */
function textOf(value: unknown): string | undefined {
  if (value === UNREADABLE || value === undefined) return undefined;
  return typeof value === 'string' ? value : describeValue(value);
}

/**
 * Normalises anything thrown into a JobwireError: a JobwireError as it is,
 * anything else (strings, null, objects with circular causes, a Proxy whose
 * traps throw, an Error whose getters throw) as HANDLER_FAILED with the
 * original as `cause`. Never throws. For what a handler threw, use
 * {@link handlerFailure}: there a JobwireError's code is not kept.
 */
export function toJobwireError(thrown: unknown): JobwireError {
  if (isInstance(thrown, JobwireError)) return thrown;
  return wrapThrown(thrown);
}

/** What the handler threw, by the failure {@link handlerFailure} made of it. */
const thrownByHandler = new WeakMap<JobwireError, unknown>();

/**
 * What a handler threw (or rejected with) as its attempt's failure. Only a
 * `PermanentError` is kept as it is, ending the job at once. Anything else,
 * any other JobwireError included (a ValidationError from `job.progress()`,
 * a `finished()` of another job rejected with PERMANENT or CANCELLED, a
 * TimeoutError of the handler's own making), is HANDLER_FAILED with the
 * original's name, message and stack and the original as `cause`, and is
 * retried per `attempts`. Never throws. The job's own abort reasons (its
 * timeout, cancel, shutdown, lost lease) do not come through here.
 */
export function handlerFailure(thrown: unknown): JobwireError {
  if (isInstance(thrown, PermanentError)) return thrown;
  const err = wrapThrown(thrown);
  thrownByHandler.set(err, thrown);
  return err;
}

/**
 * The value a handler threw, when `error` is the failure
 * {@link handlerFailure} made of it; otherwise `error` itself.
 */
export function thrownBy(error: JobwireError): unknown {
  return thrownByHandler.has(error) ? thrownByHandler.get(error) : error;
}

/**
 * A thrown value in a line for a message, never throwing: an Error as
 * `name: message`, anything else described by {@link describeValue}.
 */
export function describeThrown(thrown: unknown): string {
  const parts = thrownParts(thrown);
  return parts.isError
    ? capped(`${parts.name}: ${parts.message}`)
    : capped(parts.described);
}

/** HANDLER_FAILED for any thrown value, keeping it as `cause`. */
function wrapThrown(thrown: unknown): JobwireError {
  const parts = thrownParts(thrown);
  const err = new JobwireError(ErrorCode.HANDLER_FAILED, parts.message, {
    cause: thrown,
  });
  if (parts.isError) {
    err.name = parts.name;
    // No stack of its own: the wrapper's would point into jobwire.
    err.stack = parts.stack;
  }
  return err;
}

/**
 * Turns an error into plain JSON-safe data, never throwing: every field is
 * read guarded, a name or message that is not a string is described, a
 * stack that is not a string is left out, and each is cut to
 * MAX_RECORDED_CHARS.
 */
export function serializeError(error: JobwireError): SerializedError {
  const code = readSafely(error, 'code');
  const message = readSafely(error, 'message');
  const out: SerializedError = {
    code: typeof code === 'string' ? code : ErrorCode.HANDLER_FAILED,
    name: capped(textOf(readSafely(error, 'name')) ?? 'Error'),
    message: capped(
      message === UNREADABLE
        ? 'an error whose message could not be read'
        : (textOf(message) ?? ''),
    ),
  };
  const stack = readSafely(error, 'stack');
  if (typeof stack === 'string') out.stack = stack.slice(0, MAX_RECORDED_CHARS);
  if (isInstance(error, ValidationError)) {
    const issues = readSafely(error, 'issues');
    if (Array.isArray(issues)) out.issues = issues as ValidationIssue[];
  }
  return out;
}

/** Rebuilds a JobwireError from its recorded form, e.g. for `finished()`. */
export function deserializeError(data: SerializedError): JobwireError {
  const err =
    data.issues !== undefined
      ? new ValidationError('payload', data.issues)
      : new JobwireError(
          (Object.values(ErrorCode) as string[]).includes(data.code)
            ? (data.code as ErrorCode)
            : ErrorCode.HANDLER_FAILED,
          data.message,
        );
  err.message = data.message;
  err.name = data.name;
  if (data.stack !== undefined) err.stack = data.stack;
  return err;
}
