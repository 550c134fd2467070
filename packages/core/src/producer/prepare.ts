import { core } from 'zod';
import {
  getDefinition,
  type AnyJobDefinition,
  type JobRegistry,
} from '../contract/define.ts';
import {
  ErrorCode,
  JobwireError,
  PayloadTooLargeError,
  ValidationError,
} from '../errors.ts';
import {
  assertJsonDepth,
  assertJsonSafe,
  isPlainJson,
} from '../contract/json.ts';
import {
  resolveEnqueueOptions,
  type ResolvedEnqueueOptions,
} from '../contract/options.ts';
import { thrownAsFailure } from '../contract/parse.ts';
import { storedInput } from '../contract/strip.ts';
import { flowKeyOf, type FlowRules } from '../contract/flow.ts';
import type { EnqueueOptions } from '../types.ts';

/** A job that passed every producer-side check; nothing is written yet. */
export interface CheckedJob {
  def: AnyJobDefinition;
  /** The stored input as JSON: validated, JSON-safe, unknown keys stripped. */
  data: string;
  options: ResolvedEnqueueOptions;
  /** The job's flow keys, computed from its parsed payload. */
  flowKeys: FlowKeys;
}

/**
 * A job's flow keys; a key is absent when its rule is, or when the rule
 * has no key function (the rule then applies per type).
 */
export interface FlowKeys {
  /** The per-key queue the job waits in (keyed concurrency or rate limit). */
  readonly group?: string | undefined;
  readonly debounce?: string | undefined;
  readonly throttle?: string | undefined;
}

const noFlowKeys: FlowKeys = Object.freeze({});

/**
 * Runs the type's key functions on the parsed payload (z.output, as the
 * rules are typed). A function that throws or returns a bad key is a
 * ValidationError naming its rule, raised before anything is written.
 */
function flowKeysOf(
  flow: FlowRules,
  parsedPayload: unknown,
  subject: string,
): FlowKeys {
  const { groupKey, debounce, throttle } = flow;
  if (!groupKey && !debounce?.key && !throttle?.key) return noFlowKeys;
  // The group key is concurrency.key when declared, else rateLimit.key
  // (job() refuses two different functions).
  const groupRule = flow.concurrency ? 'concurrency.key' : 'rateLimit.key';
  return {
    ...(groupKey
      ? { group: flowKeyOf(groupKey, parsedPayload, groupRule, subject) }
      : {}),
    ...(debounce?.key
      ? {
          debounce: flowKeyOf(
            debounce.key,
            parsedPayload,
            'debounce.key',
            subject,
          ),
        }
      : {}),
    ...(throttle?.key
      ? {
          throttle: flowKeyOf(
            throttle.key,
            parsedPayload,
            'throttle.key',
            subject,
          ),
        }
      : {}),
  };
}

/**
 * The producer-side checks of one job, shared by `Queue` and the test queue
 * so that both refuse exactly the same payloads and options. Pure: `now`
 * turns `runAt` into a delay.
 */
export function checkJob(
  registry: JobRegistry,
  name: string,
  payload: unknown,
  options: EnqueueOptions | undefined,
  maxPayloadBytes: number,
  now: number,
): CheckedJob {
  const def = getDefinition(registry, name);
  // One walk clears the usual payload; the exact checks run, in their
  // order around validation, only when it finds something.
  const plainJson = isPlainJson(payload);
  if (!plainJson) assertJsonDepth(payload, `payload of ${name}`);
  const parsed = parseSync(def, name, payload);
  if (!parsed.success) {
    throw ValidationError.fromZod(`payload of ${name}`, parsed.error.issues);
  }
  if (!plainJson) assertJsonSafe(payload, `payload of ${name}`);
  const flowKeys = flowKeysOf(def.flow, parsed.data, `payload of ${name}`);
  // The validated input is stored, minus keys the schema would strip;
  // transforms and defaults run once, in the worker.
  const data = JSON.stringify(storedInput(def.payload, payload, parsed.data));
  // UTF-8 takes at most 3 bytes per UTF-16 unit: short strings need no count.
  if (data.length * 3 > maxPayloadBytes) {
    const size = Buffer.byteLength(data, 'utf8');
    if (size > maxPayloadBytes) {
      throw new PayloadTooLargeError(
        maxPayloadBytes,
        size,
        `payload of ${name}`,
      );
    }
  }
  return {
    def,
    data,
    flowKeys,
    options:
      options === undefined
        ? defaultOptionsOf(def)
        : resolveEnqueueOptions(def.options, options, now),
  };
}

const defaultOptions = new WeakMap<AnyJobDefinition, ResolvedEnqueueOptions>();

/**
 * A call without options gets its type's defaults, resolved once per
 * definition (they do not depend on the clock without `runAt`). Callers
 * must not mutate the result: it is shared.
 */
function defaultOptionsOf(def: AnyJobDefinition): ResolvedEnqueueOptions {
  let o = defaultOptions.get(def);
  if (o === undefined) {
    o = resolveEnqueueOptions(def.options, undefined, 0);
    defaultOptions.set(def, o);
  }
  return o;
}

/** Runs one bulk item's check, naming the item in a validation failure. */
export function checkBulkItem<TResult>(
  index: number,
  name: string,
  check: () => TResult,
): TResult {
  try {
    return check();
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ValidationError(
        `item ${index} (${name}): ${err.subject}`,
        err.issues,
      );
    }
    throw err;
  }
}

/**
 * Validates at enqueue, synchronously: bulk enqueue checks every item
 * before it writes any. A schema with async refinements or transforms gets
 * a clear error instead of zod's "Encountered Promise"; one that throws is
 * an invalid payload (ValidationError), not an uncoded error.
 */
function parseSync(def: AnyJobDefinition, name: string, payload: unknown) {
  try {
    return def.payload.safeParse(payload);
  } catch (err) {
    if (err instanceof core.$ZodAsyncError) {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `payload schema of ${name} is async (an async refine or transform); producers validate synchronously, so keep async checks in the worker's handler or a worker-side schema`,
        { cause: err },
      );
    }
    return thrownAsFailure<typeof def.payload>(err, payload);
  }
}
