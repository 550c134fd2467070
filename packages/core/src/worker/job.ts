import type { z } from 'zod';
import { safeParseFast } from '../contract/parse.ts';
import type { AnyJobDefinition } from '../contract/define.ts';
import { defaultProgressSchema } from '../contract/define.ts';
import { ValidationError } from '../errors.ts';
import { assertJsonSafe } from '../contract/json.ts';
import type { JobAbort } from './run-handler.ts';
import { storedInput } from '../contract/strip.ts';

/**
 * The job a handler receives: its validated data, its attempt, and ways to
 * report progress and log lines, both persisted on the job.
 * @public
 */
export interface Job<TData, TProgress = number> {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** The payload after the schema's transforms and defaults. */
  readonly data: TData;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Total attempts allowed. */
  readonly attempts: number;
  /** When the job was enqueued, ms since the epoch. */
  readonly createdAt: number;
  /** Contract version of the producer that stored the job. */
  readonly version: number;
  /** Contract fingerprint of the producer that stored the job ('' if unknown). */
  readonly fingerprint: string;
  /**
   * Aborted on timeout (reason TimeoutError), at the shutdown deadline
   * (ShutdownError), when the lease is lost (LeaseLostError) and when the
   * job is cancelled (CancelledError).
   */
  readonly signal: AbortSignal;
  /**
   * Validates, stores and publishes progress. Rejects with a
   * LeaseLostError, storing nothing, once the attempt has ended.
   */
  progress(value: TProgress): Promise<void>;
  /**
   * Appends a line to the job's log. Rejects with a LeaseLostError,
   * storing nothing, once the attempt has ended.
   */
  log(line: string): Promise<void>;
}

/** The side effects a Job needs from its worker. */
export interface JobIO {
  progress(json: string): Promise<void>;
  log(line: string): Promise<void>;
}

/**
 * The Job a worker hands its handler. A class, not a literal with closures:
 * one is made per job. `progress` and `log` are getters returning bound
 * functions, so a handler may still destructure them.
 */
class HandlerJob<TData> implements Job<TData, unknown> {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  readonly data: TData;
  readonly attempt: number;
  readonly attempts: number;
  readonly createdAt: number;
  readonly version: number;
  readonly fingerprint: string;
  readonly #def: AnyJobDefinition;
  readonly #io: JobIO;
  readonly #abort: JobAbort;

  constructor(
    fields: Omit<Job<TData, unknown>, 'progress' | 'log' | 'signal'>,
    def: AnyJobDefinition,
    io: JobIO,
    abort: JobAbort,
  ) {
    this.id = fields.id;
    this.name = fields.name;
    this.queue = fields.queue;
    this.data = fields.data;
    this.attempt = fields.attempt;
    this.attempts = fields.attempts;
    this.createdAt = fields.createdAt;
    this.version = fields.version;
    this.fingerprint = fields.fingerprint;
    this.#def = def;
    this.#io = io;
    this.#abort = abort;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get progress(): (value: unknown) => Promise<void> {
    return (value) => this.#writeProgress(value);
  }

  get log(): (line: string) => Promise<void> {
    return (line) => this.#io.log(String(line));
  }

  async #writeProgress(value: unknown): Promise<void> {
    const schema: z.ZodType = this.#def.progress ?? defaultProgressSchema;
    // An async refine or transform in the progress schema parses async.
    const parsing = safeParseFast(schema, value);
    const parsed = parsing instanceof Promise ? await parsing : parsing;
    if (!parsed.success) {
      throw ValidationError.fromZod(
        `progress of ${this.name}`,
        parsed.error.issues,
      );
    }
    assertJsonSafe(value, `progress of ${this.name}`);
    await this.#io.progress(
      JSON.stringify(storedInput(schema, value, parsed.data)),
    );
  }
}

/** Builds the handler's Job. */
export function makeJob<TData>(
  fields: Omit<Job<TData, unknown>, 'progress' | 'log' | 'signal'>,
  def: AnyJobDefinition,
  io: JobIO,
  abort: JobAbort,
): Job<TData, unknown> {
  return new HandlerJob(fields, def, io, abort);
}
