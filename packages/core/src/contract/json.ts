import { ErrorCode, JobwireError } from '../errors.ts';

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
