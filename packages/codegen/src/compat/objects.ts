import { canonicalJson } from '@jobwire/core';
import { joinPath } from '../contract.ts';
import { narrowed, undecidable, widened } from './report.ts';
import { isJson, worst } from './types.ts';
import type { DiffContext, Json, Verdict } from './types.ts';

export const OBJECT_KEYS = [
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
  'patternProperties',
];

/**
 * What an object does with keys its schema does not name (A1):
 * - strip (plain z.object, no additionalProperties): the writer stores none
 *   (enqueue strips them), the reader drops them.
 * - strict (false): the writer stores none, the reader rejects them.
 * - loose ({}): the writer keeps them, the reader passes them through.
 * - catchall (a schema, also records): both sides allow extras of that schema.
 */
type Extra =
  | { mode: 'strip' }
  | { mode: 'strict' }
  | { mode: 'loose' }
  | { mode: 'catchall'; schema: Json };

function extraOf(node: Json): Extra {
  const ap = node.additionalProperties;
  if (ap === undefined) return { mode: 'strip' };
  if (ap === false) return { mode: 'strict' };
  if (ap === true || (isJson(ap) && Object.keys(ap).length === 0))
    return { mode: 'loose' };
  return isJson(ap) ? { mode: 'catchall', schema: ap } : { mode: 'loose' };
}

/** Extras a writer may store: none, any value, or values of a schema. */
const writerExtra = (e: Extra): 'none' | 'any' | Json =>
  e.mode === 'catchall' ? e.schema : e.mode === 'loose' ? 'any' : 'none';
/** Extras a reader accepts. */
const readerExtra = (e: Extra): 'none' | 'any' | Json =>
  e.mode === 'catchall' ? e.schema : e.mode === 'strict' ? 'none' : 'any';

const ANY_KEY = { type: 'string' };

const isEmpty = (s: unknown): boolean =>
  isJson(s) && Object.keys(s).length === 0;

/**
 * Whether values a writer stores under some key (`w`) are accepted by the
 * reader's schema for it (`r`); `oldIsWriter` says which side is old, so
 * the sub-diff's backward or forward verdict is the answer.
 */
function accepts(
  ctx: DiffContext,
  w: 'none' | 'any' | Json,
  r: 'none' | 'any' | Json,
  oldIsWriter: boolean,
  path: string,
): Verdict {
  if (w === 'none' || r === 'any') return 'safe';
  if (r === 'none') return 'breaks';
  if (w === 'any') return isEmpty(r) ? 'safe' : 'breaks';
  const v = oldIsWriter ? ctx.verdicts(w, r, path) : ctx.verdicts(r, w, path);
  return oldIsWriter ? v.backward : v.forward;
}

/** Property schemas of a node; names only in `required` (enum-keyed records) use the catch-all. */
function fields(node: Json): Map<string, { schema: Json; required: boolean }> {
  const props = isJson(node.properties) ? node.properties : {};
  const required = new Set(
    Array.isArray(node.required) ? node.required.map(String) : [],
  );
  const extra = writerExtra(extraOf(node));
  const out = new Map<string, { schema: Json; required: boolean }>();
  for (const name of [...Object.keys(props), ...required]) {
    const own = Object.hasOwn(props, name) ? props[name] : undefined;
    const schema = isJson(own) ? own : isJson(extra) ? extra : {};
    out.set(name, { schema, required: required.has(name) });
  }
  return out;
}

/** A schema without defaults and annotations, to spot a same-typed remove + add. */
function shapeKey(schema: unknown): string {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (!isJson(value)) return value;
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !RENAME_IGNORED.has(k))
        .map(([k, v]) => [k, strip(v)]),
    );
  };
  return canonicalJson(strip(schema));
}

const RENAME_IGNORED = new Set(['default', 'description', 'title', 'examples']);

export function compareObject(
  ctx: DiffContext,
  o: Json,
  n: Json,
  path: string,
): void {
  const v = ctx.voice;
  const oe = extraOf(o);
  const ne = extraOf(n);
  const of = fields(o);
  const nf = fields(n);
  const added: string[] = [];
  const removed: string[] = [];
  for (const name of [...new Set([...of.keys(), ...nf.keys()])].sort()) {
    const at = joinPath(path, name);
    const a = of.get(name);
    const b = nf.get(name);
    if (a && b) {
      ctx.compare(a.schema, b.schema, at, {
        oldOptional: !a.required,
        newOptional: !b.required,
      });
      if (!a.required && b.required)
        ctx.report({
          path: at,
          kind: 'BECAME_REQUIRED',
          summary: 'became required',
          backward: 'breaks',
          forward: 'safe',
          why: { backward: `${v.stored} may lack it` },
        });
      if (a.required && !b.required)
        ctx.report({
          path: at,
          kind: 'BECAME_OPTIONAL',
          summary: 'became optional',
          backward: 'safe',
          forward: 'breaks',
          why: {
            forward: `${v.newWriters} may omit it and ${v.oldReaders} require it`,
          },
        });
    } else if (b) {
      added.push(name);
      // Old data lacks the key unless the old writer kept extra keys.
      let backward: Verdict = b.required ? 'breaks' : 'safe';
      backward = worst(
        backward,
        accepts(ctx, writerExtra(oe), b.schema, true, at),
      );
      const forward = accepts(ctx, b.schema, readerExtra(oe), false, at);
      ctx.report({
        path: at,
        kind: b.required
          ? 'REQUIRED_PROPERTY_ADDED'
          : 'OPTIONAL_PROPERTY_ADDED',
        summary: `${b.required ? 'required' : 'optional'} property added`,
        backward,
        forward,
        why: {
          backward:
            oe.mode === 'loose' || oe.mode === 'catchall'
              ? `${v.stored} may hold a stray "${name}" key (open object) or lack it`
              : `${v.stored} lack it`,
          forward: `${v.oldReaders} do not accept the key`,
        },
      });
    } else if (a) {
      removed.push(name);
      // The new reader must cope with the stale key in old data.
      const backward = accepts(ctx, a.schema, readerExtra(ne), true, at);
      let forward: Verdict = a.required ? 'breaks' : 'safe';
      forward = worst(
        forward,
        accepts(ctx, writerExtra(ne), a.schema, false, at),
      );
      ctx.report({
        path: at,
        kind:
          ne.mode === 'strict' && backward === 'breaks'
            ? 'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL'
            : 'PROPERTY_REMOVED',
        summary: `${a.required ? 'required' : 'optional'} property removed`,
        backward,
        forward,
        why: {
          backward: `${v.stored} still carry the key and the new schema rejects it`,
          forward: `${v.oldReaders} still expect it`,
        },
      });
    }
  }
  renames(ctx, path, of, nf, removed, added);
  extras(ctx, path, oe, ne);
  if (o.propertyNames !== undefined || n.propertyNames !== undefined)
    // JSON keys are always strings: no propertyNames means any string.
    ctx.compare(
      o.propertyNames ?? ANY_KEY,
      n.propertyNames ?? ANY_KEY,
      `${path}{key}`,
    );
  if (
    canonicalJson(o.patternProperties ?? null) !==
    canonicalJson(n.patternProperties ?? null)
  )
    undecidable(
      ctx,
      path,
      'PATTERN_PROPERTIES_CHANGED',
      'patternProperties changed',
      'key-pattern rules are not compared',
    );
  compareCount(ctx, o, n, path);
}

function compareCount(ctx: DiffContext, o: Json, n: Json, path: string): void {
  for (const [key, lower] of [
    ['minProperties', true],
    ['maxProperties', false],
  ] as const) {
    const a = o[key];
    const b = n[key];
    if (a === b) continue;
    const label = key === 'minProperties' ? 'MIN_PROPERTIES' : 'MAX_PROPERTIES';
    const tighter =
      typeof a !== 'number' ||
      (typeof b === 'number' && (lower ? b > a : b < a));
    const kind =
      typeof a !== 'number'
        ? `${label}_ADDED`
        : typeof b !== 'number'
          ? `${label}_REMOVED`
          : `${label}_CHANGED`;
    if (tighter)
      narrowed(ctx, path, kind, `${key} ${String(a)} → ${String(b)}`);
    else widened(ctx, path, kind, `${key} ${String(a)} → ${String(b)}`);
  }
}

/**
 * A removed and an added property of the same shape are likely a rename.
 * Structurally that is a remove plus an add, but data silently moves to a
 * default or vanishes, so it is worth a warning both ways (rows 6 and 7).
 */
function renames(
  ctx: DiffContext,
  path: string,
  of: ReturnType<typeof fields>,
  nf: ReturnType<typeof fields>,
  removed: string[],
  added: string[],
): void {
  for (const r of removed) {
    const key = shapeKey(of.get(r)!.schema);
    const hits = added.filter((a) => shapeKey(nf.get(a)!.schema) === key);
    const back =
      hits.length === 1
        ? removed.filter(
            (x) =>
              shapeKey(of.get(x)!.schema) ===
              shapeKey(nf.get(hits[0]!)!.schema),
          )
        : [];
    if (hits.length !== 1 || back.length !== 1) continue;
    ctx.report({
      path: joinPath(path, hits[0]!),
      kind: 'LIKELY_RENAME',
      summary: `looks like a rename of "${r}"`,
      backward: 'warn',
      forward: 'warn',
      why: {
        backward: `values of "${r}" in ${ctx.voice.stored} are not carried over`,
        forward: `${ctx.voice.oldReaders} do not see the value under its old name`,
      },
    });
  }
}

/** Changes of what happens to unknown keys. */
function extras(ctx: DiffContext, path: string, oe: Extra, ne: Extra): void {
  if (oe.mode === 'catchall' && ne.mode === 'catchall') {
    ctx.compare(oe.schema, ne.schema, joinPath(path, '*'));
    return;
  }
  if (oe.mode === ne.mode) return;
  const backward = accepts(
    ctx,
    writerExtra(oe),
    readerExtra(ne),
    true,
    joinPath(path, '*'),
  );
  const forward = accepts(
    ctx,
    writerExtra(ne),
    readerExtra(oe),
    false,
    joinPath(path, '*'),
  );
  const kind =
    ne.mode === 'strict'
      ? 'ADDITIONAL_PROPERTIES_REMOVED'
      : oe.mode === 'strict'
        ? 'ADDITIONAL_PROPERTIES_ADDED'
        : ne.mode === 'catchall' || oe.mode === 'loose'
          ? 'ADDITIONAL_PROPERTIES_NARROWED'
          : 'ADDITIONAL_PROPERTIES_EXTENDED';
  ctx.report({
    path,
    kind,
    summary: `unknown keys: ${oe.mode} → ${ne.mode}${ne.mode === 'strict' ? ' (safe only because enqueue strips unknown keys)' : ''}`,
    backward,
    forward,
    why: {
      backward: `${ctx.voice.stored} may carry extra keys the new schema rejects`,
      forward: `${ctx.voice.newWriters} may store extra keys ${ctx.voice.oldReaders} reject`,
    },
  });
}
