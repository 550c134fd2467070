import { canonicalJson } from '@jobwire/core';
import { narrowed, show, swapped, undecidable, widened } from './report.ts';
import { isJson } from './types.ts';
import type { DiffContext, Json } from './types.ts';

/** Keywords each kind's rules look at; any other difference is 'unknown'. */
export const STRING_KEYS = [
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'x-jobwire-format',
  'x-jobwire-flags',
];
export const NUMBER_KEYS = [
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'multipleOf',
];
export const ARRAY_KEYS = [
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'uniqueItems',
];

interface Bound {
  value: number;
  exclusive: boolean;
}

const num = (v: unknown): number | undefined =>
  typeof v === 'number' ? v : undefined;

/** The tighter of an inclusive and an exclusive bound. */
function bound(
  node: Json,
  inclusive: string,
  exclusive: string | undefined,
  lower: boolean,
): Bound | undefined {
  const inc = num(node[inclusive]);
  const exc = exclusive === undefined ? undefined : num(node[exclusive]);
  if (inc === undefined)
    return exc === undefined ? undefined : { value: exc, exclusive: true };
  if (exc === undefined) return { value: inc, exclusive: false };
  const excTighter = lower ? exc >= inc : exc <= inc;
  return excTighter
    ? { value: exc, exclusive: true }
    : { value: inc, exclusive: false };
}

const fmt = (b: Bound, lower: boolean): string =>
  `${lower ? (b.exclusive ? '>' : '>=') : b.exclusive ? '<' : '<='} ${b.value}`;

/**
 * A lower or upper bound. Tightening one is a narrowing (MIN_LENGTH_ADDED,
 * MAXIMUM_DECREASED, ...), loosening one a widening.
 */
function compareBound(
  ctx: DiffContext,
  path: string,
  label: string,
  noun: string,
  lower: boolean,
  o: Bound | undefined,
  n: Bound | undefined,
): void {
  if (o === undefined && n === undefined) return;
  if (o === undefined) {
    narrowed(ctx, path, `${label}_ADDED`, `${noun} ${fmt(n!, lower)} added`);
    return;
  }
  if (n === undefined) {
    widened(ctx, path, `${label}_REMOVED`, `${noun} ${fmt(o, lower)} removed`);
    return;
  }
  if (o.value === n.value && o.exclusive === n.exclusive) return;
  const raised =
    n.value > o.value ||
    (n.value === o.value && (lower ? n.exclusive : o.exclusive));
  const tighter = lower ? raised : !raised;
  const summary = `${noun} changed from ${fmt(o, lower)} to ${fmt(n, lower)}`;
  const kind = `${label}_${raised ? 'INCREASED' : 'DECREASED'}`;
  if (tighter) narrowed(ctx, path, kind, summary);
  else widened(ctx, path, kind, summary);
}

function bounds(
  ctx: DiffContext,
  o: Json,
  n: Json,
  path: string,
  [minKey, maxKey]: [string, string],
  [minLabel, maxLabel]: [string, string],
  noun: string,
  exclusive?: [string, string],
): void {
  compareBound(
    ctx,
    path,
    minLabel,
    `${noun} lower bound`,
    true,
    bound(o, minKey, exclusive?.[0], true),
    bound(n, minKey, exclusive?.[0], true),
  );
  compareBound(
    ctx,
    path,
    maxLabel,
    `${noun} upper bound`,
    false,
    bound(o, maxKey, exclusive?.[1], false),
    bound(n, maxKey, exclusive?.[1], false),
  );
}

function values(node: Json): unknown[] | undefined {
  if ('const' in node) return [node.const];
  return Array.isArray(node.enum) ? node.enum : undefined;
}

/** const and enum: the set of allowed values, for every scalar kind. */
export function compareEnum(
  ctx: DiffContext,
  o: Json,
  n: Json,
  path: string,
): void {
  const ov = values(o);
  const nv = values(n);
  if (ov === undefined && nv === undefined) return;
  if (ov === undefined) {
    narrowed(
      ctx,
      path,
      'ENUM_ADDED',
      `now limited to ${nv!.map(show).join(', ')}`,
    );
    return;
  }
  if (nv === undefined) {
    widened(ctx, path, 'ENUM_REMOVED', 'no longer limited to fixed values');
    return;
  }
  const oKeys = new Set(ov.map((v) => canonicalJson(v)));
  const nKeys = new Set(nv.map((v) => canonicalJson(v)));
  const removed = ov.filter((v) => !nKeys.has(canonicalJson(v)));
  const added = nv.filter((v) => !oKeys.has(canonicalJson(v)));
  if (ov.length === 1 && nv.length === 1 && removed.length === 1) {
    swapped(
      ctx,
      path,
      'CONST_CHANGED',
      `literal changed from ${show(ov[0])} to ${show(nv[0])}`,
    );
    return;
  }
  if (removed.length > 0)
    narrowed(
      ctx,
      path,
      'ENUM_VALUE_REMOVED',
      `value${removed.length > 1 ? 's' : ''} ${removed.map(show).join(', ')} removed`,
    );
  if (added.length > 0)
    widened(
      ctx,
      path,
      'ENUM_VALUE_ADDED',
      `value${added.length > 1 ? 's' : ''} ${added.map(show).join(', ')} added`,
    );
}

/** A string's format: contract.json keeps it in `x-jobwire-format`. */
function formatOf(node: Json): string | undefined {
  const f = node['x-jobwire-format'] ?? node.format;
  return typeof f === 'string' ? f : undefined;
}

export function compareString(
  ctx: DiffContext,
  o: Json,
  n: Json,
  path: string,
): void {
  bounds(
    ctx,
    o,
    n,
    path,
    ['minLength', 'maxLength'],
    ['MIN_LENGTH', 'MAX_LENGTH'],
    'length',
  );
  const of = formatOf(o);
  const nf = formatOf(n);
  if (of !== nf) {
    // zod derives the pattern from the format, so only the format is reported.
    if (of === undefined)
      narrowed(ctx, path, 'FORMAT_ADDED', `format ${nf} added`);
    else if (nf === undefined)
      widened(ctx, path, 'FORMAT_REMOVED', `format ${of} removed`);
    else
      swapped(
        ctx,
        path,
        'FORMAT_CHANGED',
        `format changed from ${of} to ${nf}`,
      );
    return;
  }
  const op = typeof o.pattern === 'string' ? o.pattern : undefined;
  const np = typeof n.pattern === 'string' ? n.pattern : undefined;
  if (op === np) {
    if (op !== undefined) compareFlags(ctx, o, n, path, op);
    return;
  }
  if (op === undefined)
    narrowed(ctx, path, 'PATTERN_ADDED', `pattern /${np}/ added`);
  else if (np === undefined)
    widened(ctx, path, 'PATTERN_REMOVED', `pattern /${op}/ removed`);
  else
    undecidable(
      ctx,
      path,
      'PATTERN_CHANGED',
      of === undefined
        ? `pattern changed from /${op}/ to /${np}/`
        : `zod's built-in pattern for format ${of} changed`,
      of === undefined
        ? 'whether one regex accepts all strings of the other cannot be checked'
        : 'probably a zod upgrade; check the new regex accepts stored values',
    );
}

const flagsOf = (node: Json): string =>
  typeof node['x-jobwire-flags'] === 'string' ? node['x-jobwire-flags'] : '';

/**
 * The same regex with other flags. Adding `i` only widens what matches,
 * removing it only narrows; any other flag (m, s, u, v, g, y) changes what
 * the pattern means in ways the checker does not model.
 */
function compareFlags(
  ctx: DiffContext,
  o: Json,
  n: Json,
  path: string,
  pattern: string,
): void {
  const of = flagsOf(o);
  const nf = flagsOf(n);
  if (of === nf) return;
  if (ctx.oldUnrecorded.has('regexFlags')) {
    // The lock predates x-jobwire-flags: "no flags" there means "not
    // recorded", not a change.
    ctx.report({
      path,
      kind: 'REGEX_FLAGS_RECORDED',
      summary: `flags ${nf === '' ? 'none' : nf} of /${pattern}/ recorded from now on (the lock predates recorded regex flags)`,
      backward: 'safe',
      forward: 'safe',
    });
    return;
  }
  const set = (f: string) => new Set(f.replace(/d/g, '').split(''));
  const a = set(of);
  const b = set(nf);
  const added = [...b].filter((f) => !a.has(f));
  const removed = [...a].filter((f) => !b.has(f));
  if (added.length === 0 && removed.length === 0) return;
  const summary = `flags of /${pattern}/ changed from ${of === '' ? 'none' : of} to ${nf === '' ? 'none' : nf}`;
  const only = (list: string[]) => list.length === 1 && list[0] === 'i';
  if (only(added) && removed.length === 0)
    widened(ctx, path, 'REGEX_FLAGS_CHANGED', summary);
  else if (only(removed) && added.length === 0)
    narrowed(ctx, path, 'REGEX_FLAGS_CHANGED', summary);
  else
    undecidable(
      ctx,
      path,
      'REGEX_FLAGS_CHANGED',
      summary,
      'the checker does not model what these flags change',
    );
}

export function compareNumber(
  ctx: DiffContext,
  o: Json,
  n: Json,
  path: string,
): void {
  bounds(
    ctx,
    o,
    n,
    path,
    ['minimum', 'maximum'],
    ['MINIMUM', 'MAXIMUM'],
    'value',
    ['exclusiveMinimum', 'exclusiveMaximum'],
  );
  const om = num(o.multipleOf);
  const nm = num(n.multipleOf);
  if (om === nm) return;
  if (om === undefined)
    narrowed(ctx, path, 'MULTIPLE_OF_ADDED', `multipleOf ${nm} added`);
  else if (nm === undefined)
    widened(ctx, path, 'MULTIPLE_OF_REMOVED', `multipleOf ${om} removed`);
  else if (Number.isInteger(nm / om))
    narrowed(
      ctx,
      path,
      'MULTIPLE_OF_CHANGED',
      `multipleOf changed from ${om} to ${nm}`,
    );
  else if (Number.isInteger(om / nm))
    widened(
      ctx,
      path,
      'MULTIPLE_OF_CHANGED',
      `multipleOf changed from ${om} to ${nm}`,
    );
  else
    swapped(
      ctx,
      path,
      'MULTIPLE_OF_CHANGED',
      `multipleOf changed from ${om} to ${nm}`,
    );
}

/** The schema of elements past the tuple prefix, if any may exist. */
function rest(node: Json): unknown {
  if (isJson(node.items)) return node.items;
  return node.items === false
    ? undefined
    : Array.isArray(node.prefixItems)
      ? undefined
      : {};
}

/**
 * Arrays and tuples. Elements present on one side only are judged by the
 * minItems/maxItems bounds zod pins on tuples (row 32: appending an element
 * raises both, so it breaks both ways).
 */
export function compareArray(
  ctx: DiffContext,
  o: Json,
  n: Json,
  path: string,
): void {
  const op: unknown[] = Array.isArray(o.prefixItems) ? o.prefixItems : [];
  const np: unknown[] = Array.isArray(n.prefixItems) ? n.prefixItems : [];
  for (let i = 0; i < Math.max(op.length, np.length); i++) {
    const oi = i < op.length ? op[i] : rest(o);
    const ni = i < np.length ? np[i] : rest(n);
    if (oi !== undefined && ni !== undefined)
      ctx.compare(oi, ni, `${path}[${i}]`);
  }
  const or = rest(o);
  const nr = rest(n);
  if (or !== undefined && nr !== undefined) ctx.compare(or, nr, `${path}[]`);
  bounds(
    ctx,
    o,
    n,
    path,
    ['minItems', 'maxItems'],
    ['MIN_ITEMS', 'MAX_ITEMS'],
    'item count',
  );
  if (o.uniqueItems === true && n.uniqueItems !== true)
    widened(ctx, path, 'UNIQUE_ITEMS_REMOVED', 'items no longer unique');
  if (o.uniqueItems !== true && n.uniqueItems === true)
    narrowed(ctx, path, 'UNIQUE_ITEMS_ADDED', 'items must now be unique');
}
