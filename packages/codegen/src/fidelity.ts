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
  value?: unknown;
}

/**
 * Keywords zod's schema has that a standard validator would enforce more
 * strictly than zod does (a `.catch()`, a coercion, a regex with flags, a
 * fractional `multipleOf`, checks on a trimmed value): contract.json leaves
 * them out, so validators accept at least what zod accepts, and keeps them
 * here, where validators do not look, so the compatibility checker still
 * compares what zod's schema says (see `zodView`).
 */
export const RELAXED = 'x-jobwire-relaxed';
/** Beside a `pattern` inside RELAXED: the regex's flags. */
export const FLAGS = 'x-jobwire-flags';

/** Keywords that constrain a string, number or array node (not its type). */
const CONSTRAINTS = [
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'allOf',
  'contentEncoding',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'const',
  'enum',
];

/** Moves `keys` of a JSON Schema node into its RELAXED stash. */
function relax(json: Record<string, unknown>, keys: readonly string[]): void {
  const stash = { ...((json[RELAXED] as Record<string, unknown>) ?? {}) };
  let moved = false;
  for (const k of keys) {
    if (!(k in json) || k === RELAXED || k.startsWith('x-jobwire-')) continue;
    stash[k] = json[k];
    delete json[k];
    moved = true;
  }
  if (moved) json[RELAXED] = stash;
}

/**
 * The schema as zod states it, for the compatibility checker: each RELAXED
 * stash merged back into its node. A lock written before the stash existed
 * has the keywords in place, so both compare alike, except for what it never
 * recorded (a regex's flags): the check compares that as not recorded, by
 * the lock's `records` (see ContractRecords).
 */
export function zodView(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(zodView);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  const src = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(src)) {
    if (k === RELAXED) continue;
    out[k] = DATA.has(k) ? v : zodView(v);
  }
  const stash = src[RELAXED];
  if (stash !== null && typeof stash === 'object')
    for (const [k, v] of Object.entries(zodView(stash) as object)) out[k] = v;
  return out;
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
  const def = defOf(ctx.zodSchema);
  if (def === undefined) return;
  const json = ctx.jsonSchema;
  const notes: string[] = [];
  const lenient = lenientWriter(def);
  if (lenient !== undefined) {
    // zod accepts values the inner schema refuses: no keyword may stay.
    relax(json, Object.keys(json));
    notes.push(lenient);
  }
  if (def.type === 'object' && Array.isArray(json.required)) {
    // A .catch() field may be missing: zod reads the fallback.
    const shape = (def.shape ?? {}) as Record<string, unknown>;
    const required = json.required as string[];
    const kept = required.filter((k) => defOf(shape[k])?.type !== 'catch');
    if (kept.length < required.length) {
      json[RELAXED] = {
        ...((json[RELAXED] as Record<string, unknown>) ?? {}),
        required,
      };
      json.required = kept;
    }
  }
  if (def.type === 'pipe' && lenient === undefined) {
    const out = defOf(def.out);
    if (out !== undefined && out.type !== 'transform')
      notes.push(
        "zod also checks the value .pipe() passes on against the pipe's output schema, which is not expressed here",
      );
  }
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
  const flagged = new Map<string, string>();
  for (const c of checks) {
    if (c.pattern instanceof RegExp && c.pattern.flags !== '') {
      flagged.set(c.pattern.source, c.pattern.flags);
      notes.push(
        `the regex /${c.pattern.source}/${c.pattern.flags} has flags JSON Schema patterns cannot carry, so the pattern is left out`,
      );
    }
    if (c.check === 'multiple_of')
      notes.push(
        typeof c.value === 'number' && !Number.isInteger(c.value)
          ? `zod's multipleOf(${c.value}) allows a rounding tolerance (it accepts 0.3 for 0.1) that validators do not, so it is left out`
          : "zod's multipleOf allows a rounding tolerance that grows with |value / step|: past about 2^50 times the step it accepts values a validator rejects",
      );
    if (c.check === 'custom')
      notes.push('a custom check (refine/superRefine/check) runs in zod only');
  }
  if (flagged.size > 0) relaxPatterns(json, flagged);
  if (typeof json.multipleOf === 'number' && !Number.isInteger(json.multipleOf))
    relax(json, ['multipleOf']);
  const rewritten = checks.findIndex((c) => c.check === 'overwrite');
  if (
    rewritten >= 0 &&
    checks.slice(rewritten + 1).some((c) => c.check !== 'overwrite')
  ) {
    // .trim().max(3) checks the trimmed value: "  abc  " passes in zod.
    relax(json, CONSTRAINTS);
    notes.push(
      'zod runs the checks after .trim()/.toLowerCase()/.overwrite() on the rewritten value, so they are left out',
    );
  }
  if (notes.length > 0)
    ctx.jsonSchema['x-jobwire-unenforced'] = [...new Set(notes)].join('; ');
}

function defOf(schema: unknown): Record<string, unknown> | undefined {
  return (schema as { _zod?: { def?: Record<string, unknown> } } | undefined)
    ?._zod?.def;
}

/** Why a writer with this def accepts values its JSON Schema refuses, if it does. */
function lenientWriter(def: Record<string, unknown>): string | undefined {
  if (def.type === 'catch')
    return "zod's .catch() accepts any value (or none) here and reads what the inner schema refuses as the fallback";
  if (def.coerce === true)
    return `zod coerces the value first (z.coerce.${String(def.type)}), so it accepts e.g. "5" or true`;
  if (def.type === 'pipe' && defOf(def.in)?.type === 'transform')
    return 'zod runs z.preprocess() first, so it accepts whatever the function maps to a valid value';
  return undefined;
}

/** Moves the patterns of flagged regexes (`source` → flags) into RELAXED. */
function relaxPatterns(
  json: Record<string, unknown>,
  flagged: ReadonlyMap<string, string>,
): void {
  const withFlags = (p: unknown): Record<string, unknown> => {
    const flags = typeof p === 'string' ? flagged.get(p) : undefined;
    return flags === undefined
      ? { pattern: p }
      : { pattern: p, [FLAGS]: flags };
  };
  if (typeof json.pattern === 'string' && flagged.has(json.pattern)) {
    const stash = withFlags(json.pattern);
    delete json.pattern;
    json[RELAXED] = {
      ...((json[RELAXED] as Record<string, unknown>) ?? {}),
      ...stash,
    };
  }
  if (Array.isArray(json.allOf)) {
    const all = json.allOf as Record<string, unknown>[];
    if (all.some((a) => flagged.has(a.pattern as string))) {
      json[RELAXED] = {
        ...((json[RELAXED] as Record<string, unknown>) ?? {}),
        allOf: all.map((a) =>
          typeof a.pattern === 'string' ? { ...a, ...withFlags(a.pattern) } : a,
        ),
      };
      const kept = all.filter((a) => !flagged.has(a.pattern as string));
      if (kept.length > 0) json.allOf = kept;
      else delete json.allOf;
    }
  }
}
