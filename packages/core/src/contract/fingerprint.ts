import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AnyJobDefinition } from './define.ts';

/** JSON with object keys sorted at every depth: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

/** sha256 of a string, first 16 hex digits. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Keywords whose value is data: their arrays keep their order. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples']);

/**
 * A JSON Schema with every `required` list sorted: the order of an
 * object's keys in the source never changes what validates, so it must not
 * change a fingerprint (object keys are sorted by `canonicalJson`).
 */
export function sortRequired(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(sortRequired);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (DATA_KEYWORDS.has(k)) out[k] = v;
    else if (k === 'required' && Array.isArray(v))
      out[k] = [...(v as unknown[])].map(String).sort();
    else if (k === 'properties' || k === '$defs' || k === 'patternProperties')
      out[k] =
        v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v as Record<string, unknown>).map(([n, s]) => [
                n,
                sortRequired(s),
              ]),
            )
          : v;
    else out[k] = sortRequired(v);
  }
  return out;
}

/**
 * The regexes of a schema node that carry flags, as `/source/flags`: its
 * own (a string format such as `z.emoji()` or `z.email({ pattern })`) and
 * its checks' (`.regex()`, `z.string().emoji()`).
 */
function flaggedRegexes(schema: unknown): string[] {
  const def = (
    schema as
      { _zod?: { def?: { checks?: unknown[]; pattern?: unknown } } } | undefined
  )?._zod?.def;
  const out: string[] = [];
  if (def?.pattern instanceof RegExp && def.pattern.flags !== '')
    out.push(String(def.pattern));
  for (const check of def?.checks ?? []) {
    const pattern = (check as { _zod?: { def?: { pattern?: unknown } } })._zod
      ?.def?.pattern;
    if (pattern instanceof RegExp && pattern.flags !== '')
      out.push(String(pattern));
  }
  return out;
}

function inputSchema(schema: z.ZodType | undefined): unknown {
  return schema === undefined
    ? null
    : sortRequired(
        z.toJSONSchema(schema, {
          io: 'input',
          // JSON Schema's `pattern` has no flags: `/^ab$/` and `/^ab$/i`
          // would hash alike. A flagged regex is added in full (only then,
          // so every other schema keeps its fingerprint).
          override: (ctx) => {
            const flagged = flaggedRegexes(ctx.zodSchema);
            if (flagged.length > 0) ctx.jsonSchema['x-regex-flags'] = flagged;
          },
        }),
      );
}

const cache = new WeakMap<AnyJobDefinition, string>();

/**
 * The contract fingerprint of a job type: a hash of its queue, version and
 * the JSON Schemas of its payload, result and progress (with `required`
 * lists sorted, so key order does not count). Codegen writes the
 * same value into contract.json; the runtime stores it on every job, so
 * operators can tell which contract produced a job. Empty when a schema has
 * no JSON Schema form (codegen reports those).
 */
export function jobFingerprint(def: AnyJobDefinition): string {
  let fp = cache.get(def);
  if (fp === undefined) {
    try {
      fp = shortHash(
        canonicalJson({
          queue: def.queue,
          version: def.version,
          payload: inputSchema(def.payload),
          result: inputSchema(def.result),
          progress: inputSchema(def.progress),
        }),
      );
    } catch {
      fp = '';
    }
    cache.set(def, fp);
  }
  return fp;
}
