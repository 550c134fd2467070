/**
 * Flow control rules of a job type: rate limits, keyed concurrency,
 * debounce and throttle. Declared in `job({...})`, typed from the payload;
 * enforced in Redis by the scripts (see docs/flow-control.md).
 */
import { z } from 'zod';
import { ErrorCode, JobwireError, ValidationError } from '../errors.ts';

/** Computes a flow key from a job's parsed payload: a tenant, a user, a partner. @public */
export type FlowKeyFunction<TPayload> = (payload: TPayload) => string | number;

/**
 * At most `limit` jobs of this type start in any window of `perMs`, across
 * every worker; with `key`, per key. A job over the limit waits and starts
 * as soon as the window lets it. @public
 */
export interface RateLimit<TPayload> {
  limit: number;
  perMs: number;
  /** Limit per key instead of per type. Must be the same function as `concurrency.key` when both are set. */
  key?: FlowKeyFunction<TPayload> | undefined;
}

/**
 * At most `limit` jobs of one key active at once, across every worker;
 * keys with waiting jobs take turns, so a deep backlog of one key cannot
 * starve the others. @public
 */
export interface KeyedConcurrency<TPayload> {
  limit: number;
  key: FlowKeyFunction<TPayload>;
}

/**
 * Collapses bursts: a job waits `periodMs`; a later job of the same key
 * enqueued meanwhile replaces it (the replaced one ends as cancelled), so
 * only the last job of a burst runs. @public
 */
export interface Debounce<TPayload> {
  periodMs: number;
  /** Debounce per key; without it, per type. */
  key?: FlowKeyFunction<TPayload> | undefined;
}

/**
 * Accepts at most `limit` jobs of one key per window of `periodMs`; the
 * producer's extra jobs are dropped, not stored, and their handles say so.
 * @public
 */
export interface Throttle<TPayload> {
  limit: number;
  periodMs: number;
  /** Throttle per key; without it, per type. */
  key?: FlowKeyFunction<TPayload> | undefined;
}

/** The flow control options of `job({...})`. @public */
export interface FlowOptions<TPayload> {
  rateLimit?: RateLimit<TPayload> | undefined;
  concurrency?: KeyedConcurrency<TPayload> | undefined;
  debounce?: Debounce<TPayload> | undefined;
  throttle?: Throttle<TPayload> | undefined;
}

/** A key function as stored: it takes the parsed payload. */
export type StoredKeyFunction = (payload: unknown) => string | number;

/** A job type's flow rules, checked. Absent rules are undefined. */
export interface FlowRules {
  /** The type-wide or per-key start rate limit. */
  readonly rateLimit?: {
    readonly limit: number;
    readonly perMs: number;
    readonly keyed: boolean;
  };
  /** Most active jobs per key. */
  readonly concurrency?: { readonly limit: number } | undefined;
  /**
   * The key the job is grouped by (per-key concurrency and per-key rate
   * limit share it): jobs with a group key wait in per-key queues.
   */
  readonly groupKey?: StoredKeyFunction | undefined;
  readonly debounce?: {
    readonly periodMs: number;
    readonly key?: StoredKeyFunction | undefined;
  };
  readonly throttle?: {
    readonly limit: number;
    readonly periodMs: number;
    readonly key?: StoredKeyFunction | undefined;
  };
}

/** Longest window accepted: 30 days. */
const MAX_PERIOD_MS = 30 * 24 * 3600 * 1000;

const period = z.number().int().min(1).max(MAX_PERIOD_MS);
const count = z.number().int().min(1).max(1_000_000);
const keyFn = z.custom<StoredKeyFunction>((v) => typeof v === 'function', {
  message: 'must be a function of the payload',
});

const flowSchema = z.strictObject({
  rateLimit: z
    .strictObject({ limit: count, perMs: period, key: keyFn.optional() })
    .optional(),
  concurrency: z.strictObject({ limit: count, key: keyFn }).optional(),
  debounce: z
    .strictObject({ periodMs: period, key: keyFn.optional() })
    .optional(),
  throttle: z
    .strictObject({ limit: count, periodMs: period, key: keyFn.optional() })
    .optional(),
});

/** Longest flow key, in characters: keys become part of Redis key names. */
export const MAX_FLOW_KEY_LENGTH = 256;

/** Checks the flow options of `job({...})`. */
export function parseFlow(spec: Record<string, unknown>): FlowRules {
  const picked = {
    rateLimit: spec.rateLimit,
    concurrency: spec.concurrency,
    debounce: spec.debounce,
    throttle: spec.throttle,
  };
  const parsed = flowSchema.safeParse(
    Object.fromEntries(
      Object.entries(picked).filter(([, v]) => v !== undefined),
    ),
  );
  if (!parsed.success)
    throw ValidationError.fromZod('job flow options', parsed.error.issues);
  const o = parsed.data;
  const rateKey = o.rateLimit?.key;
  const concurrencyKey = o.concurrency?.key;
  if (rateKey && concurrencyKey && rateKey !== concurrencyKey) {
    // Both rules share one set of per-key queues, so one key must name them.
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      'job(): rateLimit.key and concurrency.key must be the same function; declare it once and pass it to both',
    );
  }
  const groupKey = concurrencyKey ?? rateKey;
  return {
    ...(o.rateLimit
      ? {
          rateLimit: {
            limit: o.rateLimit.limit,
            perMs: o.rateLimit.perMs,
            keyed: rateKey !== undefined,
          },
        }
      : {}),
    ...(o.concurrency ? { concurrency: { limit: o.concurrency.limit } } : {}),
    ...(groupKey ? { groupKey } : {}),
    ...(o.debounce
      ? {
          debounce: {
            periodMs: o.debounce.periodMs,
            ...(o.debounce.key ? { key: o.debounce.key } : {}),
          },
        }
      : {}),
    ...(o.throttle
      ? {
          throttle: {
            limit: o.throttle.limit,
            periodMs: o.throttle.periodMs,
            ...(o.throttle.key ? { key: o.throttle.key } : {}),
          },
        }
      : {}),
  };
}

/**
 * Runs a key function on a job's parsed payload. A key must be a non-empty
 * string (a number is turned into one) of at most MAX_FLOW_KEY_LENGTH
 * characters; anything else is a ValidationError naming the rule, and
 * nothing is written.
 */
export function flowKeyOf(
  fn: StoredKeyFunction,
  payload: unknown,
  rule: string,
  subject: string,
): string {
  let value: unknown;
  try {
    value = fn(payload);
  } catch (err) {
    throw new ValidationError(subject, [
      {
        path: rule,
        message: `the key function threw: ${err instanceof Error ? err.message : String(err)}`,
        code: 'custom',
      },
    ]);
  }
  const key =
    typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > MAX_FLOW_KEY_LENGTH
  ) {
    throw new ValidationError(subject, [
      {
        path: rule,
        message: `the key function must return a non-empty string of at most ${MAX_FLOW_KEY_LENGTH} characters, got ${JSON.stringify(value) ?? String(value)}`,
        code: 'custom',
      },
    ]);
  }
  return key;
}

/** True when the type has any flow rule. */
export function hasFlow(rules: FlowRules): boolean {
  return (
    rules.rateLimit !== undefined ||
    rules.concurrency !== undefined ||
    rules.debounce !== undefined ||
    rules.throttle !== undefined
  );
}
