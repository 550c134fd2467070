import { canonicalJson } from '@jobwire/core';
import { isJson } from './types.ts';
import type { Json } from './types.ts';

/**
 * Normalising zod's JSON Schema into alternatives ("branches") and matching
 * the alternatives of two versions.
 */

export type Kind =
  | 'any'
  | 'never'
  | 'null'
  | 'boolean'
  | 'number'
  | 'integer'
  | 'string'
  | 'array'
  | 'object'
  | 'other';

/** Keywords that never change which values validate. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$defs',
  '$comment',
  'id',
  'title',
  'description',
  'examples',
  'readOnly',
  'writeOnly',
  'deprecated',
  'default',
]);
export const ENUM_KEYS = ['type', 'enum', 'const'];

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

const jsonType = (v: unknown): Kind =>
  v === null
    ? 'null'
    : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
      ? (typeof v as Kind)
      : Array.isArray(v)
        ? 'array'
        : 'object';

/**
 * Keywords that constrain values. `x-jobwire-unenforced` only describes a
 * zod check; the custom-check and format rules compare what it describes.
 */
export const constraintKeys = (node: Json): string[] =>
  Object.keys(node).filter(
    (k) => !ANNOTATIONS.has(k) && k !== 'x-jobwire-unenforced',
  );

export function kindOf(node: Json): Kind {
  if (isJson(node.not) && Object.keys(node.not).length === 0) return 'never';
  if (node.allOf !== undefined || node.not !== undefined) return 'other';
  if (typeof node.type === 'string') return node.type as Kind;
  if ('const' in node) return jsonType(node.const);
  if (Array.isArray(node.enum) && node.enum.length > 0)
    return jsonType(node.enum[0]);
  if ('properties' in node || 'additionalProperties' in node) return 'object';
  if ('items' in node || 'prefixItems' in node) return 'array';
  return constraintKeys(node).length === 0 ? 'any' : 'other';
}

export const numeric = (k: Kind): Kind => (k === 'integer' ? 'number' : k);

/**
 * Every schema as a list of alternatives, one per JSON type or union
 * option, so `string | null` and `anyOf` compare the same way. Pure
 * literal alternatives of one type merge into one enum.
 */
export function branches(root: Json, input: unknown): Json[] {
  const node = resolve(root, input);
  const options = [
    ...(Array.isArray(node.anyOf) ? node.anyOf : []),
    ...(Array.isArray(node.oneOf) ? node.oneOf : []),
  ];
  let out: Json[];
  if (options.length > 0) out = options.flatMap((o) => branches(root, o));
  else if (Array.isArray(node.type))
    out = node.type.map((t) => {
      const b: Json = { ...node, type: t };
      if (Array.isArray(node.enum))
        b.enum = node.enum.filter(
          (v) => numeric(jsonType(v)) === numeric(t as Kind),
        );
      return b;
    });
  else if (node.type === undefined && Array.isArray(node.enum)) {
    const types = [...new Set(node.enum.map(jsonType))];
    out = types.map((t) => ({
      type: t,
      enum: (node.enum as unknown[]).filter((v) => jsonType(v) === t),
    }));
  } else out = [node];
  return mergeLiterals(out.map(normalize));
}

/** z.int() bounds are ±2^53−1: the type change already says it. */
function normalize(node: Json): Json {
  if (node.type !== 'integer') return node;
  const out = { ...node };
  if (out.minimum === -MAX_SAFE) delete out.minimum;
  if (out.maximum === MAX_SAFE) delete out.maximum;
  return out;
}

function mergeLiterals(list: Json[]): Json[] {
  const pure = (b: Json) =>
    constraintKeys(b).every((k) => ENUM_KEYS.includes(k)) &&
    ('const' in b || Array.isArray(b.enum));
  const out: Json[] = [];
  const merged = new Map<Kind, Json>();
  for (const b of list) {
    const k = kindOf(b);
    if (!pure(b) || k === 'object' || k === 'array') {
      out.push(b);
      continue;
    }
    const vals = 'const' in b ? [b.const] : (b.enum as unknown[]);
    const prev = merged.get(k);
    if (prev) (prev.enum as unknown[]).push(...vals);
    else {
      const m: Json = { type: k, enum: [...vals] };
      merged.set(k, m);
      out.push(m);
    }
  }
  return out;
}

/** Follows `$ref` ('#' or '#/$defs/x', all zod emits). */
export function resolve(root: Json, input: unknown): Json {
  let node: Json = isJson(input) ? input : input === false ? { not: {} } : {};
  for (let i = 0; i < 32 && typeof node.$ref === 'string'; i++) {
    const ref = node.$ref;
    const defs = isJson(root.$defs) ? root.$defs : {};
    const target: unknown =
      ref === '#'
        ? root
        : ref.startsWith('#/$defs/')
          ? defs[ref.slice(8)]
          : undefined;
    node = isJson(target) ? target : {};
  }
  return node;
}
export function describeOne(b: Json): string {
  const k = kindOf(b);
  if (k !== 'object') return k;
  const props = isJson(b.properties) ? b.properties : {};
  const tag = Object.entries(props).find(([, p]) => isJson(p) && 'const' in p);
  return tag
    ? `${tag[0]}=${JSON.stringify((tag[1] as Json).const)}`
    : `{${Object.keys(props).join(', ')}}`;
}

export const describe = (list: Json[]): string =>
  [...new Set(list.map(kindOf))].join(' | ') || 'nothing';

/** The value of a literal-typed property (the tag of a discriminated union). */
function tag(b: Json, key: string): string | undefined {
  const p = isJson(b.properties) ? b.properties[key] : undefined;
  if (!isJson(p)) return undefined;
  if ('const' in p) return canonicalJson(p.const);
  return Array.isArray(p.enum) && p.enum.length === 1
    ? canonicalJson(p.enum[0])
    : undefined;
}

/**
 * Matches union options: by discriminator when every object option has one,
 * else identical options, else options sharing the most property names.
 */
export function pairUp(
  os: Json[],
  ns: Json[],
): { pairs: [Json, Json][]; left: Json[]; right: Json[] } {
  const pairs: [Json, Json][] = [];
  let left = [...os];
  let right = [...ns];
  const take = (a: Json, b: Json) => {
    pairs.push([a, b]);
    left = left.filter((x) => x !== a);
    right = right.filter((x) => x !== b);
  };
  if (os.length === 1 && ns.length === 1) {
    take(os[0]!, ns[0]!);
    return { pairs, left, right };
  }
  const keys = [
    ...new Set(
      [...os, ...ns].flatMap((b) =>
        Object.keys(isJson(b.properties) ? b.properties : {}),
      ),
    ),
  ].sort();
  const disc = keys.find((k) =>
    [...os, ...ns].every((b) => tag(b, k) !== undefined),
  );
  if (disc !== undefined) {
    for (const a of os) {
      const b = right.find((x) => tag(x, disc) === tag(a, disc));
      if (b) take(a, b);
    }
    return { pairs, left, right };
  }
  for (const a of os) {
    const b = right.find((x) => canonicalJson(x) === canonicalJson(a));
    if (b) take(a, b);
  }
  const names = (b: Json) =>
    new Set(Object.keys(isJson(b.properties) ? b.properties : {}));
  for (const a of [...left]) {
    let best: Json | undefined;
    let score = 0;
    for (const b of right) {
      const an = names(a);
      const s =
        kindOf(a) === 'object'
          ? [...names(b)].filter((x) => an.has(x)).length
          : 1;
      if (s > score) [best, score] = [b, s];
    }
    if (best) take(a, best);
  }
  return { pairs, left, right };
}
