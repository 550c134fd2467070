/**
 * Defects an outside review found in the contract and its check: pipes and
 * rewrites whose checks were invisible, regex flags, and contract.json
 * rejecting payloads zod accepts (.catch(), z.coerce, fractional multipleOf).
 */
import { defineJobs, job } from '@jobwire/core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { breakingFor, diffContracts } from '../src/compat/index.ts';
import { buildContract } from '../src/contract.ts';
import type { Contract } from '../src/contract-types.ts';

const contractOf = (payload: z.ZodType): Contract =>
  buildContract(defineJobs({ t: job({ payload }) }));

/** The changes from `a` to `b`, each as `KIND breaking?`. */
function judged(a: z.ZodType, b: z.ZodType): string[] {
  const [d] = diffContracts(contractOf(a), contractOf(b));
  if (d === undefined) return [];
  const breaking = new Set(breakingFor(d, 'full'));
  return d.changes.map(
    (c) => `${c.kind} ${breaking.has(c) ? 'refused' : 'passes'}`,
  );
}

const schemaOf = (payload: z.ZodType) =>
  contractOf(payload).jobs.t!.payload.schema;

const validator = (payload: z.ZodType) =>
  new Ajv2020({ strict: false }).compile(schemaOf(payload));

describe('checks on a piped or rewritten value', () => {
  it('.pipe() into a narrower schema is refused until accepted', () => {
    expect(
      judged(
        z.object({ a: z.string() }),
        z.object({ a: z.string().pipe(z.string().min(5)) }),
      ),
    ).toEqual(['PIPE_CHECK_ADDED refused']);
    expect(
      judged(
        z.object({ a: z.string() }),
        z.object({
          a: z
            .string()
            .transform((s) => s.trim())
            .pipe(z.email()),
        }),
      ),
    ).toContain('PIPE_CHECK_ADDED refused');
    expect(
      judged(
        z.object({ a: z.string().pipe(z.string().min(5)) }),
        z.object({ a: z.string().pipe(z.string().min(6)) }),
      ),
    ).toEqual(['PIPE_CHECK_CHANGED refused']);
  });

  it('checks after .trim() are refused until accepted', () => {
    expect(
      judged(
        z.object({ a: z.string().min(2) }),
        z.object({ a: z.string().trim().min(2) }),
      ),
    ).toContain('PIPE_CHECK_ADDED refused');
  });

  it("contract.json marks the pipe's checks, and leaves out checks on a trimmed value", () => {
    const piped = schemaOf(
      z.object({ a: z.string().pipe(z.string().min(2)) }),
    ) as { properties: { a: Record<string, unknown> } };
    expect(piped.properties.a['x-jobwire-unenforced']).toMatch(/\.pipe\(\)/);
    const trimmed = z.object({ a: z.string().trim().max(3) });
    expect(trimmed.safeParse({ a: '  abc  ' }).success).toBe(true);
    expect(validator(trimmed)({ a: '  abc  ' })).toBe(true);
  });
});

describe('regex flags', () => {
  const rx = (re: RegExp) => z.object({ a: z.string().regex(re) });

  it('adding i widens, removing it narrows, other flags are unknown', () => {
    expect(judged(rx(/^ab$/), rx(/^ab$/i))).toEqual([
      'REGEX_FLAGS_CHANGED refused',
    ]);
    const [added] = diffContracts(
      contractOf(rx(/^ab$/)),
      contractOf(rx(/^ab$/i)),
    );
    expect(added!.changes[0]).toMatchObject({
      backward: 'safe',
      forward: 'breaks',
    });
    const [removed] = diffContracts(
      contractOf(rx(/^ab$/i)),
      contractOf(rx(/^ab$/)),
    );
    expect(removed!.changes[0]).toMatchObject({
      backward: 'breaks',
      forward: 'safe',
    });
    const [multi] = diffContracts(
      contractOf(rx(/^ab$/)),
      contractOf(rx(/^ab$/m)),
    );
    expect(multi!.changes[0]).toMatchObject({
      kind: 'REGEX_FLAGS_CHANGED',
      backward: 'unknown',
      forward: 'unknown',
    });
  });

  it('contract.json accepts what a flagged regex accepts', () => {
    const v = validator(rx(/^ab$/i));
    expect(v({ a: 'AB' })).toBe(true);
    expect(v({ a: 'aB' })).toBe(true);
  });
});

describe('contract.json accepts at least what zod accepts', () => {
  it('.catch(): any value, or none', () => {
    const s = z.object({ c: z.number().catch(0) });
    const v = validator(s);
    for (const p of [{ c: 'garbage' }, {}, { c: 1 }]) {
      expect(s.safeParse(p).success).toBe(true);
      expect(v(p)).toBe(true);
    }
  });

  it('z.coerce: "5" for a number, anything for a string', () => {
    const s = z.object({ c: z.coerce.number(), s: z.coerce.string() });
    const v = validator(s);
    for (const p of [
      { c: '5', s: 3 },
      { c: true, s: {} },
    ]) {
      expect(s.safeParse(p).success).toBe(true);
      expect(v(p)).toBe(true);
    }
  });

  it('multipleOf(0.1) accepts 0.3 as zod does', () => {
    const s = z.object({ m: z.number().multipleOf(0.1) });
    expect(s.safeParse({ m: 0.3 }).success).toBe(true);
    expect(validator(s)({ m: 0.3 })).toBe(true);
  });

  it('the check still compares what zod states: no finding without a change', () => {
    const s = z.object({
      c: z.number().catch(0),
      k: z.coerce.number().min(1),
      m: z.number().multipleOf(0.1),
      r: z.string().regex(/^a$/i),
    });
    expect(judged(s, s)).toEqual([]);
    expect(
      judged(
        z.object({ m: z.number().multipleOf(0.1) }),
        z.object({ m: z.number().multipleOf(0.2) }),
      ),
    ).toEqual(['MULTIPLE_OF_CHANGED refused']);
  });
});
