/**
 * contract.json against the runtime: for generated valid and invalid
 * payloads, Ajv (2020-12, ajv-formats) and Python's jsonschema
 * (Draft202012Validator, FormatChecker on) must give jobwire's verdict
 * (zod safeParse of the payload schema, as a worker does), every time.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineJobs, job } from '@jobwire/core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobs as repoJobs } from '../../../jobs.schema.ts';
import { buildContract } from '../src/contract.ts';

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as { default?: unknown }).default ??
  addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/**
 * Every zod feature codegen supports with a check JSON Schema expresses,
 * a few per job so that a fair share of generated payloads is valid.
 */
const fixture = defineJobs({
  strings: job({
    payload: z.object({
      s: z.string().min(2).max(8),
      re: z.string().regex(/^[a-z]+-\d{2}$/),
      email: z.email(),
      starts: z.string().startsWith('ab'),
      ends: z.string().endsWith('yz'),
      lower: z.string().lowercase(),
    }),
  }),
  formats: job({
    payload: z.object({
      uuid: z.uuid(),
      guid: z.guid(),
      dt: z.iso.datetime(),
      date: z.iso.date(),
      time: z.iso.time(),
      ipv4: z.ipv4(),
      phone: z.e164(),
      http: z
        .string()
        .regex(/^https:\/\/[a-z]+\.example\.com\/[a-z]*$/)
        .pipe(z.httpUrl()),
    }),
  }),
  numbers: job({
    payload: z.object({
      int: z.number().int().min(-5).max(5),
      safeInt: z.int(),
      num: z.number().gt(0).lt(1),
      mult: z.number().int().multipleOf(3),
      plain: z.number(),
    }),
  }),
  choices: job({
    payload: z.object({
      kind: z.enum(['a', 'b']),
      lit: z.literal('on'),
      union: z.union([z.string().max(3), z.number().int()]),
      contact: z.discriminatedUnion('type', [
        z.object({ type: z.literal('phone'), number: z.e164() }),
        z.object({ type: z.literal('email'), address: z.email() }),
      ]),
    }),
  }),
  collections: job({
    payload: z.object({
      list: z.array(z.string()).min(1).max(3),
      pair: z.tuple([z.string(), z.number()]),
      map: z.record(z.string(), z.number().int()),
    }),
  }),
  objects: job({
    payload: z.object({
      nullable: z.string().nullable(),
      optional: z.number().optional(),
      withDefault: z.string().max(4).default('x'),
      nested: z.object({ a: z.object({ b: z.boolean() }) }),
      strict: z.strictObject({ k: z.string() }),
      loose: z.looseObject({ k: z.string() }),
    }),
  }),
});

type Def = Record<string, unknown> & { type: string };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/** Strings that sit on the edge of some check, valid or not. */
const TRICKY = [
  '',
  'a',
  'ab',
  'abyz',
  'a@b.co',
  'a@b.co\n',
  'user.name+tag@example.org',
  'bad@@example.com',
  'abc-12',
  'abc-12\n',
  'abc-٣٣',
  '٣',
  'ABC',
  'abc',
  '550e8400-e29b-41d4-a716-446655440000',
  '550e8400-e29b-41d4-a716-446655440000\n',
  '550e8400-e29b-01d4-a716-446655440000',
  '2024-02-29T12:00:00Z',
  '2023-02-29T12:00:00Z',
  '2024-01-01T00:00:00.123Z',
  '2024-01-01T00:00:00Z\n',
  '2024-01-01',
  '2024-13-01',
  '12:30',
  '12:30:59.5',
  '25:00',
  '192.168.0.1',
  '256.0.0.1',
  '192.168.0.1\n',
  '+14155552671',
  '+0123',
  'https://api.example.com/hook',
  'https://api.example.com/hook\n',
  'https://',
  'https://example.com:99999/',
  'http://256.0.0.1/',
  'https://example.com/a b',
  'https://example.com',
  'http://example.com/x?y=1#z',
  'https://ab.example.co.uk:8443/p/q?r=%20',
  'https://xn--a.com',
  'HTTPS://EXAMPLE.COM/',
  'https://user@example.com/',
  'data:text/html,<b>hi</b>',
  'on',
  'off',
  'phone',
  'email',
  'a',
  'b',
  'abc',
  'ab12',
  'xyz',
  '2024-01-01T00:00:00+01:00',
  'https://hooks.example.com/abc',
];

const NUMBERS = [
  0,
  1,
  -1,
  0.5,
  -0.5,
  3,
  9,
  -6,
  5,
  6,
  1e-9,
  0.999,
  2 ** 53,
  2 ** 53 - 1,
  -(2 ** 53),
  1e21,
  1.5e300,
];

/** A value for a zod schema: often valid, often just off. */
function arb(schema: unknown, depth = 0): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  const wrong = fc.constantFrom<unknown>(null, 1, 'x', true, [], {});
  const mix = (...a: fc.Arbitrary<unknown>[]) =>
    fc.oneof({ weight: 20, arbitrary: fc.oneof(...a) }, wrong);
  // Candidates this very schema accepts, so valid values are common.
  const accepted = (pool: unknown[]) =>
    pool.filter((v) => (schema as z.ZodType).safeParse(v).success);
  const valid = (pool: unknown[]) => {
    const ok = accepted(pool);
    return ok.length > 0 ? Array(6).fill(fc.constantFrom(...ok)) : [];
  };
  switch (def.type) {
    case 'string':
      return mix(
        ...valid(TRICKY),
        fc.constantFrom(...TRICKY),
        fc.string({ maxLength: 10 }),
        fc
          .constantFrom(...TRICKY)
          .chain((t) =>
            fc.constantFrom(t, `${t}x`, `x${t}`, t.toUpperCase(), `${t} `),
          ),
      );
    case 'number': {
      const numbers = mix(
        ...valid(NUMBERS),
        fc.constantFrom(...NUMBERS),
        fc.integer({ min: -12, max: 12 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
      );
      // zod's multipleOf tolerance grows with |value / step| (marked
      // x-jobwire-unenforced in the contract): compare below 2^40.
      const multiple = (
        def.checks as { _zod: { def: { check: string } } }[] | undefined
      )?.some((c) => c._zod.def.check === 'multiple_of');
      return multiple
        ? numbers.filter((v) => typeof v !== 'number' || Math.abs(v) < 2 ** 40)
        : numbers;
    }
    case 'boolean':
      return mix(fc.boolean());
    case 'enum':
      return mix(
        fc.constantFrom(...Object.values(def.entries as object)),
        fc.constantFrom(...TRICKY),
      );
    case 'literal':
      return mix(
        fc.constantFrom(...(def.values as unknown[])),
        fc.constantFrom(...TRICKY),
      );
    case 'nullable':
      return fc.oneof(fc.constant(null), arb(def.innerType, depth));
    case 'optional':
    case 'default':
      return arb(def.innerType, depth);
    case 'pipe':
      return arb(def.in, depth);
    case 'array':
      return mix(fc.array(arb(def.element, depth + 1), { maxLength: 4 }));
    case 'tuple':
      return mix(
        fc.tuple(...(def.items as unknown[]).map((i) => arb(i, depth + 1))),
        fc.array(fc.constantFrom<unknown>('a', 1), { maxLength: 3 }),
      );
    case 'record':
      return mix(
        fc.dictionary(
          fc.constantFrom('a', 'b', 'c'),
          arb(def.valueType, depth + 1),
          {
            maxKeys: 3,
          },
        ),
      );
    case 'union':
      return fc.oneof(...(def.options as unknown[]).map((o) => arb(o, depth)));
    case 'object':
      return mix(objectArb(def, depth));
    case 'unknown':
    case 'any':
      return fc.jsonValue({ maxDepth: 2 });
    default:
      throw new Error(`no generator for zod type ${def.type}`);
  }
}

/** Each key may be missing, and an extra key may appear. */
function objectArb(def: Def, depth: number): fc.Arbitrary<unknown> {
  const shape = def.shape as Record<string, unknown>;
  const fields = Object.fromEntries(
    Object.entries(shape).map(([k, v]) => [
      k,
      fc.option(arb(v, depth + 1), { freq: 30, nil: undefined }),
    ]),
  );
  return fc
    .tuple(
      fc.record(fields),
      fc.option(fc.constantFrom('extra', 'k'), { freq: 4, nil: undefined }),
    )
    .map(([value, extra]) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value))
        if (v !== undefined) out[k] = v;
      if (extra !== undefined && !(extra in out)) out[extra] = 'stray';
      return out;
    });
}

interface Case {
  job: string;
  payload: unknown;
  zod: boolean;
}

/**
 * Payloads for every job of a registry, each round-tripped through JSON
 * (that is what the runtime stores and what other languages send).
 */
function casesFor(
  registry: { jobs: Record<string, { payload: z.ZodType }> },
  perJob: number,
  seed: number,
): Case[] {
  const out: Case[] = [];
  for (const [name, def] of Object.entries(registry.jobs)) {
    for (const raw of fc.sample(arb(def.payload), { numRuns: perJob, seed })) {
      const payload = JSON.parse(JSON.stringify(raw)) as unknown;
      out.push({
        job: name,
        payload,
        zod: def.payload.safeParse(payload).success,
      });
    }
  }
  return out;
}

const contracts = {
  repo: buildContract(repoJobs),
  fixture: buildContract(fixture),
};
const cases = {
  repo: casesFor(repoJobs, 400, 13),
  fixture: casesFor(fixture, 1500, 42),
};

/** The python3 that can import jsonschema (Debian's, or the one on PATH). */
function findPython(): string | undefined {
  for (const bin of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(bin, ['-c', 'import jsonschema'], { stdio: 'ignore' });
    if (r.status === 0) return bin;
  }
  return undefined;
}

const PYTHON_CHECK = `
import json, sys
from jsonschema import Draft202012Validator, FormatChecker
data = json.load(open(sys.argv[1]))
validators = {name: Draft202012Validator(schema, format_checker=FormatChecker())
              for name, schema in data["schemas"].items()}
print(json.dumps([validators[c["job"]].is_valid(c["payload"]) for c in data["cases"]]))
`;

const work = mkdtempSync(join(tmpdir(), 'jobwire-agreement-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const python = findPython();
if (python === undefined)
  console.warn(
    '\n!!! agreement.test.ts: python3-jsonschema is NOT installed: the Python half of the contract agreement test is SKIPPED. Install it: apt-get install -y python3-jsonschema\n',
  );

describe.each(['repo', 'fixture'] as const)(
  'contract.json of the %s schema agrees with the runtime',
  (which) => {
    const contract = contracts[which];
    const list = cases[which];
    const schemaOf = (name: string) => contract.jobs[name]!.payload.schema;

    it('generates at least 1,000 payloads, valid and invalid', () => {
      expect(list.length).toBeGreaterThanOrEqual(1000);
      const valid = list.filter((c) => c.zod).length;
      // Both verdicts are common, so agreement is not agreement on "no".
      expect(valid).toBeGreaterThan(list.length * 0.05);
      expect(list.length - valid).toBeGreaterThan(list.length * 0.05);
    });

    it('Ajv 2020-12 with ajv-formats gives every verdict zod gives', () => {
      const ajv = new Ajv2020({ strict: true, allErrors: false });
      addFormats(ajv);
      ajv.addKeyword('x-jobwire-format');
      ajv.addKeyword('x-jobwire-unenforced');
      const compiled = new Map<string, (v: unknown) => boolean>();
      const disagree = list.filter((c) => {
        let validate = compiled.get(c.job);
        if (validate === undefined) {
          const fn = ajv.compile(schemaOf(c.job));
          validate = (v: unknown) => fn(v);
          compiled.set(c.job, validate);
        }
        return validate(c.payload) !== c.zod;
      });
      expect(disagree.slice(0, 5)).toEqual([]);
    });

    it.skipIf(python === undefined)(
      "Python's jsonschema (Draft 2020-12, FormatChecker) gives every verdict zod gives",
      () => {
        const file = join(work, `${which}.json`);
        const schemas = Object.fromEntries(
          Object.keys(contract.jobs).map((n) => [n, schemaOf(n)]),
        );
        writeFileSync(file, JSON.stringify({ schemas, cases: list }));
        const verdicts = JSON.parse(
          execFileSync(python!, ['-c', PYTHON_CHECK, file], {
            encoding: 'utf8',
            maxBuffer: 1 << 26,
          }),
        ) as boolean[];
        expect(verdicts).toHaveLength(list.length);
        const disagree = list.filter((c, i) => verdicts[i] !== c.zod);
        expect(disagree.slice(0, 5)).toEqual([]);
      },
    );
  },
);
