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
 * naming the path where the limit is crossed. Iterative, so that the check
 * itself cannot overflow; runs before anything recursive.
 */
export function assertJsonDepth(value: unknown, subject: string): void {
  // A parent link per entry: the path is built only on failure, as this
  // runs on every enqueue.
  interface Entry {
    v: unknown;
    depth: number;
    key: string;
    parent: Entry | undefined;
  }
  const stack: Entry[] = [{ v: value, depth: 0, key: '', parent: undefined }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const v = entry.v;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    if (entry.depth >= MAX_JSON_DEPTH) {
      const keys: string[] = [];
      for (let e: Entry | undefined = entry; e?.parent; e = e.parent)
        keys.unshift(e.key);
      throw new ValidationError(subject, [
        {
          path: keys.join('.'),
          message: `nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`,
          code: 'too_deep',
        },
      ]);
    }
    // Cycles are reported by assertJsonSafe; here they only end the walk.
    seen.add(v);
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key];
      if (child !== null && typeof child === 'object') {
        stack.push({ v: child, depth: entry.depth + 1, key, parent: entry });
      }
    }
  }
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
