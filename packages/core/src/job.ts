import type { z } from 'zod';
import type { AnyJobDefinition } from './define.ts';
import { defaultProgressSchema } from './define.ts';
import { ValidationError } from './errors.ts';
import { assertJsonSafe } from './json.ts';
import type { JobAbort } from './internal/run-handler.ts';
import { stripUnknownKeys } from './strip.ts';

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
   * (ShutdownError) and when the lease is lost (LeaseLostError).
   */
  readonly signal: AbortSignal;
  /** Validates, stores and publishes progress. */
  progress(value: TProgress): Promise<void>;
  /** Appends a line to the job's log. */
  log(line: string): Promise<void>;
}

/** The side effects a Job needs from its worker. */
export interface JobIO {
  progress(json: string): Promise<void>;
  log(line: string): Promise<void>;
}

/** Builds the handler's Job. */
export function makeJob<TData>(
  fields: Omit<Job<TData, unknown>, 'progress' | 'log' | 'signal'>,
  def: AnyJobDefinition,
  io: JobIO,
  abort: JobAbort,
): Job<TData, unknown> {
  const progressSchema: z.ZodType = def.progress ?? defaultProgressSchema;
  // Properties one by one, not a spread: this runs once per job.
  return {
    id: fields.id,
    name: fields.name,
    queue: fields.queue,
    data: fields.data,
    attempt: fields.attempt,
    attempts: fields.attempts,
    createdAt: fields.createdAt,
    version: fields.version,
    fingerprint: fields.fingerprint,
    get signal() {
      return abort.signal;
    },
    async progress(value: unknown) {
      const parsed = progressSchema.safeParse(value);
      if (!parsed.success) {
        throw ValidationError.fromZod(
          `progress of ${fields.name}`,
          parsed.error.issues,
        );
      }
      assertJsonSafe(value, `progress of ${fields.name}`);
      await io.progress(
        JSON.stringify(stripUnknownKeys(progressSchema, value)),
      );
    },
    async log(line: string) {
      await io.log(String(line));
    },
  };
}
