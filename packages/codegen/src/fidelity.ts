import type { JsonSchema } from './contract-types.ts';

/**
 * Makes a part's JSON Schema say what the runtime (zod) enforces, in terms
 * every standard 2020-12 validator reads the same way:
 *
 * - `format` moves to `x-jobwire-format`. Validators check formats their own
 *   way (Ajv's `uri` is RFC 3986, zod's URL check is the WHATWG parser;
 *   Python's `email` only looks for an "@"), so a format can only disagree.
 *   zod's own regex stays in `pattern`, which is the check.
 * - Patterns are rewritten to mean the same in ECMAScript and Python `re`:
 *   `$` becomes `(?![\s\S])` (Python's `$` also matches before a final
 *   newline, so `a@b.co\n` passed), and `\d` becomes `[0-9]` (Python's
 *   `\d` matches every Unicode digit).
 * - A check JSON Schema cannot express gets `x-jobwire-unenforced`: a plain
 *   description of what zod checks beyond the schema.
 *
 * The rewrite is idempotent, so the compatibility checker can apply it to
 * a lock written before it existed and compare like with like.
 */
export function enforceable(schema: JsonSchema): JsonSchema {
  return rewrite(schema) as JsonSchema;
}

/** Keywords whose value is a map of names to schemas. */
const SCHEMA_MAPS = new Set(['properties', '$defs', 'patternProperties']);
/** Keywords whose value is data, not a schema. */
const DATA = new Set(['enum', 'const', 'default', 'examples']);

function rewrite(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (DATA.has(k)) out[k] = v;
    else if (k === 'pattern' && typeof v === 'string')
      out[k] = portablePattern(v);
    else if (k === 'format' && typeof v === 'string')
      out['x-jobwire-format'] = v;
    else if (SCHEMA_MAPS.has(k) && v !== null && typeof v === 'object')
      out[k] = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).map(([name, s]) => [
          name,
          rewrite(s),
        ]),
      );
    else out[k] = rewrite(v);
  }
  return out;
}

/**
 * An ECMAScript pattern (no flags) rewritten so Python's `re` and
 * ECMAScript agree on it: `$` outside a character class becomes an
 * end-of-input lookahead, `\d` becomes ASCII digits.
 */
export function portablePattern(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      i++;
      if (next === 'd') out += inClass ? '0-9' : '[0-9]';
      else out += c + next;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      continue;
    }
    out += c === '$' ? '(?![\\s\\S])' : c;
  }
  return out;
}

/**
 * zod string formats whose check is exactly the regex zod puts into the
 * JSON Schema. Any other format has a check (a parser, a decoder, Unicode
 * property escapes Python lacks) that the schema does not carry.
 */
const EXACT_FORMATS = new Set([
  'regex',
  'email',
  'uuid',
  'guid',
  'datetime',
  'date',
  'time',
  'duration',
  'ipv4',
  'cidrv4',
  'cuid',
  'cuid2',
  'ulid',
  'nanoid',
  'e164',
  'hex',
  'xid',
  'ksuid',
  'starts_with',
  'ends_with',
  'includes',
  'lowercase',
  'uppercase',
]);

/** What zod checks for a format the JSON Schema cannot express. */
const UNENFORCED_FORMATS: Record<string, string> = {
  url: 'zod parses the string with the WHATWG URL parser (new URL()) and applies its protocol/hostname rules; JSON Schema validators do not run that parser',
  jwt: 'zod decodes the JWT header; JSON Schema cannot',
  ipv6: 'zod also parses the address as a URL host',
  cidrv6: 'zod also parses the address and prefix',
  base64: 'zod also decodes the string',
  base64url: 'zod also decodes the string',
  emoji: 'zod uses Unicode property escapes that not every validator supports',
  hostname: 'zod also parses the name as a URL host',
};

interface CheckDef {
  check?: string;
  format?: string;
  pattern?: RegExp;
}
interface OverrideContext {
  zodSchema: unknown;
  jsonSchema: Record<string, unknown>;
}

/**
 * The `override` hook of `z.toJSONSchema`: marks each check of a zod schema
 * that the JSON Schema cannot express with `x-jobwire-unenforced`.
 */
export function markUnenforced(ctx: OverrideContext): void {
  const def = (ctx.zodSchema as { _zod?: { def?: Record<string, unknown> } })
    ._zod?.def;
  if (def === undefined) return;
  const notes: string[] = [];
  const checks = Array.isArray(def.checks)
    ? (def.checks as { _zod: { def: CheckDef } }[]).map((c) => c._zod.def)
    : [];
  const formats = [
    ...(typeof def.format === 'string' ? [def.format] : []),
    ...checks.flatMap((c) =>
      c.check === 'string_format' && c.format !== undefined ? [c.format] : [],
    ),
  ];
  for (const format of formats)
    if (!EXACT_FORMATS.has(format))
      notes.push(
        UNENFORCED_FORMATS[format] ??
          `zod's ${format} check is not expressed in the schema`,
      );
  for (const c of checks) {
    if (c.pattern instanceof RegExp && c.pattern.flags !== '')
      notes.push(
        `the regex /${c.pattern.source}/${c.pattern.flags} has flags JSON Schema patterns cannot carry`,
      );
    if (c.check === 'multiple_of')
      notes.push(
        "zod's multipleOf allows a rounding tolerance that grows with |value / step|: past about 2^50 times the step it accepts values a validator rejects",
      );
    if (c.check === 'custom')
      notes.push('a custom check (refine/superRefine/check) runs in zod only');
  }
  if (notes.length > 0)
    ctx.jsonSchema['x-jobwire-unenforced'] = [...new Set(notes)].join('; ');
}
