import { defineJobs, job } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  breakingFor,
  diffContracts,
  diffParts,
  formatChange,
} from '../src/compat/index.ts';
import type { Change, JobDiff, Role, Verdict } from '../src/compat/index.ts';
import { overall } from '../src/compat/types.ts';
import { buildContract, buildPart } from '../src/contract.ts';
import type { CompatibilityMode } from '../src/contract-types.ts';

/** docs/compatibility.md's legend: ✓ safe, ✗ breaks, ~ warn, ? unknown. */
const SYMBOL = {
  '✓': 'safe',
  '✗': 'breaks',
  '~': 'warn',
  '?': 'unknown',
} as const;
type Symbol = keyof typeof SYMBOL;

interface Row {
  old: z.ZodType;
  new: z.ZodType;
  backward: Symbol;
  forward: Symbol;
}

function diff(
  old: z.ZodType,
  next: z.ZodType,
  role: Role = 'payload',
): Change[] {
  return diffParts(buildPart('t', role, old), buildPart('t', role, next), role);
}

const o = z.object;
const str = z.string();
const num = z.number();
const isEven = (n: number) => n % 2 === 0;

/** docs/compatibility.md §3, row by row (A1 assumed). */
const catalogue: [string, Row][] = [
  [
    '1 add x: T.optional()',
    {
      old: o({ a: str }),
      new: o({ a: str, x: num.optional() }),
      backward: '✓',
      forward: '✓',
    },
  ],
  [
    '2 add required x: T',
    {
      old: o({ a: str }),
      new: o({ a: str, x: num }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '3 add x: T.default(v)',
    {
      old: o({ a: str }),
      new: o({ a: str, x: num.default(1) }),
      backward: '✓',
      forward: '✓',
    },
  ],
  [
    '4 remove an optional field',
    {
      old: o({ a: str, x: num.optional() }),
      new: o({ a: str }),
      backward: '✓',
      forward: '✓',
    },
  ],
  [
    '5 remove a required field',
    {
      old: o({ a: str, x: num }),
      new: o({ a: str }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '6 rename a→b',
    { old: o({ a: str }), new: o({ b: str }), backward: '✗', forward: '✗' },
  ],
  [
    '7 rename a→b, b with .default()',
    {
      old: o({ a: str }),
      new: o({ b: str.default('x') }),
      backward: '~',
      forward: '✗',
    },
  ],
  [
    '8 required → .optional()',
    {
      old: o({ a: str }),
      new: o({ a: str.optional() }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '9 .optional() removed',
    {
      old: o({ a: str.optional() }),
      new: o({ a: str }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '10 .default(v) added to a required field',
    {
      old: o({ a: str }),
      new: o({ a: str.default('x') }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '11 .default(v) removed',
    {
      old: o({ a: str.default('x') }),
      new: o({ a: str }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '12 default value changed',
    {
      old: o({ a: str.default('x') }),
      new: o({ a: str.default('y') }),
      backward: '~',
      forward: '~',
    },
  ],
  [
    '13 .nullable() removed',
    {
      old: o({ a: str.nullable() }),
      new: o({ a: str }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '14 .nullable() added',
    {
      old: o({ a: str }),
      new: o({ a: str.nullable() }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '15 .optional() → .nullable()',
    {
      old: o({ a: str.optional() }),
      new: o({ a: str.nullable() }),
      backward: '✗',
      forward: '✗',
    },
  ],
  [
    '16 .optional() → .nullish()',
    {
      old: o({ a: str.optional() }),
      new: o({ a: str.nullish() }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '17 z.string() → .max(10)',
    {
      old: o({ a: str }),
      new: o({ a: str.max(10) }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '18 .max(10) → .max(20)',
    {
      old: o({ a: str.max(10) }),
      new: o({ a: str.max(20) }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '19 z.number() → .int()',
    {
      old: o({ n: num }),
      new: o({ n: num.int() }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '20a z.number() → .min(0)',
    {
      old: o({ n: num }),
      new: o({ n: num.min(0) }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '20b z.number() → .positive()',
    {
      old: o({ n: num }),
      new: o({ n: num.positive() }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '21 z.string() → .email()',
    {
      old: o({ e: str }),
      new: o({ e: str.email() }),
      backward: '✗',
      forward: '✓',
    },
  ],
  // Disagreement with the doc's ✓/✗: the doc itself says regex inclusion is
  // undecidable and to report ?, which is what the checker does both ways.
  [
    '22 .regex(A) → wider .regex(B)',
    {
      old: o({ s: str.regex(/^a+$/) }),
      new: o({ s: str.regex(/^[ab]+$/) }),
      backward: '?',
      forward: '?',
    },
  ],
  [
    '23 enum value removed',
    {
      old: o({ k: z.enum(['a', 'b']) }),
      new: o({ k: z.enum(['a']) }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '24 enum value added',
    {
      old: o({ k: z.enum(['a']) }),
      new: o({ k: z.enum(['a', 'b']) }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '25 z.literal(v1) → v2',
    {
      old: o({ v: z.literal('v1') }),
      new: o({ v: z.literal('v2') }),
      backward: '✗',
      forward: '✗',
    },
  ],
  [
    '26 union member removed',
    {
      old: o({ u: z.union([str, num, z.boolean()]) }),
      new: o({ u: z.union([str, num]) }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '27a union option added',
    {
      old: o({ u: z.union([str, num]) }),
      new: o({ u: z.union([str, num, z.boolean()]) }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '27b discriminated-union option added',
    {
      old: o({
        e: z.discriminatedUnion('t', [
          o({ t: z.literal('a'), x: num }),
          o({ t: z.literal('b') }),
        ]),
      }),
      new: o({
        e: z.discriminatedUnion('t', [
          o({ t: z.literal('a'), x: num }),
          o({ t: z.literal('b') }),
          o({ t: z.literal('c'), y: str }),
        ]),
      }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '28 discriminated-union option removed',
    {
      old: o({
        e: z.discriminatedUnion('t', [
          o({ t: z.literal('a'), x: num }),
          o({ t: z.literal('b') }),
        ]),
      }),
      new: o({
        e: z.discriminatedUnion('t', [o({ t: z.literal('a'), x: num })]),
      }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '29 nested addr.zip optional → required',
    {
      old: o({ addr: o({ zip: str.optional() }) }),
      new: o({ addr: o({ zip: str }) }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '30 array .min(1) → .min(2)',
    {
      old: o({ l: z.array(str).min(1) }),
      new: o({ l: z.array(str).min(2) }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '31 array items string → string|number',
    {
      old: o({ l: z.array(str) }),
      new: o({ l: z.array(z.union([str, num])) }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '32 tuple element appended',
    {
      old: o({ t: z.tuple([str, num]) }),
      new: o({ t: z.tuple([str, num, z.boolean()]) }),
      backward: '✗',
      forward: '✗',
    },
  ],
  [
    '33 z.unknown() → z.string()',
    {
      old: o({ v: z.unknown() }),
      new: o({ v: str }),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '34 z.object → z.strictObject',
    {
      old: o({ a: str }),
      new: z.strictObject({ a: str }),
      backward: '✓',
      forward: '✓',
    },
  ],
  [
    '35 add optional field while readers are strict',
    {
      old: z.strictObject({ a: str }),
      new: z.strictObject({ a: str, x: num.optional() }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '36 object {a,b} → record(string, number)',
    {
      old: o({ a: num, b: num }),
      new: z.record(str, num),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '37 record(string,T) → record(enum,T)',
    {
      old: z.record(str, num),
      new: z.record(z.enum(['a', 'b']), num),
      backward: '✗',
      forward: '✓',
    },
  ],
  [
    '38a .describe() changed',
    {
      old: o({ a: str.describe('one') }),
      new: o({ a: str.describe('two') }),
      backward: '✓',
      forward: '✓',
    },
  ],
  [
    '38b .meta() changed',
    {
      old: o({ a: str.meta({ title: 'A' }) }),
      new: o({ a: str.meta({ title: 'B', examples: ['x'] }) }),
      backward: '✓',
      forward: '✓',
    },
  ],
  [
    '39a transform added',
    {
      old: o({ a: str }),
      new: o({ a: str.transform((s) => s.length) }),
      backward: '~',
      forward: '~',
    },
  ],
  [
    '39b transform edited',
    {
      old: o({ a: str.transform((s) => s.length) }),
      new: o({ a: str.transform((s) => s.length * 2) }),
      backward: '~',
      forward: '~',
    },
  ],
  [
    '40 .refine() added',
    {
      old: o({ n: num }),
      new: o({ n: num.refine(isEven) }),
      backward: '?',
      forward: '✓',
    },
  ],
  [
    '41 .refine() removed',
    {
      old: o({ n: num.refine(isEven) }),
      new: o({ n: num }),
      backward: '✓',
      forward: '?',
    },
  ],
  [
    '42 .refine() body edited',
    {
      old: o({ n: num.refine((n) => n > 0) }),
      new: o({ n: num.refine((n) => n > 1) }),
      backward: '?',
      forward: '?',
    },
  ],
  [
    '43 .catch(v) added',
    {
      old: o({ n: num }),
      new: o({ n: num.catch(0) }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '44a z.number() → z.coerce.number()',
    {
      old: o({ n: num }),
      new: o({ n: z.coerce.number() }),
      backward: '✓',
      forward: '✗',
    },
  ],
  [
    '44b z.number() → z.preprocess(...)',
    {
      old: o({ n: num }),
      new: o({ n: z.preprocess((v) => Number(v), num) }),
      backward: '✓',
      forward: '✗',
    },
  ],
];

describe('docs/compatibility.md §3 catalogue', () => {
  it.each(catalogue)('%s', (_title, row) => {
    const verdicts = overall(diff(row.old, row.new));
    expect(verdicts).toEqual({
      backward: SYMBOL[row.backward],
      forward: SYMBOL[row.forward],
    });
  });

  it('45 a field becoming z.date() / z.bigint() has no contract at all', () => {
    expect(() => buildPart('t', 'payload', o({ at: z.date() }))).toThrow(
      /payload\.at: z\.date\(\)/,
    );
    expect(() => buildPart('t', 'payload', o({ n: z.bigint() }))).toThrow(
      /payload\.n: z\.bigint\(\)/,
    );
  });
});

describe('change kinds and paths', () => {
  const kinds = (old: z.ZodType, next: z.ZodType) =>
    diff(old, next).map((c) => `${c.path}:${c.kind}`);

  it('names the path and a Confluent-style kind', () => {
    expect(kinds(o({ a: str.optional() }), o({ a: str }))).toEqual([
      'a:BECAME_REQUIRED',
    ]);
    expect(kinds(o({ a: str }), o({ b: str }))).toEqual([
      'a:PROPERTY_REMOVED',
      'b:LIKELY_RENAME',
      'b:REQUIRED_PROPERTY_ADDED',
    ]);
    expect(
      kinds(
        o({ l: z.array(o({ sku: str.optional() })) }),
        o({ l: z.array(o({ sku: str })) }),
      ),
    ).toEqual(['l[].sku:BECAME_REQUIRED']);
    expect(kinds(o({ s: str.max(20) }), o({ s: str.max(10) }))).toEqual([
      's:MAX_LENGTH_DECREASED',
    ]);
    expect(kinds(o({ n: num }), o({ n: num.min(0) }))).toEqual([
      'n:MINIMUM_ADDED',
    ]);
    expect(kinds(o({ s: str }), o({ s: str.regex(/x/) }))).toEqual([
      's:PATTERN_ADDED',
    ]);
    expect(kinds(o({ s: str }), o({ s: num }))).toEqual(['s:TYPE_CHANGED']);
    expect(kinds(o({ n: num.refine(isEven) }), o({ n: num }))).toEqual([
      'n:CUSTOM_CHECK_REMOVED',
    ]);
  });

  it('reports nothing for an identical schema', () => {
    const make = () =>
      o({
        a: str.max(3),
        l: z.array(z.union([str, num])).optional(),
        r: z.record(str, num),
      });
    expect(diff(make(), make())).toEqual([]);
  });

  it('compares recursive schemas without looping', () => {
    type Tree = { name: string; children: Tree[] };
    const tree = (max: number): z.ZodType<Tree> => {
      const t: z.ZodType<Tree> = z.lazy(() =>
        o({ name: str.max(max), children: z.array(t) }),
      );
      return t;
    };
    expect(diff(o({ root: tree(10) }), o({ root: tree(10) }))).toEqual([]);
    expect(overall(diff(o({ root: tree(10) }), o({ root: tree(5) })))).toEqual({
      backward: 'breaks',
      forward: 'safe',
    });
  });

  it('treats open (loose) writers as possibly holding any key', () => {
    const old = z.looseObject({ a: str });
    expect(
      overall(diff(old, z.looseObject({ a: str, b: num.optional() }))),
    ).toEqual({ backward: 'breaks', forward: 'safe' });
  });

  it('softens what a .catch() reader absorbs to a warning', () => {
    expect(
      overall(diff(o({ s: str.catch('') }), o({ s: str.max(3).catch('') }))),
    ).toEqual({ backward: 'warn', forward: 'safe' });
  });
});

describe('role swap: result and progress', () => {
  it('judges a result by the same W/R formulas, with workers as writers', () => {
    const changes = diff(o({ id: str }), o({ id: str, total: num }), 'result');
    expect(overall(changes)).toEqual({ backward: 'breaks', forward: 'safe' });
    expect(changes[0]!.reason).toContain('results old workers already stored');
    expect(
      diff(o({ id: str }), o({ id: str.optional() }), 'result')[0]!.reason,
    ).toContain('awaiters still on the old schema');
    expect(
      diff(o({ id: str }), o({ id: str.optional() }), 'payload')[0]!.reason,
    ).toContain('workers still on the old schema');
  });

  it('handles results and progress schemas that appear or disappear', () => {
    const contract = (withResult: boolean, progress?: z.ZodType) =>
      buildContract(
        defineJobs({
          t: job({
            payload: o({ a: str }),
            ...(withResult ? { result: o({ ok: z.boolean() }) } : {}),
            progress,
          }),
        }),
      );
    const [added] = diffContracts(contract(false), contract(true));
    expect(added!.changes.map((c) => [c.kind, c.backward, c.forward])).toEqual([
      ['RESULT_ADDED', 'breaks', 'safe'],
    ]);
    const [removed] = diffContracts(contract(true), contract(false));
    expect(
      removed!.changes.map((c) => [c.kind, c.backward, c.forward]),
    ).toEqual([['RESULT_REMOVED', 'safe', 'breaks']]);
    // No progress schema means core's default 0..100 percentage.
    expect(
      diffContracts(contract(false), contract(false, num.min(0).max(100))),
    ).toEqual([]);
    const [progress] = diffContracts(
      contract(false),
      contract(false, o({ step: str })),
    );
    expect(progress!.changes.map((c) => `${c.part}:${c.kind}`)).toEqual([
      'progress:TYPE_CHANGED',
    ]);
  });
});

const jobDiff = (old: z.ZodType, next: z.ZodType): JobDiff => ({
  job: 't',
  kind: 'changed',
  versionBumped: false,
  changes: diff(old, next),
});

describe('breakingFor', () => {
  const breaking: [string, z.ZodType, z.ZodType][] = [
    ['required field added', o({ a: str }), o({ a: str, b: num })],
    ['required field removed', o({ a: str, b: num }), o({ a: str })],
    ['field renamed', o({ a: str }), o({ b: str })],
    ['field became required', o({ a: str.optional() }), o({ a: str })],
    ['field became optional', o({ a: str }), o({ a: str.optional() })],
    ['nullable removed', o({ a: str.nullable() }), o({ a: str })],
    ['nullable added', o({ a: str }), o({ a: str.nullable() })],
    ['type changed', o({ a: str }), o({ a: num })],
    ['number became integer', o({ a: num }), o({ a: z.int() })],
    [
      'enum value removed',
      o({ k: z.enum(['a', 'b']) }),
      o({ k: z.enum(['a']) }),
    ],
    ['enum value added', o({ k: z.enum(['a']) }), o({ k: z.enum(['a', 'b']) })],
    ['max length lowered', o({ s: str.max(20) }), o({ s: str.max(10) })],
    ['minimum added', o({ n: num }), o({ n: num.gte(1) })],
    ['pattern added', o({ s: str }), o({ s: str.regex(/^x/) })],
    ['pattern changed', o({ s: str.regex(/^x/) }), o({ s: str.regex(/^y/) })],
    ['format changed', o({ s: z.email() }), o({ s: z.url() })],
    ['literal changed', o({ v: z.literal(1) }), o({ v: z.literal(2) })],
    ['union member removed', o({ u: z.union([str, num]) }), o({ u: str })],
    [
      'tuple element appended',
      o({ t: z.tuple([str]) }),
      o({ t: z.tuple([str, num]) }),
    ],
    [
      'optional field added to a strict object',
      z.strictObject({ a: str }),
      z.strictObject({ a: str, b: num.optional() }),
    ],
    [
      'field dropped while becoming strict',
      o({ a: str, b: num.optional() }),
      z.strictObject({ a: str }),
    ],
    [
      'key added to a loose object',
      z.looseObject({ a: str }),
      z.looseObject({ a: str, b: num.optional() }),
    ],
    [
      'nested array field became required',
      o({ l: z.array(o({ s: str.optional() })) }),
      o({ l: z.array(o({ s: str })) }),
    ],
    [
      'record keys limited to an enum',
      z.record(str, num),
      z.record(z.enum(['a']), num),
    ],
    ['refine added', o({ n: num }), o({ n: num.refine(isEven) })],
    [
      'refine edited',
      o({ n: num.refine((n) => n > 0) }),
      o({ n: num.refine((n) => n > 1) }),
    ],
    [
      'object-level refine added',
      o({ a: num, b: num }),
      o({ a: num, b: num }).refine((v) => v.a < v.b),
    ],
    ['coerce added', o({ n: num }), o({ n: z.coerce.number() })],
    ['catch removed', o({ n: num.catch(0) }), o({ n: num })],
    [
      'preprocess function edited',
      o({ n: z.preprocess((v) => Number(v), num) }),
      o({ n: z.preprocess((v) => Number(v) * 2, num) }),
    ],
  ];
  it.each(breaking)('flags %s under full', (_t, old, next) => {
    expect(breakingFor(jobDiff(old, next), 'full').length).toBeGreaterThan(0);
  });

  const compatible: [string, CompatibilityMode, z.ZodType, z.ZodType][] = [
    [
      'optional field added',
      'full',
      o({ a: str }),
      o({ a: str, b: num.optional() }),
    ],
    [
      'defaulted field added',
      'full',
      o({ a: str }),
      o({ a: str, b: num.default(0) }),
    ],
    [
      'optional field added with a refine and a transform',
      'full',
      o({ a: str }),
      o({ a: str, b: num.refine(isEven).transform(String).optional() }),
    ],
    [
      'optional coerced field added',
      'full',
      o({ a: str }),
      o({ a: str, b: z.coerce.number().optional() }),
    ],
    [
      'refined optional field removed',
      'full',
      o({ a: str, b: num.refine(isEven).optional() }),
      o({ a: str }),
    ],
    [
      'optional field removed',
      'full',
      o({ a: str, b: num.optional() }),
      o({ a: str }),
    ],
    [
      '.describe() changed',
      'full',
      o({ a: str.describe('x') }),
      o({ a: str.describe('y') }),
    ],
    ['object made strict', 'full', o({ a: str }), z.strictObject({ a: str })],
    [
      'strict object relaxed',
      'full',
      z.strictObject({ a: str }),
      o({ a: str }),
    ],
    [
      'transform edited (warns only)',
      'full',
      o({ a: str.transform((s) => s) }),
      o({ a: str.transform((s) => s.trim()) }),
    ],
    [
      'default changed (warns only)',
      'full',
      o({ a: str.default('x') }),
      o({ a: str.default('y') }),
    ],
    [
      'enum value added',
      'backward',
      o({ k: z.enum(['a']) }),
      o({ k: z.enum(['a', 'b']) }),
    ],
    [
      'max length raised',
      'backward',
      o({ s: str.max(10) }),
      o({ s: str.max(20) }),
    ],
    ['nullable added', 'backward', o({ a: str }), o({ a: str.nullable() })],
    [
      'optional → nullish',
      'backward',
      o({ a: str.optional() }),
      o({ a: str.nullish() }),
    ],
    [
      'union option added',
      'backward',
      o({ u: z.union([str, num]) }),
      o({ u: z.union([str, num, z.boolean()]) }),
    ],
    [
      'required field removed',
      'backward',
      o({ a: str, b: num }),
      o({ a: str }),
    ],
    ['coerce added', 'backward', o({ n: num }), o({ n: z.coerce.number() })],
    ['catch added', 'backward', o({ n: num }), o({ n: num.catch(0) })],
    ['refine removed', 'backward', o({ n: num.refine(isEven) }), o({ n: num })],
    ['required field added', 'forward', o({ a: str }), o({ a: str, b: num })],
    ['max length added', 'forward', o({ s: str }), o({ s: str.max(3) })],
    ['refine added', 'forward', o({ n: num }), o({ n: num.refine(isEven) })],
    [
      'enum value removed',
      'forward',
      o({ k: z.enum(['a', 'b']) }),
      o({ k: z.enum(['a']) }),
    ],
    ['type changed under none', 'none', o({ a: str }), o({ a: num })],
  ];
  it.each(compatible)('does not flag %s under %s', (_t, mode, old, next) => {
    expect(breakingFor(jobDiff(old, next), mode)).toEqual([]);
  });

  it('returns the diff’s own Change objects (generate.ts matches by identity)', () => {
    const d = jobDiff(o({ a: str }), o({ a: num }));
    expect(breakingFor(d, 'full')[0]).toBe(d.changes[0]);
  });

  it('does not excuse a break for a version bump alone (issue 14: needs an upcaster)', () => {
    const make = (version: number, payload: z.ZodType) =>
      buildContract(defineJobs({ t: job({ payload, version }) }));
    const [d] = diffContracts(make(1, o({ a: str })), make(2, o({ a: num })));
    expect(d!.versionBumped).toBe(true);
    expect(d!.changes.map((c) => c.kind).sort()).toEqual([
      'TYPE_CHANGED',
      'UPCASTER_MISSING',
    ]);
    expect(breakingFor(d!, 'full').map((c) => c.kind)).toEqual([
      'TYPE_CHANGED',
    ]);
  });
});

describe('diffContracts', () => {
  it('lists added, removed and changed job types, sorted, and skips unchanged ones', () => {
    const lock = buildContract(
      defineJobs({
        a: job({ payload: o({ x: str }) }),
        b: job({ payload: o({ y: str }) }),
        same: job({ payload: o({}) }),
      }),
    );
    const next = buildContract(
      defineJobs({
        b: job({ payload: o({ y: num }) }),
        c: job({ payload: o({}) }),
        same: job({ payload: o({}) }),
      }),
    );
    const diffs = diffContracts(lock, next);
    expect(diffs.map((d) => [d.job, d.kind])).toEqual([
      ['a', 'removed'],
      ['b', 'changed'],
      ['c', 'added'],
    ]);
    const verdicts: Verdict[] = diffs.flatMap((d) =>
      breakingFor(d, 'full').map((c) => c.backward),
    );
    expect(verdicts).toEqual(['breaks']);
  });
});

describe('formatChange', () => {
  it('prints one line with path, kind, verdict and reason', () => {
    const [change] = diff(o({ subject: str.optional() }), o({ subject: str }));
    expect(formatChange('sendEmail', change!)).toBe(
      'sendEmail payload.subject: became required (BECAME_REQUIRED): breaks backward — jobs already in Redis may lack it',
    );
    expect(change!.message).toBe(
      'payload.subject became required: jobs already in Redis may lack it',
    );
    const [refine] = diff(o({ n: num }), o({ n: num.refine(isEven) }));
    expect(formatChange('t', refine!)).toMatch(
      /^t payload\.n: custom check \(refine\/check\) added \(CUSTOM_CHECK_ADDED\): cannot verify backward — /,
    );
  });
});
