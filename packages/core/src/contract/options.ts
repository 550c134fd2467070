import { z } from 'zod';
import { defaults } from '../defaults.ts';
import { ValidationError } from '../errors.ts';
import { MAX_TIMER_MS } from '../option-checks.ts';
import {
  priorityLevels,
  type BackoffFunction,
  type EnqueueOptions,
  type JobOptions,
  type Keep,
} from '../types.ts';

/** Longest delay, timeout or age accepted: about 31 years. */
const MAX_MS = 1e12;

const ms = z.number().finite().min(0).max(MAX_MS);

/**
 * A handler timeout runs on a Node timer, which fires after 1 ms when
 * given more than MAX_TIMER_MS: every attempt would time out at once.
 */
const timeoutSchema = z
  .number()
  .finite()
  .min(0)
  .max(
    MAX_TIMER_MS,
    `must be at most ${String(MAX_TIMER_MS)} ms (about 24.8 days, Node's timer limit); 0 means no timeout`,
  );

const prioritySchema = z.union([
  z.enum(Object.keys(priorityLevels) as [keyof typeof priorityLevels]),
  z.number().int().min(-1000).max(1000),
]);

const backoffObject = z.strictObject({
  type: z.enum(['fixed', 'exponential']),
  delayMs: ms,
  jitter: z.number().min(0).max(1).optional(),
  maxDelayMs: ms.optional(),
});

const keepSchema = z.union([
  z.boolean(),
  z.strictObject({
    count: z.number().int().min(0).optional(),
    ageMs: ms.optional(),
  }),
]);

const sharedShape = {
  priority: prioritySchema.optional(),
  attempts: z.number().int().min(1).max(1000).optional(),
  timeoutMs: timeoutSchema.optional(),
  delayMs: ms.optional(),
  expireAfterMs: ms.min(1).optional(),
  retention: z
    .strictObject({
      completed: keepSchema.optional(),
      failed: keepSchema.optional(),
    })
    .optional(),
};

const jobOptionsSchema = z.looseObject({
  ...sharedShape,
  backoff: z
    .union([
      backoffObject,
      z.custom<BackoffFunction>((v) => typeof v === 'function'),
    ])
    .optional(),
});

export const durabilitySchema = z.strictObject({
  aof: z.boolean().optional(),
  replicas: z.number().int().min(0).max(1000).optional(),
  timeoutMs: z.number().int().min(1).max(MAX_MS).optional(),
});

const enqueueOptionsSchema = z.strictObject({
  durability: z.union([z.literal(false), durabilitySchema]).optional(),
  ...sharedShape,
  backoff: backoffObject.optional(),
  runAt: z
    .date({
      // zod's own message for an Invalid Date reads "expected date, received Date".
      error: (issue) =>
        issue.input instanceof Date ? 'not a valid date' : undefined,
    })
    .optional(),
  jobId: z
    .string()
    .regex(
      /^(?![0-9]+$)[A-Za-z0-9_.:-]{1,128}$/,
      'use 1-128 letters, digits, "_", "-", "." or ":"; all-digit ids are reserved for generated ids',
    )
    // URLs normalise `.` and `..` path segments away (WHATWG also decodes
    // %2e), so such a job could never be reached over the HTTP API.
    .refine((id) => id !== '.' && id !== '..', {
      message: '"." and ".." are not allowed: URLs cannot address them',
    })
    .optional(),
});

/** A retention rule: keep the newest `count` (-1: all), none older than `ageMs` (0: any age). */
export interface KeepRule {
  count: number;
  ageMs: number;
}

export type SerializableBackoff = z.infer<typeof backoffObject>;

/** Options with every default filled in. */
export interface ResolvedJobOptions {
  priority: number;
  attempts: number;
  backoff: SerializableBackoff | BackoffFunction;
  timeoutMs: number;
  delayMs: number;
  expireAfterMs: number;
  keepCompleted: KeepRule;
  keepFailed: KeepRule;
}

/** Options of one enqueue, merged over the job type's defaults. */
export interface ResolvedEnqueueOptions extends ResolvedJobOptions {
  jobId: string | undefined;
  /**
   * `runAt` in ms since the epoch. Redis stores it as a due time against
   * its own clock (every due time is Redis time); `delayMs` then holds the
   * delay by this host's clock, for stores without Redis (the test queue).
   */
  runAtMs?: number | undefined;
}

function check<TOut>(
  schema: z.ZodType<TOut>,
  value: unknown,
  subject: string,
): TOut {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success)
    throw ValidationError.fromZod(subject, parsed.error.issues);
  return parsed.data;
}

export function keepRule(keep: Keep | undefined, fallback: KeepRule): KeepRule {
  if (keep === undefined) return fallback;
  if (keep === true) return { count: -1, ageMs: 0 };
  if (keep === false) return { count: 0, ageMs: 0 };
  return { count: keep.count ?? -1, ageMs: keep.ageMs ?? 0 };
}

function priorityValue(p: z.infer<typeof prioritySchema>): number {
  return typeof p === 'number' ? p : priorityLevels[p];
}

/** Checks a job type's defaults and fills in the library defaults. */
export function parseJobOptions(
  spec: JobOptions,
  subject: string,
): ResolvedJobOptions {
  const o = check(jobOptionsSchema, spec, subject);
  return {
    priority: priorityValue(o.priority ?? defaults.priority),
    attempts: o.attempts ?? defaults.attempts,
    backoff: o.backoff ?? { ...defaults.backoff },
    timeoutMs: o.timeoutMs ?? defaults.timeoutMs,
    delayMs: o.delayMs ?? 0,
    expireAfterMs: o.expireAfterMs ?? 0,
    keepCompleted: keepRule(o.retention?.completed, {
      count: defaults.keepCompleted.count,
      ageMs: 0,
    }),
    keepFailed: keepRule(o.retention?.failed, {
      count: defaults.keepFailed.count,
      ageMs: 0,
    }),
  };
}

/**
 * Checks the options of one enqueue and merges them over the job type's
 * defaults. `now` turns `runAt` into a delay.
 */
export function resolveEnqueueOptions(
  base: ResolvedJobOptions,
  options: EnqueueOptions | undefined,
  now: number,
): ResolvedEnqueueOptions {
  const o = check(enqueueOptionsSchema, options, 'enqueue options');
  if (o.runAt !== undefined && o.runAt.getTime() - now > MAX_MS) {
    // The same bound as delayMs: far beyond it, a due time would pass the
    // largest Date (8.64e15 ms) and the job could never be shown or run.
    throw new ValidationError('enqueue options', [
      {
        path: 'runAt',
        message: `must be at most ${MAX_MS} ms (about 31 years) from now, as delayMs`,
        code: 'too_big',
      },
    ]);
  }
  const delayMs =
    o.runAt !== undefined
      ? Math.max(0, o.runAt.getTime() - now)
      : (o.delayMs ?? base.delayMs);
  return {
    priority:
      o.priority === undefined ? base.priority : priorityValue(o.priority),
    attempts: o.attempts ?? base.attempts,
    backoff: o.backoff ?? base.backoff,
    timeoutMs: o.timeoutMs ?? base.timeoutMs,
    delayMs,
    expireAfterMs: o.expireAfterMs ?? base.expireAfterMs,
    keepCompleted: keepRule(o.retention?.completed, base.keepCompleted),
    keepFailed: keepRule(o.retention?.failed, base.keepFailed),
    jobId: o.jobId,
    ...(o.runAt !== undefined ? { runAtMs: o.runAt.getTime() } : {}),
  };
}

/** A stored repeat: a cron expression (with time zone) or a fixed interval. */
export interface RepeatSpec {
  key: string;
  name: string;
  cron?: string | undefined;
  tz?: string | undefined;
  everyMs?: number | undefined;
  /** The payload JSON every occurrence gets. */
  data: string;
  /** Enqueue options every occurrence gets. */
  options?: EnqueueOptions | undefined;
  /** No slot before this time (epoch ms); an interval's slots start here. */
  startAtMs?: number | undefined;
  /** No slot after this time (epoch ms). */
  endAtMs?: number | undefined;
  /** At most this many occurrences are scheduled. */
  limit?: number | undefined;
  /** In `getRepeats()`: the queue the schedule lives in. */
  queue?: string | undefined;
  /**
   * Set in `getRepeats()` on a schedule that has ended (its `endAtMs`
   * passed or its `limit` was reached): it makes no more occurrences.
   */
  ended?: true | undefined;
  /**
   * In `getRepeats()`: the schedule's pending occurrence, the job its next
   * run will be, with its slot time (epoch ms; past for one that is due
   * and waiting for a worker). Absent for an ended schedule, and for a
   * moment while a worker's repair pass recreates a lost one.
   */
  next?:
    { id: string; runAt: number; state: 'delayed' | 'waiting' } | undefined;
}

/** The per-job options stored in Redis (short names keep hashes small). */
export interface StoredOptions {
  /** attempts */
  at: number;
  /** serializable backoff; absent when the definition's function applies */
  bo?: SerializableBackoff | undefined;
  /** timeoutMs */
  to: number;
  /** keep completed [count, ageMs] */
  kc: [number, number];
  /** keep failed [count, ageMs] */
  kf: [number, number];
}

export function toStoredOptions(o: ResolvedJobOptions): StoredOptions {
  const stored: StoredOptions = {
    at: o.attempts,
    to: o.timeoutMs,
    kc: [o.keepCompleted.count, o.keepCompleted.ageMs],
    kf: [o.keepFailed.count, o.keepFailed.ageMs],
  };
  // A single attempt never backs off: leaving `bo` out keeps the stored
  // options under Redis's 64-byte listpack limit, so the job hash stays compact.
  if (typeof o.backoff !== 'function' && o.attempts > 1) stored.bo = o.backoff;
  return stored;
}
