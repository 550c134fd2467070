import { ErrorCode, JobwireError } from './errors.ts';

/**
 * Refuses values that JSON would silently change: Date, BigInt, Map, Set,
 * Buffer and typed arrays, class instances, functions, symbols, NaN and
 * Infinity, holes or `undefined` inside arrays, and cycles. Object keys whose
 * value is `undefined` are allowed: JSON drops them, as an absent optional
 * field. The error names the path of the first offending value.
 */
export function assertJsonSafe(value: unknown, subject: string): void {
  const problem = findNonJson(value, '', new Set());
  if (problem !== undefined) {
    throw new JobwireError(
      ErrorCode.NOT_JSON,
      `${subject} is not plain JSON at ${problem.path === '' ? '(root)' : problem.path}: ${problem.why}; encode it as a string or number (for a Date, an ISO string)`,
    );
  }
}

function findNonJson(
  value: unknown,
  path: string,
  seen: Set<object>,
): { path: string; why: string } | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : { path, why: `${String(value)} has no JSON form` };
    case 'undefined':
      return { path, why: 'undefined has no JSON form' };
    case 'bigint':
      return { path, why: 'a BigInt has no JSON form' };
    case 'function':
    case 'symbol':
      return { path, why: `a ${typeof value} has no JSON form` };
    case 'object':
      break;
  }
  if (value === null) return undefined;
  const obj = value as object;
  if (seen.has(obj)) return { path, why: 'a circular reference' };
  const join = (key: string | number) =>
    path === '' ? String(key) : `${path}.${key}`;
  if (Array.isArray(obj)) {
    seen.add(obj);
    for (let i = 0; i < obj.length; i++) {
      if (!(i in obj)) return { path: join(i), why: 'a hole in an array' };
      const p = findNonJson(obj[i], join(i), seen);
      if (p) return p;
    }
    seen.delete(obj);
    return undefined;
  }
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name =
      (obj as { constructor?: { name?: string } }).constructor?.name ??
      'object';
    return { path, why: `a ${name} instance is not a plain object` };
  }
  seen.add(obj);
  for (const [key, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const p = findNonJson(v, join(key), seen);
    if (p) return p;
  }
  seen.delete(obj);
  return undefined;
}
