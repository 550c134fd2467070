import {
  getDefinition,
  type AnyJobDefinition,
  type JobRegistry,
} from '../define.ts';
import { PayloadTooLargeError, ValidationError } from '../errors.ts';
import { assertJsonSafe } from '../json.ts';
import {
  resolveEnqueueOptions,
  type ResolvedEnqueueOptions,
} from '../options.ts';
import { stripUnknownKeys } from '../strip.ts';
import type { EnqueueOptions } from '../types.ts';

/** A job that passed every producer-side check; nothing is written yet. */
export interface CheckedJob {
  def: AnyJobDefinition;
  /** The stored input as JSON: validated, JSON-safe, unknown keys stripped. */
  data: string;
  options: ResolvedEnqueueOptions;
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
  const parsed = def.payload.safeParse(payload);
  if (!parsed.success) {
    throw ValidationError.fromZod(`payload of ${name}`, parsed.error.issues);
  }
  assertJsonSafe(payload, `payload of ${name}`);
  // The validated input is stored, minus keys the schema would strip;
  // transforms and defaults run once, in the worker.
  const data = JSON.stringify(stripUnknownKeys(def.payload, payload));
  const size = Buffer.byteLength(data, 'utf8');
  if (size > maxPayloadBytes) {
    throw new PayloadTooLargeError(maxPayloadBytes, size, `payload of ${name}`);
  }
  return {
    def,
    data,
    options: resolveEnqueueOptions(def.options, options, now),
  };
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
