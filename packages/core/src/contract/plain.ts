import type { z } from 'zod';
import { defOf } from './zod-def.ts';

/** Types whose parse returns the value it was given. */
const LEAVES = new Set([
  'string',
  'number',
  'boolean',
  'null',
  'literal',
  'enum',
  'template_literal',
  'any',
  'unknown',
  'never',
]);

const known = new WeakMap<z.ZodType, boolean>();

/**
 * Whether a schema's parse output equals its input minus the keys that
 * `stripUnknownKeys` removes: no transforms, pipes, defaults, catches,
 * coercion or overwriting checks (`.trim()`), only types that return what
 * they were given. For such a schema the stored input is simply
 * `JSON.stringify(parsed.data)`, and the strip walk, a copy of every
 * object on each enqueue, is skipped. Cached per schema.
 */
export function parseKeepsInput(schema: z.ZodType): boolean {
  let answer = known.get(schema);
  if (answer === undefined) {
    answer = check(schema, new Set());
    known.set(schema, answer);
  }
  return answer;
}

function check(schema: z.ZodType, visiting: Set<z.ZodType>): boolean {
  // A recursive schema is as plain as the rest of it.
  if (visiting.has(schema)) return true;
  const cached = known.get(schema);
  if (cached !== undefined) return cached;
  const def = defOf(schema);
  if (def.coerce === true) return false;
  if (def.checks?.some((c) => c._zod.def.check === 'overwrite')) return false;
  if (LEAVES.has(def.type)) return true;
  visiting.add(schema);
  try {
    const inner = (s: z.ZodType | null | undefined): boolean =>
      s === undefined || s === null || check(s, visiting);
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'readonly':
        return inner(def.innerType);
      case 'object':
        return (
          Object.values(def.shape ?? {}).every((field) => inner(field)) &&
          inner(def.catchall)
        );
      case 'array':
        return inner(def.element);
      case 'tuple':
        return (
          (def.items ?? []).every((item) => inner(item)) && inner(def.rest)
        );
      case 'union':
        return (def.options ?? []).every((option) => inner(option));
      default:
        return false;
    }
  } finally {
    visiting.delete(schema);
  }
}
