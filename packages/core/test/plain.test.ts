import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseKeepsInput } from '../src/contract/plain.ts';
import { stripUnknownKeys } from '../src/contract/strip.ts';

interface Node {
  name: string;
  children: Node[];
}
const tree: z.ZodType<Node> = z.object({
  name: z.string(),
  get children() {
    return z.array(tree);
  },
});

/** Plain: every part returns what it was given, minus stripped keys. */
const plainSchema = z.object({
  id: z.string().min(1).max(40),
  email: z.email().optional(),
  n: z.number().int().nonnegative(),
  ok: z.boolean().nullable(),
  kind: z.enum(['a', 'b']),
  lines: z.array(z.object({ sku: z.string(), n: z.number() })).max(5),
  pair: z.tuple([z.string(), z.number()]).optional(),
  meta: z.looseObject({ v: z.number() }).optional(),
  shape: z
    .union([
      z.object({ t: z.literal('circle'), r: z.number() }),
      z.object({ t: z.literal('square'), side: z.number() }),
    ])
    .optional(),
  anything: z.unknown(),
  tree: tree.optional(),
});

const leaf = fc.record({ name: fc.string(), children: fc.constant([]) });

/** Valid values of `plainSchema`, with stray keys at several depths. */
const plainValue = fc.record(
  {
    id: fc.string({ minLength: 1, maxLength: 40 }),
    email: fc.constantFrom('a@example.com', 'x+y@sub.example.org'),
    n: fc.nat(),
    ok: fc.constantFrom(true, false, null),
    kind: fc.constantFrom('a', 'b'),
    lines: fc.array(
      fc.record(
        {
          sku: fc.string(),
          n: fc.double({ noNaN: true, noDefaultInfinity: true }),
          stray: fc.jsonValue(),
        },
        { requiredKeys: ['sku', 'n'] },
      ),
      { maxLength: 5 },
    ),
    pair: fc.tuple(fc.string(), fc.integer()),
    meta: fc.record(
      { v: fc.integer(), free: fc.jsonValue() },
      { requiredKeys: ['v'] },
    ),
    shape: fc.oneof(
      fc.record({
        t: fc.constant('circle'),
        r: fc.integer(),
        side: fc.integer(),
      }),
      fc.record({
        t: fc.constant('square'),
        side: fc.integer(),
        r: fc.integer(),
      }),
    ),
    anything: fc.jsonValue(),
    tree: fc.record({
      name: fc.string(),
      children: fc.array(leaf, { maxLength: 3 }),
      stray: fc.string(),
    }),
    legacy: fc.jsonValue(),
  },
  { requiredKeys: ['id', 'n', 'ok', 'kind', 'lines', 'anything'] },
);

const roundTrip = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v)) as unknown;

describe('parseKeepsInput', () => {
  it('accepts schemas whose output is their input minus stripped keys', () => {
    expect(parseKeepsInput(plainSchema)).toBe(true);
    expect(parseKeepsInput(tree)).toBe(true);
    expect(parseKeepsInput(z.strictObject({ a: z.string() }))).toBe(true);
  });

  it('refuses transforms, defaults, coercion and overwriting checks at any depth', () => {
    const refused: [string, z.ZodType][] = [
      ['transform', z.string().transform((s) => s.length)],
      ['default', z.object({ a: z.string().default('x') })],
      ['prefault', z.object({ a: z.string().prefault('x') })],
      ['catch', z.object({ a: z.number().catch(0) })],
      ['coerce', z.object({ a: z.coerce.number() })],
      ['trim', z.object({ a: z.array(z.string().trim()) })],
      ['toLowerCase', z.union([z.number(), z.string().toLowerCase()])],
      ['pipe', z.string().pipe(z.email())],
      ['date', z.object({ at: z.date() })],
      ['record', z.record(z.string(), z.number())],
      ['lazy', z.lazy(() => z.string())],
      [
        'intersection',
        z.intersection(
          z.object({ a: z.string() }),
          z.object({ b: z.string() }),
        ),
      ],
      [
        'loose with a default catchall',
        z.object({}).catchall(z.string().default('x')),
      ],
    ];
    for (const [what, schema] of refused) {
      expect({ what, plain: parseKeepsInput(schema) }).toEqual({
        what,
        plain: false,
      });
    }
  });

  it('stores the same JSON either way for plain schemas (property)', () => {
    fc.assert(
      fc.property(plainValue, (value) => {
        const parsed = plainSchema.safeParse(value);
        expect(parsed.success).toBe(true);
        expect(roundTrip(parsed.data)).toEqual(
          roundTrip(stripUnknownKeys(plainSchema, value)),
        );
      }),
      { numRuns: 300 },
    );
  });
});
