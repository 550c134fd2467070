import { z } from 'zod';
import { ErrorCode, JobwireError } from '../errors.ts';
import { parseJobOptions, type ResolvedJobOptions } from './options.ts';
import { parseFlow, type FlowOptions, type FlowRules } from './flow.ts';
import type { JobOptions } from '../types.ts';
import {
  checkUpcast,
  type UpcastChain,
  type UpcastMap,
  type UpcastSources,
} from './upcast.ts';

/** Job type and queue names: a letter, then letters, digits, `_`, `-`, `.`. */
const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** The progress schema used when a job type declares none: a percentage. */
export const defaultProgressSchema = z.number().min(0).max(100);

/** What `job()` accepts: schemas plus defaults. @public */
export interface JobSpec<
  TPayload extends z.ZodType,
  TResult extends z.ZodType | undefined,
  TProgress extends z.ZodType | undefined,
  TSources extends UpcastSources = UpcastSources,
>
  extends JobOptions, FlowOptions<z.output<TPayload>> {
  /** Schema of the payload. Producers pass its input type, handlers get its output. */
  payload: TPayload;
  /** Schema of the handler's result; without it the handler returns nothing. */
  result?: TResult | undefined;
  /** Schema of progress values; without it progress is a number from 0 to 100. */
  progress?: TProgress | undefined;
  /** Queue this job type goes to. @defaultValue 'default' */
  queue?: string | undefined;
  /** Contract version, bumped on breaking payload changes. @defaultValue 1 */
  version?: number | undefined;
  /**
   * How jobs stored by older versions become this version's input: for each
   * version k still in Redis, its payload schema (`from`) and a function to
   * version k+1's input (`to`). Keys run without a gap up to `version - 1`;
   * the compiler checks each function against the next version's input.
   * See docs/changing-contracts.md. @defaultValue no upcasters
   */
  upcast?: UpcastMap<TSources, TPayload> | undefined;
  /**
   * Which deploys a schema change must stay safe for, checked by codegen
   * against the lock: old jobs read by new workers (backward), new jobs read
   * by old workers (forward), both (full), or none. @defaultValue 'full'
   */
  compatibility?: CompatibilityMode | undefined;
}

/** @public */
export type CompatibilityMode = 'backward' | 'forward' | 'full' | 'none';

/** A declared job type. @public */
export interface JobDefinition<
  TPayload extends z.ZodType = z.ZodType,
  TResult extends z.ZodType | undefined = z.ZodType | undefined,
  TProgress extends z.ZodType | undefined = z.ZodType | undefined,
> {
  readonly kind: 'jobwire.job';
  readonly payload: TPayload;
  readonly result: TResult;
  readonly progress: TProgress;
  readonly queue: string;
  readonly version: number;
  readonly compatibility: CompatibilityMode;
  /** The upcasters by the version they read; empty without any. */
  readonly upcast: UpcastChain;
  /** The spec's options, checked and normalised. */
  readonly options: ResolvedJobOptions;
  /** Rate limits, keyed concurrency, debounce and throttle; empty without any. */
  readonly flow: FlowRules;
}

/** Any job definition, whatever its schemas. @public */
export type AnyJobDefinition = JobDefinition<
  z.ZodType,
  z.ZodType | undefined,
  z.ZodType | undefined
>;

/** A map of job type name to definition. @public */
export type JobMap = Record<string, AnyJobDefinition>;

/** The checked set of job types an application uses. @public */
export interface JobRegistry<TJobs extends JobMap = JobMap> {
  readonly kind: 'jobwire.registry';
  readonly jobs: TJobs;
  /** Job type names, sorted. */
  readonly names: readonly string[];
  /** Queue names used by the job types, sorted. */
  readonly queues: readonly string[];
}

/**
 * Declares one job type.
 * @public
 */
export function job<
  TPayload extends z.ZodType,
  TResult extends z.ZodType | undefined = undefined,
  TProgress extends z.ZodType | undefined = undefined,
  TSources extends UpcastSources = Record<never, never>,
>(
  spec: JobSpec<TPayload, TResult, TProgress, TSources>,
): JobDefinition<TPayload, TResult, TProgress> {
  if (!(spec.payload instanceof z.ZodType)) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      'job(): `payload` must be a zod schema',
    );
  }
  const queue = spec.queue ?? 'default';
  assertSafeName(queue, 'queue name');
  const version = spec.version ?? 1;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `job(): version must be a positive integer, got ${String(version)}`,
    );
  }
  const compatibility = spec.compatibility ?? 'full';
  if (!['backward', 'forward', 'full', 'none'].includes(compatibility)) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `job(): compatibility must be backward, forward, full or none, got ${String(compatibility)}`,
    );
  }
  return {
    kind: 'jobwire.job',
    compatibility,
    payload: spec.payload,
    result: spec.result as TResult,
    progress: spec.progress as TProgress,
    queue,
    version,
    upcast: checkUpcast(spec.upcast, version),
    options: parseJobOptions(spec, 'job defaults'),
    flow: parseFlow(spec as unknown as Record<string, unknown>),
  };
}

/**
 * Declares the job types of an application, checking their names.
 * @public
 */
export function defineJobs<const TJobs extends JobMap>(
  jobs: TJobs,
): JobRegistry<TJobs> {
  const names = Object.keys(jobs).sort();
  for (const name of names) {
    assertSafeName(name, 'job type name');
    if (jobs[name]?.kind !== 'jobwire.job') {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `defineJobs(): "${name}" must be declared with job({...})`,
      );
    }
  }
  const queues = [...new Set(names.map((n) => jobs[n]!.queue))].sort();
  return Object.freeze({
    kind: 'jobwire.registry',
    jobs,
    names,
    queues,
  });
}

/** Throws INVALID_NAME unless `name` uses the safe character set. */
export function assertSafeName(name: string, what: string): void {
  if (typeof name !== 'string' || !SAFE_NAME.test(name)) {
    throw new JobwireError(
      ErrorCode.INVALID_NAME,
      `${what} ${JSON.stringify(name)} is not allowed: use 1-64 characters, a letter first, then letters, digits, "_", "-" or "."`,
    );
  }
}

/** Looks up a job type, failing clearly on unknown names. */
export function getDefinition(
  registry: JobRegistry,
  name: string,
): AnyJobDefinition {
  const def = Object.hasOwn(registry.jobs, name)
    ? registry.jobs[name]
    : undefined;
  if (def === undefined) {
    throw new JobwireError(
      ErrorCode.UNKNOWN_JOB_TYPE,
      `unknown job type ${JSON.stringify(name)}; known types: ${registry.names.join(', ')}`,
    );
  }
  return def;
}

/** The type producers pass for job type `TName`. @public */
export type inferJobInput<
  TJobs extends JobMap,
  TName extends keyof TJobs,
> = z.input<TJobs[TName]['payload']>;

/** The type handlers receive for job type `TName`. @public */
export type inferJobOutput<
  TJobs extends JobMap,
  TName extends keyof TJobs,
> = z.output<TJobs[TName]['payload']>;

/** What a handler of `TName` returns. @public */
export type inferJobResultInput<
  TJobs extends JobMap,
  TName extends keyof TJobs,
> = TJobs[TName]['result'] extends z.ZodType
  ? z.input<TJobs[TName]['result']>
  : void;

/** What `finished()` resolves to for `TName`. @public */
export type inferJobResult<
  TJobs extends JobMap,
  TName extends keyof TJobs,
> = TJobs[TName]['result'] extends z.ZodType
  ? z.output<TJobs[TName]['result']>
  : undefined;

/** What `job.progress()` accepts for `TName`. @public */
export type inferJobProgress<
  TJobs extends JobMap,
  TName extends keyof TJobs,
> = TJobs[TName]['progress'] extends z.ZodType
  ? z.input<TJobs[TName]['progress']>
  : number;

/**
 * What producers read back as `TName`'s progress (events, `getJob` with
 * `name`, `watchProgress`): the schema's output. @public
 */
export type inferJobProgressOutput<
  TJobs extends JobMap,
  TName extends keyof TJobs,
> = TJobs[TName]['progress'] extends z.ZodType
  ? z.output<TJobs[TName]['progress']>
  : number;
