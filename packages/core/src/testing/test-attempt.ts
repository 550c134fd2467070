import type { z } from 'zod';
import type { AnyJobDefinition } from '../contract/define.ts';
import { jobFingerprint } from '../contract/fingerprint.ts';
import { assertJsonSafe } from '../contract/json.ts';
import { safeParseFast } from '../contract/parse.ts';
import type { ResolvedEnqueueOptions } from '../contract/options.ts';
import { storedInput } from '../contract/strip.ts';
import { defaults } from '../defaults.ts';
import {
  LeaseLostError,
  ValidationError,
  type SerializedError,
} from '../errors.ts';
import { makeJob, type Job } from '../worker/job.ts';
import {
  assertResultSize,
  JobAbort,
  withTimeout,
} from '../worker/run-handler.ts';
import type { TestJobState } from './test-types.ts';

/** A handler as the test queue calls it. */
export type AnyHandler = (job: Job<unknown, unknown>) => unknown;

/** Parses like the runtime does, failing with its ValidationError. */
export async function parsed(
  schema: z.ZodType,
  value: unknown,
  subject: string,
): Promise<unknown> {
  const parsing = safeParseFast(schema, value);
  const r = parsing instanceof Promise ? await parsing : parsing;
  if (!r.success) throw ValidationError.fromZod(subject, r.error.issues);
  return r.data;
}

/** The public record, mutated in place as the job runs. */
export interface Rec {
  id: string;
  name: string;
  queue: string;
  data: unknown;
  options: ResolvedEnqueueOptions;
  state: TestJobState;
  result?: unknown | undefined;
  error?: SerializedError | undefined;
  cancelReason?: string | undefined;
  errors: SerializedError[];
  attemptsMade: number;
  progress: unknown[];
  logs: string[];
}

/** Bookkeeping kept off the record so `toEqual` on jobs stays clean. */
export interface Entry {
  job: Rec;
  def: AnyJobDefinition;
  seq: number;
  createdAt: number;
  /** The stored data JSON, parsed afresh for every attempt like the worker. */
  stored: string;
  /** The stored result JSON ('' when the job type declares no result). */
  storedResult?: string | undefined;
  /** The running attempt's abort, which a cancel fires. */
  abort?: JobAbort | undefined;
  /** Set by a cancel of the active job: the run ends it as cancelled. */
  cancelRequested?: boolean | undefined;
  /** Resolves (never rejects) once the job ran or was cleared. */
  settled: Promise<void>;
  settle: () => void;
}

/**
 * One attempt, as a worker's JobRun runs it; returns the stored result JSON.
 * Once the attempt has ended (completed, failed, timed out or cancelled),
 * its `job.progress()` and `job.log()` reject with LEASE_LOST and store
 * nothing, as a worker's do once it no longer holds the job's lease.
 */
export async function runAttempt(
  entry: Entry,
  handler: AnyHandler,
  attempt: number,
  maxResultBytes: number,
): Promise<string> {
  const { job } = entry;
  const abort = new JobAbort();
  entry.abort = abort;
  let ended = false;
  const live = (): void => {
    if (ended) throw new LeaseLostError(job.id);
  };
  try {
    return await attemptRun(
      entry,
      handler,
      attempt,
      abort,
      live,
      maxResultBytes,
    );
  } finally {
    ended = true;
  }
}

/** The attempt itself; `live` throws once it has ended. */
async function attemptRun(
  entry: Entry,
  handler: AnyHandler,
  attempt: number,
  abort: JobAbort,
  live: () => void,
  maxResultBytes: number,
): Promise<string> {
  const { job, def } = entry;
  const data = await parsed(
    def.payload,
    JSON.parse(entry.stored),
    `payload of ${job.name} job ${job.id}`,
  );
  const handlerJob = makeJob(
    {
      id: job.id,
      name: job.name,
      queue: job.queue,
      data,
      attempt,
      attempts: job.options.attempts,
      createdAt: entry.createdAt,
      version: def.version,
      fingerprint: jobFingerprint(def),
    },
    def,
    {
      progress: async (json) => {
        live();
        assertResultSize(
          json,
          maxResultBytes,
          `progress of ${job.name} job ${job.id}`,
        );
        job.progress.push(JSON.parse(json));
      },
      log: async (line) => {
        live();
        assertResultSize(
          line,
          maxResultBytes,
          `log line of ${job.name} job ${job.id}`,
        );
        job.logs.push(line);
        if (job.logs.length > defaults.maxLogLines) job.logs.shift();
      },
    },
    abort,
  );
  // The same timeout and abort rules as the worker.
  const result = await withTimeout(
    () => handler(handlerJob),
    job.options.timeoutMs,
    abort,
  );
  if (def.result === undefined) return '';
  const output = await parsed(
    def.result,
    result,
    `result of ${job.name} job ${job.id}`,
  );
  // An undefined result the schema accepts is no result, as in a worker.
  if (result === undefined) return '';
  assertJsonSafe(result, `result of ${job.name}`);
  const stored = JSON.stringify(storedInput(def.result, result, output));
  assertResultSize(
    stored,
    maxResultBytes,
    `result of ${job.name} job ${job.id}`,
  );
  return stored;
}
