import { ErrorCode, JobwireError, ValidationError } from '../errors.ts';

/**
 * Deepest nesting of objects and arrays a payload may have. Validation,
 * JSON and key stripping recurse once per level, so a deeper value would
 * overflow the stack (a raw RangeError) here or in a worker; real payloads
 * stay far below it.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Refuses a value nested deeper than MAX_JSON_DEPTH with a ValidationError
 * naming the path where the limit is crossed. It recurses at most
 * MAX_JSON_DEPTH levels, so the check itself cannot overflow; it runs
 * before anything that recurses without a bound.
 */
export function assertJsonDepth(value: unknown, subject: string): void {
  const keys = deeperThanLimit(value, []);
  if (keys !== undefined) {
    throw new ValidationError(subject, [
      {
        path: keys.reverse().join('.'),
        message: `nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`,
        code: 'too_deep',
      },
    ]);
  }
}

/**
 * The path (innermost key first) to a value past the depth limit, or
 * undefined. `onPath` holds the objects being walked, outermost first: a
 * cycle is left to assertJsonSafe, which reports it as one.
 */
function deeperThanLimit(
  value: unknown,
  onPath: object[],
): string[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  // An array scan, not a Set: paths are short, and this runs per object.
  if (onPath.includes(value)) return undefined;
  if (onPath.length >= MAX_JSON_DEPTH) return [];
  onPath.push(value);
  for (const key in value) {
    const child = (value as Record<string, unknown>)[key];
    if (child === null || typeof child !== 'object') continue;
    if (!Object.hasOwn(value, key)) continue;
    const keys = deeperThanLimit(child, onPath);
    if (keys !== undefined) {
      keys.push(key);
      return keys;
    }
  }
  onPath.pop();
  return undefined;
}

/**
 * True when `value` is plain JSON (as assertJsonSafe means it) nested at
 * most MAX_JSON_DEPTH levels: then neither assertJsonDepth nor
 * assertJsonSafe would throw, and a caller may skip both, one walk instead
 * of two for the usual payload. False is no verdict: run them, for their
 * error. A cycle ends at the depth limit.
 */
export function isPlainJson(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      return false;
    case 'object':
      break;
  }
  if (value === null) return true;
  if (depth >= MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) {
    // Own keys come indices first, ascending: any key but the next index
    // is a hole or a key beside the indices, which the exact checks judge.
    let next = 0;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (+key !== next) return false;
      next++;
      if (!isPlainJson((value as unknown[])[next - 1], depth + 1)) return false;
    }
    return next === value.length;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined && !isPlainJson(v, depth + 1)) return false;
  }
  return true;
}

/**
 * Refuses values that JSON would silently change: Date, BigInt, Map, Set,
 * Buffer and typed arrays, class instances, functions, symbols, NaN and
 * Infinity, holes or `undefined` inside arrays, and cycles. Object keys whose
 * value is `undefined` are allowed: JSON drops them, as an absent optional
 * field. The error names the path of the first offending value.
 */
export function assertJsonSafe(value: unknown, subject: string): void {
  const problem = findNonJson(value, new Set());
  if (problem !== undefined) {
    const path = problem.keys.reverse().join('.');
    throw new JobwireError(
      ErrorCode.NOT_JSON,
      `${subject} is not plain JSON at ${path === '' ? '(root)' : path}: ${problem.why}; encode it as a string or number (for a Date, an ISO string)`,
    );
  }
}

/** The first non-JSON value; `keys` is its path, innermost key first. */
interface Problem {
  keys: (string | number)[];
  why: string;
}

const problem = (why: string): Problem => ({ keys: [], why });

// Paths are built only on failure: this runs on every enqueue.
function findNonJson(value: unknown, seen: Set<object>): Problem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : problem(`${String(value)} has no JSON form`);
    case 'undefined':
      return problem('undefined has no JSON form');
    case 'bigint':
      return problem('a BigInt has no JSON form');
    case 'function':
    case 'symbol':
      return problem(`a ${typeof value} has no JSON form`);
    case 'object':
      break;
  }
  if (value === null) return undefined;
  const obj = value as object;
  if (seen.has(obj)) return problem('a circular reference');
  if (Array.isArray(obj)) {
    seen.add(obj);
    for (let i = 0; i < obj.length; i++) {
      if (!(i in obj)) return { keys: [i], why: 'a hole in an array' };
      const p = findNonJson(obj[i], seen);
      if (p) {
        p.keys.push(i);
        return p;
      }
    }
    seen.delete(obj);
    return undefined;
  }
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name =
      (obj as { constructor?: { name?: string } }).constructor?.name ??
      'object';
    return problem(`a ${name} instance is not a plain object`);
  }
  seen.add(obj);
  for (const key in obj) {
    if (!Object.hasOwn(obj, key)) continue;
    const v = (obj as Record<string, unknown>)[key];
    if (v === undefined) continue;
    const p = findNonJson(v, seen);
    if (p) {
      p.keys.push(key);
      return p;
    }
  }
  seen.delete(obj);
  return undefined;
}
