/** The wording and the rules of codegen's verdicts (issue 13, item 12). */
import { defineJobs, job } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  breakingFor,
  diffContracts,
  diffParts,
  formatChange,
  hintFor,
  judgedMode,
} from '../src/compat/index.ts';
import { buildContract, buildPart } from '../src/contract.ts';
import type { CompatibilityMode } from '../src/contract-types.ts';

const part = (schema: z.ZodType) => buildPart('j', 'payload', schema);

describe('union paths', () => {
  it('name the option: position, count and tag', () => {
    const contact = (email: z.ZodType) =>
      z.object({
        contact: z.discriminatedUnion('type', [
          z.object({ type: z.literal('phone'), number: z.string() }),
          z.object({ type: z.literal('email'), address: email }),
        ]),
      });
    const [change] = diffParts(
      part(contact(z.string())),
      part(contact(z.string().max(10))),
      'payload',
    );
    expect(change!.path).toBe('contact|1.address');
    expect(change!.label).toBe('contact (option 2 of 2: type="email").address');
    expect(formatChange('notify', change!)).toMatch(
      /^notify payload\.contact \(option 2 of 2: type="email"\)\.address: /,
    );
  });
});

describe('hints', () => {
  it('differ by kind of change', () => {
    const changes = [
      ...diffParts(
        part(z.object({ a: z.string(), e: z.enum(['x', 'y']) })),
        part(
          z.object({
            a: z.string(),
            e: z.enum(['x', 'y', 'z']),
            b: z.string(),
          }),
        ),
        'payload',
      ),
      ...diffParts(
        part(z.object({ n: z.number() })),
        part(z.object({ n: z.number().max(3) })),
        'payload',
      ),
    ];
    const hints = changes.map(hintFor);
    expect(changes.map((c) => c.kind).sort()).toEqual([
      'ENUM_VALUE_ADDED',
      'MAXIMUM_ADDED',
      'REQUIRED_PROPERTY_ADDED',
    ]);
    expect(new Set(hints).size).toBe(3);
    expect(
      hintFor(changes.find((c) => c.kind === 'REQUIRED_PROPERTY_ADDED')!),
    ).toMatch(/\.default\(/);
  });
});

describe('job-level changes', () => {
  const contract = (jobs: Record<string, CompatibilityMode>) =>
    buildContract(
      defineJobs(
        Object.fromEntries(
          Object.entries(jobs).map(([name, compatibility]) => [
            name,
            job({ payload: z.object({ a: z.string() }), compatibility }),
          ]),
        ),
      ),
    );

  it('JOB_ADDED keeps its advice and is not called a payload change', () => {
    const [diff] = diffContracts(contract({}), contract({ fresh: 'full' }));
    const line = formatChange(diff!.job, diff!.changes[0]!);
    expect(line).toBe(
      'fresh: job type added (JOB_ADDED): changes meaning forward — workers without the new handler fail its jobs; deploy workers first',
    );
  });

  it('a lowered mode is named, and the edit is judged by the stricter mode', () => {
    const [diff] = diffContracts(
      contract({ a: 'full' }),
      contract({ a: 'none' }),
    );
    expect(diff!.changes.map((c) => formatChange('a', c))).toEqual([
      'a: compatibility mode lowered from full to none (COMPATIBILITY_LOWERED): compatible',
    ]);
    expect(judgedMode('full', 'none')).toBe('full');
    expect(judgedMode('backward', 'forward')).toBe('full');
    expect(judgedMode('none', 'backward')).toBe('backward');
    expect(judgedMode(undefined, 'none')).toBe('none');
    expect(breakingFor(diff!, judgedMode('full', 'none'))).toEqual([]);
  });
});
