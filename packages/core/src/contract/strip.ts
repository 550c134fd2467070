import type { z } from 'zod';
import { parseKeepsInput } from './plain.ts';
import { defOf } from './zod-def.ts';

const WRAPPERS = new Set([
  'optional',
  'nullable',
  'default',
  'prefault',
  'readonly',
  'nonoptional',
  'catch',
  'success',
]);

/**
 * Returns a copy of a validated input without the keys that plain
 * `z.object`s would strip. Stored jobs then hold only fields their schema
 * names, so a field added later cannot meet a stale key of the same name
 * (docs/compatibility.md, A1). Loose and strict objects, intersections and
 * transforms keep their value as given.
 */
export function stripUnknownKeys(schema: z.ZodType, value: unknown): unknown {
  const def = defOf(schema);
  if (WRAPPERS.has(def.type) && def.innerType) {
    return value === undefined || value === null
      ? value
      : stripUnknownKeys(def.innerType, value);
  }
  switch (def.type) {
    case 'object': {
      if (!isPlainObject(value)) return value;
      const shape = def.shape ?? {};
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value)) {
        const field = Object.hasOwn(shape, key) ? shape[key] : undefined;
        if (field !== undefined) out[key] = stripUnknownKeys(field, v);
        else if (def.catchall !== undefined) out[key] = v;
      }
      return out;
    }
    case 'array':
      return Array.isArray(value) && def.element
        ? value.map((v) => stripUnknownKeys(def.element!, v))
        : value;
    case 'tuple':
      return Array.isArray(value)
        ? value.map((v, i) => {
            const item = def.items?.[i] ?? def.rest ?? undefined;
            return item ? stripUnknownKeys(item, v) : v;
          })
        : value;
    case 'record':
      if (!isPlainObject(value) || !def.valueType) return value;
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          stripUnknownKeys(def.valueType!, v),
        ]),
      );
    case 'pipe':
      return def.in ? stripUnknownKeys(def.in, value) : value;
    case 'lazy':
      return def.getter ? stripUnknownKeys(def.getter(), value) : value;
    case 'union': {
      // The first option that accepts the value decides its shape, as in zod.
      const match = def.options?.find((o) => o.safeParse(value).success);
      return match ? stripUnknownKeys(match, value) : value;
    }
    default:
      return value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What is stored for a validated value: its input minus unknown keys. For
 * a schema whose parse returns its input (`parseKeepsInput`), that is
 * zod's own `output`, and the strip walk, a copy of every object, is
 * skipped.
 */
export function storedInput(
  schema: z.ZodType,
  input: unknown,
  output: unknown,
): unknown {
  return parseKeepsInput(schema) ? output : stripUnknownKeys(schema, input);
}
