import type { CustomCheck, JsonSchema, Recordable } from '../contract-types.ts';

/**
 * One direction of compatibility. 'warn': the data still parses but means
 * something else; 'unknown': not decidable from the contract (custom code,
 * regex inclusion), so a conservative check treats it as breaking.
 */
export type Verdict = 'safe' | 'breaks' | 'warn' | 'unknown';

export type Role = 'payload' | 'result' | 'progress';

/** One difference between two versions of a part, judged both ways. */
export interface Change {
  /** The part changed, or 'job' for a change of the job type itself. */
  part: Role | 'job';
  /** Dotted path from the part root ('' root, 'addr.zip', 'items[]', 'u|0'). */
  path: string;
  /** The path for people: union options named, e.g. `contact (option 2 of 2: type="email")`. */
  label: string;
  /** Confluent-style name, e.g. BECAME_REQUIRED. */
  kind: string;
  /** W(old) ⊆ R(new): new readers accept what old writers stored. */
  backward: Verdict;
  /** W(new) ⊆ R(old): old readers accept what new writers store. */
  forward: Verdict;
  /** One line naming the path: `${summary}; ${reason}`. */
  message: string;
  /** What changed, without the path, e.g. "became required". */
  summary: string;
  /** Why a direction fails ('' when both are safe). */
  reason: string;
  /**
   * The version whose upcaster's `from` schema this change is in (`from`
   * against what that version stored), when it is one: its fix is in the
   * upcaster, and another upcaster cannot bridge it.
   */
  upcastFrom?: number;
}

/** The differences of one job type between the lock and the new contract. */
export interface JobDiff {
  job: string;
  kind: 'added' | 'removed' | 'changed';
  /**
   * `version` increased. With an upcaster from the locked version the payload
   * is judged against the upcaster's source schema (see versions.ts).
   */
  versionBumped: boolean;
  changes: Change[];
}

/** Who writes and who reads a part, for messages. */
export interface Voice {
  /** Data the old writers stored. */
  stored: string;
  /** Readers that still run the old schema. */
  oldReaders: string;
  /** Writers on the new schema. */
  newWriters: string;
}

/**
 * Payload: producers write, workers read. Result and progress: the roles
 * swap (workers write, awaiters and event listeners read). The verdict
 * formulas stay the same — BACKWARD is still W(old) ⊆ R(new) — so a required
 * field added to a result breaks backward (results stored by old workers
 * lack it) and is forward-safe (old awaiters strip it); only who is hurt,
 * and hence the message, differs.
 */
export const VOICES: Record<Role, Voice> = {
  payload: {
    stored: 'jobs already in Redis',
    oldReaders: 'workers still on the old schema',
    newWriters: 'producers on the new schema',
  },
  result: {
    stored: 'results old workers already stored',
    oldReaders: 'awaiters still on the old schema',
    newWriters: 'workers on the new schema',
  },
  progress: {
    stored: 'progress old workers already published',
    oldReaders: 'listeners still on the old schema',
    newWriters: 'workers on the new schema',
  },
};

/** A rule's finding before it is turned into a Change. */
export interface Finding {
  path: string;
  kind: string;
  backward: Verdict;
  forward: Verdict;
  summary: string;
  /** Explains a non-safe backward verdict. */
  why?: { backward?: string; forward?: string };
}

/** Walks two JSON Schema nodes; rules report findings through `report`. */
export interface DiffContext {
  voice: Voice;
  oldRoot: JsonSchema;
  newRoot: JsonSchema;
  oldCustom: CustomCheck[];
  newCustom: CustomCheck[];
  /** What the old side predates (an older lock): compared as not recorded. */
  oldUnrecorded: ReadonlySet<Recordable>;
  report(finding: Finding): void;
  /** Compares two nodes at a path (recursion for nested rules). */
  compare(
    oldNode: unknown,
    newNode: unknown,
    path: string,
    field?: FieldInfo,
  ): void;
  /** The combined verdicts of comparing two nodes, without reporting. */
  verdicts(
    oldNode: unknown,
    newNode: unknown,
    path: string,
  ): { backward: Verdict; forward: Verdict };
}

/** Optionality of an object property on both sides. */
export interface FieldInfo {
  oldOptional: boolean;
  newOptional: boolean;
}

const RANK: Record<Verdict, number> = {
  safe: 0,
  warn: 1,
  unknown: 2,
  breaks: 3,
};

/** The more serious of two verdicts. */
export function worst(a: Verdict, b: Verdict): Verdict {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The combined verdicts of many changes ('safe' if there are none). */
export function overall(
  changes: readonly { backward: Verdict; forward: Verdict }[],
): {
  backward: Verdict;
  forward: Verdict;
} {
  let backward: Verdict = 'safe';
  let forward: Verdict = 'safe';
  for (const c of changes) {
    backward = worst(backward, c.backward);
    forward = worst(forward, c.forward);
  }
  return { backward, forward };
}

export type Json = Record<string, unknown>;

export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
