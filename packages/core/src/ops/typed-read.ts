/**
 * Typed views of what producers read back: events and job details whose
 * `progress` and `result` carry the job type's schema types. Compile-time
 * types lie about old and foreign jobs, so each value is parsed with the
 * schema of the job type named in Redis before it is typed.
 */
import type { z } from 'zod';
import { safeParseFast } from '../contract/parse.ts';
import {
  defaultProgressSchema,
  getDefinition,
  type AnyJobDefinition,
  type JobMap,
  type JobRegistry,
  type inferJobProgressOutput,
  type inferJobResult,
} from '../contract/define.ts';
import { ErrorCode, JobwireError, ValidationError } from '../errors.ts';
import type { QueueEvent } from '../redis/events.ts';
import type { GetJobOptions, JobInfo, QueueInspector } from './inspect.ts';

/** A stored value that did not pass its schema: kept raw, out of the typed field. @public */
export interface UncheckedValues {
  readonly progress?: unknown | undefined;
  readonly result?: unknown | undefined;
  /** Why the value was not typed: the schema's complaint. */
  readonly reason: string;
}

type EventBase = Omit<QueueEvent, 'name' | 'progress' | 'result'>;

/**
 * An event of a queue followed with `jobs`: a union discriminated on
 * `name`, where `progress` and `result` have the job type's schema output
 * types. Queue-level events (`paused`, `drained`, …) have the name `''`.
 * @public
 */
export type TypedQueueEvent<TJobs extends JobMap> =
  | {
      [TName in keyof TJobs & string]: EventBase & {
        readonly name: TName;
        /** `progress`: the value, parsed with the type's progress schema. */
        readonly progress?: inferJobProgressOutput<TJobs, TName> | undefined;
        /** `completed`: the result, parsed with the type's result schema. */
        readonly result?: inferJobResult<TJobs, TName> | undefined;
        /** A progress or result that failed its schema (an old or foreign worker). */
        readonly unchecked?: UncheckedValues | undefined;
      };
    }[keyof TJobs & string]
  | (EventBase & {
      readonly name: '';
      readonly progress?: undefined | undefined;
      readonly result?: undefined | undefined;
    });

/**
 * A job read with `getJob(id, { name })`: `name` is checked against the
 * stored one and `progress` and `result` are parsed with its schemas.
 * @public
 */
export type TypedJobInfo<
  TJobs extends JobMap,
  TName extends keyof TJobs & string,
> = Omit<JobInfo, 'name' | 'progress' | 'result'> & {
  name: TName;
  progress?: inferJobProgressOutput<TJobs, TName> | undefined;
  result?: inferJobResult<TJobs, TName> | undefined;
};

type Checked = { ok: true; value: unknown } | { ok: false; reason: string };

type Parsed = ReturnType<z.ZodType['safeParse']>;

function checked(parsed: Parsed): Checked {
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reason: parsed.error.issues[0]?.message ?? 'invalid' };
}

/**
 * `raw` parsed with `schema`: at once, or a promise for a schema with an
 * async refinement or transform (a result schema may have one: the worker
 * parses results with the async fallback too).
 */
function check(
  schema: z.ZodType | undefined,
  raw: unknown,
): Checked | Promise<Checked> {
  // A type without a result schema has no result to type.
  if (schema === undefined) return { ok: true, value: undefined };
  const parsed = safeParseFast(schema, raw);
  return parsed instanceof Promise ? parsed.then(checked) : checked(parsed);
}

function definitionOf(
  registry: JobRegistry,
  name: string,
): AnyJobDefinition | undefined {
  return Object.hasOwn(registry.jobs, name) ? registry.jobs[name] : undefined;
}

/**
 * The typed form of a raw event, or undefined for an event of a job type
 * the registry does not declare (its values could not be typed); a promise
 * of it when a schema parses asynchronously.
 */
export function typeEvent<TJobs extends JobMap>(
  registry: JobRegistry<TJobs>,
  e: QueueEvent,
):
  | TypedQueueEvent<TJobs>
  | undefined
  | Promise<TypedQueueEvent<TJobs> | undefined> {
  // Queue-level events carry neither progress nor result.
  if (e.name === '') return e as TypedQueueEvent<TJobs>;
  const def = definitionOf(registry, e.name);
  if (def === undefined) return undefined;
  const { progress, result, ...rest } = e;
  const progressCheck =
    progress === undefined
      ? undefined
      : check(def.progress ?? defaultProgressSchema, progress);
  const resultCheck =
    result === undefined ? undefined : check(def.result, result);
  const build = (
    p: Checked | undefined,
    r: Checked | undefined,
  ): TypedQueueEvent<TJobs> => {
    const out: Record<string, unknown> = { ...rest };
    const unchecked: {
      progress?: unknown;
      result?: unknown;
      reason?: string | undefined;
    } = {};
    if (p?.ok === true) out.progress = p.value;
    else if (p !== undefined)
      Object.assign(unchecked, { progress, reason: p.reason });
    if (r?.ok === true) out.result = r.value;
    else if (r !== undefined)
      Object.assign(unchecked, { result, reason: r.reason });
    if (unchecked.reason !== undefined) out.unchecked = unchecked;
    return out as TypedQueueEvent<TJobs>;
  };
  if (progressCheck instanceof Promise || resultCheck instanceof Promise) {
    return Promise.all([progressCheck, resultCheck]).then(([p, r]) =>
      build(p, r),
    );
  }
  return build(progressCheck, resultCheck);
}

/**
 * The typed form of a job's details: refuses a job of another type, and
 * throws ValidationError when its progress or result fails the schema.
 */
export async function typeJobInfo<
  TJobs extends JobMap,
  TName extends keyof TJobs & string,
>(
  registry: JobRegistry<TJobs>,
  name: TName,
  info: JobInfo,
): Promise<TypedJobInfo<TJobs, TName>> {
  if (info.name !== name) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `job ${info.id} is a ${JSON.stringify(info.name)} job, not ${JSON.stringify(name)}`,
    );
  }
  const def = registry.jobs[name]!;
  const out: Record<string, unknown> = { ...info };
  for (const [field, schema] of [
    ['progress', def.progress ?? defaultProgressSchema],
    ['result', def.result],
  ] as const) {
    if (info[field] === undefined) continue;
    // A result schema with an async refinement or transform parses with
    // the async fallback, as the worker did when it stored the result.
    const parsed =
      schema === undefined
        ? undefined
        : await safeParseFast(schema, info[field]);
    if (parsed?.success === false) {
      throw ValidationError.fromZod(
        `${field} of ${name} job ${info.id}`,
        parsed.error.issues,
      );
    }
    out[field] = parsed?.data;
  }
  return out as TypedJobInfo<TJobs, TName>;
}

/**
 * `Queue.getJob`: the raw details, or with `name` the typed ones, read from
 * that type's queue unless `queue` says otherwise.
 */
export async function readJob(
  inspector: QueueInspector,
  registry: JobRegistry,
  id: string,
  options: GetJobOptions & { name?: string | undefined },
): Promise<JobInfo | TypedJobInfo<JobMap, string> | undefined> {
  const { name, ...rest } = options;
  if (name === undefined) return inspector.getJob(id, rest);
  const queue = options.queue ?? getDefinition(registry, name).queue;
  const info = await inspector.getJob(id, { ...rest, queue });
  return info && (await typeJobInfo(registry, name, info));
}
