import { z } from 'zod';
import {
  ErrorCode,
  JobwireError,
  UpcastError,
  ValidationError,
} from '../errors.ts';
import { safeParseFast } from './parse.ts';

/**
 * Versions and upcasters. A job type at `version: N` may declare, for each
 * older version k still in Redis, the payload schema version k had (`from`)
 * and a function from that payload to version k+1's input (`to`). A worker
 * reads an old job by validating it against `from`, running the chain up to
 * N, and validating the result against the current payload schema.
 *
 * Old payloads are checked with the user's own zod schema, not with the
 * JSON Schema codegen keeps in the lock: zod gives the very verdict (and the
 * transforms and defaults) the old producer's schema gave, and it lets the
 * compiler type each upcaster. Codegen holds each `from` schema to the
 * payload schema locked for that version, so the two cannot drift apart.
 */

/** One step of the chain: version k's payload schema and the function to k+1. @public */
export interface UpcastStep<
  TFrom extends z.ZodType = z.ZodType,
  TNext = unknown,
> {
  /** The payload schema of version k, as its producers wrote it. */
  from: TFrom;
  /**
   * Turns a version k payload (parsed by `from`) into version k+1's input.
   * It must not have side effects: `getJob(id, { upcast: true })` runs it too.
   */
  to: (data: z.output<TFrom>) => TNext;
}

/** The `from` schemas of a job type's upcasters, by the version they read. @public */
export type UpcastSources = { readonly [version: number]: z.ZodType };

/** Version numbers up to 64: `Succ[k]` is k+1. */
type Succ = [
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  15,
  16,
  17,
  18,
  19,
  20,
  21,
  22,
  23,
  24,
  25,
  26,
  27,
  28,
  29,
  30,
  31,
  32,
  33,
  34,
  35,
  36,
  37,
  38,
  39,
  40,
  41,
  42,
  43,
  44,
  45,
  46,
  47,
  48,
  49,
  50,
  51,
  52,
  53,
  54,
  55,
  56,
  57,
  58,
  59,
  60,
  61,
  62,
  63,
  64,
];

/** A key as a number: inferred object keys may come back as `"1"`. */
type Num<TKey> = TKey extends number
  ? TKey
  : TKey extends `${infer N extends number}`
    ? N
    : never;

type At<TSources, TVersion extends number> = TVersion extends keyof TSources
  ? TSources[TVersion]
  : `${TVersion}` extends keyof TSources
    ? TSources[`${TVersion}`]
    : undefined;

/**
 * What the upcaster of version TKey must return: the next version's input,
 * which is the next upcaster's `from` input, or, after the last one, the
 * current payload's input.
 */
type NextInput<TSources, TKey, TPayload extends z.ZodType> =
  Num<TKey> extends keyof Succ
    ? At<TSources, Succ[Num<TKey>]> extends infer S extends z.ZodType
      ? z.input<S>
      : z.input<TPayload>
    : never;

/**
 * The `upcast` map of a job spec, typed so that each function takes its
 * version's parsed payload and returns the next version's input.
 * @public
 */
export type UpcastMap<TSources, TPayload extends z.ZodType> = {
  [K in keyof TSources]: {
    from: TSources[K];
    to: (
      data: z.output<TSources[K] & z.ZodType>,
    ) => NextInput<TSources, K, TPayload>;
  };
};

/** The checked chain of a job definition, by source version. */
export type UpcastChain = ReadonlyMap<number, UpcastStep>;

/** Checks a spec's `upcast` map against its version; see {@link UpcastMap}. */
export function checkUpcast(upcast: unknown, version: number): UpcastChain {
  const chain = new Map<number, UpcastStep>();
  if (upcast === undefined) return chain;
  const bad = (why: string) =>
    new JobwireError(ErrorCode.INVALID_OPTION, `job(): upcast ${why}`);
  if (typeof upcast !== 'object' || upcast === null)
    throw bad('must be an object of { from, to } steps keyed by version');
  const keys = Object.keys(upcast)
    .map(Number)
    .sort((a, b) => a - b);
  for (const k of keys) {
    if (!Number.isSafeInteger(k) || k < 1 || k >= version)
      throw bad(
        `keys must be versions from 1 to ${version - 1} (version is ${version}), got ${String(k)}`,
      );
    const step = (upcast as Record<number, Partial<UpcastStep>>)[k];
    if (!(step?.from instanceof z.ZodType) || typeof step.to !== 'function')
      throw bad(
        `${k} must be { from: <version ${k} payload schema>, to: (old) => <version ${k + 1} input> }`,
      );
    chain.set(k, { from: step.from, to: step.to });
  }
  // Each step returns the next version's input, so the chain must reach the
  // current version without a gap.
  if (keys.length > 0 && keys[keys.length - 1] !== version - 1)
    throw bad(
      `must end with a step from version ${version - 1}, the one before ${version}`,
    );
  for (let i = 1; i < keys.length; i++)
    if (keys[i] !== keys[i - 1]! + 1)
      throw bad(`has a gap: no step from version ${keys[i - 1]! + 1}`);
  return chain;
}

/** What {@link readPayload} needs of a job definition. */
export interface VersionedDefinition {
  readonly payload: z.ZodType;
  readonly version: number;
  readonly upcast: UpcastChain;
}

async function parse(schema: z.ZodType, value: unknown) {
  const parsing = safeParseFast(schema, value);
  return parsing instanceof Promise ? await parsing : parsing;
}

/**
 * A stored payload as the current version's parsed payload. A job of the
 * current version, or of a version older than the first upcaster (written
 * before the chain began, or when a compatible change bumped the version),
 * is parsed by the current schema. An older one is parsed by its version's
 * `from`, upcast step by step, and parsed by the current schema.
 *
 * Throws ValidationError (the old payload or the upcast result is invalid)
 * or UpcastError (an upcaster threw). `subject` names the job in messages.
 */
export async function readPayload(
  def: VersionedDefinition,
  version: number,
  raw: unknown,
  subject: string,
): Promise<unknown> {
  return (await upcastPayload(def, version, raw, subject)).data;
}

/**
 * {@link readPayload}, also giving the current version's input the parse
 * started from: the last upcaster's return value, or the stored payload
 * when no upcaster ran. `migrate` stores that input (minus unknown keys),
 * as a current producer would have, so defaults and transforms still run
 * once, in the worker.
 */
export async function upcastPayload(
  def: VersionedDefinition,
  version: number,
  raw: unknown,
  subject: string,
): Promise<{ input: unknown; data: unknown }> {
  let value = raw;
  let from = version;
  if (def.upcast.has(version)) {
    const step = def.upcast.get(version)!;
    const old = await parse(step.from, raw);
    if (!old.success)
      throw ValidationError.fromZod(
        `${subject} (version ${version}, read with its upcaster's schema)`,
        old.error.issues,
      );
    value = old.data;
    for (let k = version; k < def.version; k++) {
      const cur = def.upcast.get(k)!;
      try {
        value = await cur.to(value);
      } catch (err) {
        throw new UpcastError(subject, k, k + 1, err);
      }
      // The next step's `from` parses its input: defaults and transforms of
      // that version apply, as they did for its own producers.
      const next = def.upcast.get(k + 1);
      if (next !== undefined) {
        const checked = await parse(next.from, value);
        if (!checked.success)
          throw ValidationError.fromZod(
            `${subject} (upcast from version ${k} to ${k + 1})`,
            checked.error.issues,
          );
        value = checked.data;
      }
    }
    from = def.version;
  }
  const parsed = await parse(def.payload, value);
  if (!parsed.success)
    throw ValidationError.fromZod(
      from === version
        ? subject
        : `${subject} (upcast from version ${version} to ${def.version})`,
      parsed.error.issues,
    );
  return { input: value, data: parsed.data };
}
