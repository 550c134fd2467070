import { InvalidArgumentError, type Command } from 'commander';
import {
  createQueue,
  ErrorCode,
  JobwireError,
  type ConnectionInput,
  type JobRegistry,
  type JobState,
  type Logger,
  type Queue,
} from '@jobwire/core';
import { cliMessage } from './messages.ts';
import { loadRegistry, UsageError } from './registry.ts';

/** Every job state, in the order tables show them. */
export const STATES = [
  'waiting',
  'delayed',
  'active',
  'completed',
  'failed',
  'expired',
  'cancelled',
] as const satisfies readonly JobState[];

/**
 * The most jobs per atomic batch of `migrate` and `migrate-layout`: the
 * library's bound on `batchSize`, checked here so that a larger `--batch`
 * is bad input (exit 2) named by its flag.
 */
export const MAX_BATCH = 10_000;

/** The longest `--reason` of `cancel`: the library's bound on a cancel reason. */
export const MAX_CANCEL_REASON = 1000;

/** Options every queue command takes. */
export interface CommonOptions {
  /** --schema; without it, jobwire.config.json's, else jobs.schema.ts. */
  schema?: string;
  prefix?: string;
  json: boolean;
  queue?: string;
}

/** What a queue command runs with. */
export interface Context {
  queue: Queue<JobRegistry['jobs']>;
  registry: JobRegistry;
  json: boolean;
  /** The queue named by --queue, checked against the registry. */
  only?: string;
}

/** A runtime failure reported as one line with exit code 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/**
 * A commander parser for an integer option of at least `min` and, when
 * given, at most `max`: a number out of range is bad input (exit 2), as a
 * word is, not a failure of the command.
 */
export function intParser(what: string, min: number, max?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || (max !== undefined && n > max)) {
      throw new InvalidArgumentError(
        max === undefined
          ? `${what} must be an integer >= ${String(min)}.`
          : `${what} must be an integer from ${String(min)} to ${String(max)}.`,
      );
    }
    return n;
  };
}

/** Adds the options every queue command takes (`--queue` unless `withQueue` is false). */
export function common(cmd: Command, withQueue = true): Command {
  cmd
    .option(
      '--schema <file>',
      'schema module exporting the job registry (default: the "schema" of jobwire.config.json, else jobs.schema.ts)',
    )
    .option('--prefix <prefix>', 'Redis key prefix (env JOBWIRE_PREFIX)')
    .option('--json', 'machine-readable output', false);
  if (withQueue) cmd.option('--queue <queue>', 'limit to one queue');
  return cmd;
}

/** The Redis connection from REDIS_URL, or the default one. */
export function connection(): ConnectionInput | undefined {
  const url = process.env.REDIS_URL;
  return url === undefined || url === '' ? undefined : url;
}

/** The key prefix from --prefix, else JOBWIRE_PREFIX. */
export function prefixOf(opts: CommonOptions): string | undefined {
  const env = process.env.JOBWIRE_PREFIX;
  return opts.prefix ?? (env === undefined || env === '' ? undefined : env);
}

/**
 * The bad-input error (exit 2) for a setting the library refused before
 * touching Redis, when `err` is one: the key prefix (`--prefix` or
 * JOBWIRE_PREFIX; the library refuses no other name once the registry has
 * loaded) or a REDIS_URL that is not a URL. Anything else: undefined.
 */
export function settingError(
  err: unknown,
  opts: CommonOptions,
): UsageError | undefined {
  if (err instanceof JobwireError && err.code === ErrorCode.INVALID_NAME) {
    const from = opts.prefix !== undefined ? '--prefix' : 'JOBWIRE_PREFIX';
    return new UsageError(`${cliMessage(err)} (${from})`);
  }
  if (
    err instanceof TypeError &&
    (err as NodeJS.ErrnoException).code === 'ERR_INVALID_URL'
  ) {
    // Not echoed: the URL may hold a password.
    return new UsageError(
      'REDIS_URL is not a valid URL (e.g. redis://127.0.0.1:6379)',
    );
  }
  return undefined;
}

function checkQueue(registry: JobRegistry, queue: string | undefined): void {
  if (queue !== undefined && !registry.queues.includes(queue)) {
    throw new UsageError(
      `unknown queue '${queue}' (the registry has ${registry.queues.join(', ')})`,
    );
  }
}

/**
 * Warnings go to stderr, except connection errors: a command that cannot
 * reach Redis reports that itself, in one line.
 */
const logger: Logger = {
  warn(message) {
    if (!message.startsWith('redis connection error')) {
      console.error(`warning: ${message}`);
    }
  },
  error(message) {
    console.error(`error: ${message}`);
  },
};

/** Loads the registry, opens a queue, runs `fn`, and always closes it. */
export async function withQueue(
  opts: CommonOptions,
  fn: (ctx: Context) => Promise<void>,
): Promise<void> {
  const registry = await loadRegistry(opts.schema);
  checkQueue(registry, opts.queue);
  let queue: Queue<JobRegistry['jobs']>;
  try {
    queue = createQueue(registry, {
      connection: connection(),
      prefix: prefixOf(opts),
      logger,
    });
  } catch (err) {
    throw settingError(err, opts) ?? err;
  }
  try {
    await fn({
      queue,
      registry,
      json: opts.json,
      ...(opts.queue === undefined ? {} : { only: opts.queue }),
    });
  } finally {
    await queue.close();
  }
}

/** The `{ queue }` option of a queue call, when --queue narrowed it. */
export function queueArg(ctx: Context): { queue?: string } {
  return ctx.only === undefined ? {} : { queue: ctx.only };
}
