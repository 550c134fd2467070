import { canonicalJson } from '@jobwire/core';
import type { CustomCheck, JsonSchema, Recordable } from '../contract-types.ts';
import {
  branches,
  constraintKeys,
  describe,
  describeOne,
  ENUM_KEYS,
  kindOf,
  numeric,
  pairUp,
  resolve,
} from './branches.ts';
import type { Kind } from './branches.ts';
import { compareObject, OBJECT_KEYS } from './objects.ts';
import { narrowed, swapped, undecidable, widened } from './report.ts';
import {
  ARRAY_KEYS,
  compareArray,
  compareEnum,
  compareNumber,
  compareString,
  NUMBER_KEYS,
  STRING_KEYS,
} from './scalars.ts';
import { isJson, overall } from './types.ts';
import type {
  DiffContext,
  FieldInfo,
  Finding,
  Json,
  Verdict,
  Voice,
} from './types.ts';

/** Keywords each kind's rules look at; other differences are 'unknown'. */
const HANDLED: Partial<Record<Kind, string[]>> = {
  string: STRING_KEYS,
  number: NUMBER_KEYS,
  integer: NUMBER_KEYS,
  array: ARRAY_KEYS,
  object: OBJECT_KEYS,
  boolean: [],
  null: [],
};

/** Compares two part schemas, reporting findings through `sink`. */
export class SchemaDiffer implements DiffContext {
  /** Pairs of recursive references already compared (co-inductive stop). */
  private readonly seen: Set<string>;
  /** Readable names of union options by their path (`u|1`), for messages. */
  readonly options: Map<string, string>;

  constructor(
    readonly voice: Voice,
    readonly oldRoot: JsonSchema,
    readonly newRoot: JsonSchema,
    readonly oldCustom: CustomCheck[],
    readonly newCustom: CustomCheck[],
    private readonly sink: (f: Finding) => void,
    seen?: Set<string>,
    options?: Map<string, string>,
    readonly oldUnrecorded: ReadonlySet<Recordable> = new Set(),
  ) {
    this.seen = seen ?? new Set();
    this.options = options ?? new Map();
  }

  report(finding: Finding): void {
    this.sink(finding);
  }

  verdicts(
    oldNode: unknown,
    newNode: unknown,
    path: string,
  ): { backward: Verdict; forward: Verdict } {
    const found: Finding[] = [];
    const sub = new SchemaDiffer(
      this.voice,
      this.oldRoot,
      this.newRoot,
      this.oldCustom,
      this.newCustom,
      (f) => found.push(f),
      new Set(this.seen),
      this.options,
      this.oldUnrecorded,
    );
    sub.compare(oldNode, newNode, path);
    return overall(found);
  }

  private hasCatch(path: string): boolean {
    return [...this.oldCustom, ...this.newCustom].some(
      (c) => c.kind === 'catch' && c.path === path,
    );
  }

  compare(
    oldNode: unknown,
    newNode: unknown,
    path: string,
    field?: FieldInfo,
  ): void {
    const oRef =
      isJson(oldNode) && typeof oldNode.$ref === 'string'
        ? oldNode.$ref
        : undefined;
    const nRef =
      isJson(newNode) && typeof newNode.$ref === 'string'
        ? newNode.$ref
        : undefined;
    if (oRef !== undefined || nRef !== undefined) {
      const key = `${oRef ?? canonicalJson(oldNode)}|${nRef ?? canonicalJson(newNode)}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
    }
    const o = resolve(this.oldRoot, oldNode);
    const n = resolve(this.newRoot, newNode);
    this.defaults(o, n, path, field);
    this.union(branches(this.oldRoot, o), branches(this.newRoot, n), path);
  }

  /**
   * Defaults apply when a value is read, so a different default changes
   * what queued data means (rows 12, 7). Adding or removing one on a field
   * that was and stays optional changes the meaning of an absent key;
   * otherwise BECAME_OPTIONAL/REQUIRED already says it, and at .catch()
   * paths the lenient-writer rules do.
   */
  private defaults(o: Json, n: Json, path: string, field?: FieldInfo): void {
    const od = 'default' in o;
    const nd = 'default' in n;
    const why = {
      backward: `${this.voice.stored} without the field now read differently`,
      forward: `${this.voice.oldReaders} read an absent field differently`,
    };
    if (od && nd) {
      if (canonicalJson(o.default) !== canonicalJson(n.default))
        this.report({
          path,
          kind: 'DEFAULT_CHANGED',
          summary: `default changed from ${JSON.stringify(o.default)} to ${JSON.stringify(n.default)}`,
          backward: 'warn',
          forward: 'warn',
          why,
        });
      return;
    }
    if (
      od === nd ||
      !field?.oldOptional ||
      !field.newOptional ||
      this.hasCatch(path)
    )
      return;
    this.report({
      path,
      kind: nd ? 'DEFAULT_ADDED' : 'DEFAULT_REMOVED',
      summary: nd
        ? `default ${JSON.stringify(n.default)} added`
        : `default ${JSON.stringify(o.default)} removed`,
      backward: 'warn',
      forward: 'warn',
      why,
    });
  }

  private union(o: Json[], n: Json[], path: string): void {
    const isNull = (b: Json) => kindOf(b) === 'null';
    const oN = o.filter((b) => !isNull(b));
    const nN = n.filter((b) => !isNull(b));
    if (o.some(isNull) && !n.some(isNull))
      narrowed(this, path, 'NULLABLE_REMOVED', 'no longer accepts null');
    if (!o.some(isNull) && n.some(isNull))
      widened(this, path, 'NULLABLE_ADDED', 'now accepts null');
    const oAny = oN.some((b) => kindOf(b) === 'any');
    const nAny = nN.some((b) => kindOf(b) === 'any');
    if (oAny || nAny) {
      if (oAny && !nAny)
        narrowed(
          this,
          path,
          'TYPE_NARROWED',
          `now accepts only ${describe(nN)}`,
        );
      if (!oAny && nAny)
        widened(this, path, 'TYPE_WIDENED', 'now accepts any value');
      return;
    }
    if (oN.length === 1 && nN.length === 1) {
      this.branch(oN[0]!, nN[0]!, path);
      return;
    }
    const at = (list: Json[], b: Json) => {
      if (list.length <= 1) return path;
      const i = list.indexOf(b);
      const p = `${path}|${i}`;
      if (!this.options.has(p))
        this.options.set(
          p,
          `option ${i + 1} of ${list.length}: ${describeOne(b)}`,
        );
      return p;
    };
    const kinds = [
      ...new Set([...oN, ...nN].map((b) => numeric(kindOf(b)))),
    ].sort();
    for (const k of kinds) {
      const os = oN.filter((b) => numeric(kindOf(b)) === k);
      const ns = nN.filter((b) => numeric(kindOf(b)) === k);
      const { pairs, left, right } = pairUp(os, ns);
      for (const [a, b] of pairs) this.branch(a, b, at(nN, b));
      const member = k === 'object' || k === 'array' || k === 'other';
      for (const a of left)
        narrowed(
          this,
          at(oN, a),
          member ? 'UNION_MEMBER_REMOVED' : 'TYPE_NARROWED',
          member
            ? `union option ${describeOne(a)} removed`
            : `no longer accepts ${k}`,
        );
      for (const b of right)
        widened(
          this,
          at(nN, b),
          member ? 'UNION_MEMBER_ADDED' : 'TYPE_WIDENED',
          member
            ? `union option ${describeOne(b)} added`
            : `now also accepts ${k}`,
        );
    }
  }

  /** Two alternatives of the same or different kinds. */
  private branch(o: Json, n: Json, path: string): void {
    const ko = kindOf(o);
    const kn = kindOf(n);
    if (ko === 'never' || kn === 'never') {
      if (ko !== kn)
        (ko === 'never' ? widened : narrowed)(
          this,
          path,
          ko === 'never' ? 'TYPE_WIDENED' : 'TYPE_NARROWED',
          ko === 'never'
            ? `now accepts ${kn}`
            : 'now accepts nothing (z.never())',
        );
      return;
    }
    if (ko === 'number' && kn === 'integer')
      narrowed(this, path, 'TYPE_NARROWED', 'number became integer');
    else if (ko === 'integer' && kn === 'number')
      widened(this, path, 'TYPE_WIDENED', 'integer became number');
    else if (ko !== kn) {
      swapped(this, path, 'TYPE_CHANGED', `type changed from ${ko} to ${kn}`);
      return;
    }
    const handled = HANDLED[ko];
    if (handled === undefined) {
      if (canonicalJson(o) !== canonicalJson(n))
        undecidable(
          this,
          path,
          'SCHEMA_CHANGED',
          'schema changed in a way the checker does not model',
          'compare the JSON Schemas by hand',
        );
      return;
    }
    compareEnum(this, o, n, path);
    if (ko === 'string') compareString(this, o, n, path);
    else if (ko === 'number' || ko === 'integer')
      compareNumber(this, o, n, path);
    else if (ko === 'array') compareArray(this, o, n, path);
    else if (ko === 'object') compareObject(this, o, n, path);
    const known = new Set([...ENUM_KEYS, ...handled]);
    const other = [
      ...new Set([...constraintKeys(o), ...constraintKeys(n)]),
    ].filter((k) => !known.has(k));
    for (const key of other.sort())
      if (canonicalJson(o[key] ?? null) !== canonicalJson(n[key] ?? null))
        undecidable(
          this,
          path,
          'KEYWORD_CHANGED',
          `JSON Schema keyword "${key}" changed`,
          'the checker does not model this keyword',
        );
  }
}
