import { defineJobs, job, jobFingerprint } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildPart } from '../src/contract.ts';
import { enforceable, portablePattern } from '../src/fidelity.ts';

describe('portablePattern', () => {
  it('ends at the end of input in Python too, and \\d means ASCII digits', () => {
    expect(portablePattern('^a+$')).toBe('^a+(?![\\s\\S])');
    expect(portablePattern('^\\d{2}$')).toBe('^[0-9]{2}(?![\\s\\S])');
    expect(portablePattern('^[\\d.]$')).toBe('^[0-9.](?![\\s\\S])');
    // Escaped and in-class dollars are literal characters: left alone.
    expect(portablePattern('^\\$[$a]$')).toBe('^\\$[$a](?![\\s\\S])');
  });

  it('means the same in ECMAScript after the rewrite', () => {
    for (const [source, inputs] of [
      ['^a+$', ['a', 'aa', 'a\n', '', 'ba']],
      ['^\\d{2}$', ['12', '1', '12\n', '١٢']],
      ['^(?:x|y)$|^z$', ['x', 'z', 'z\n', 'xy']],
    ] as const) {
      const before = new RegExp(source, 'u');
      const after = new RegExp(portablePattern(source), 'u');
      for (const s of inputs) expect(after.test(s)).toBe(before.test(s));
    }
  });

  it('is idempotent, so old locks and new contracts compare alike', () => {
    const once = enforceable(
      z.toJSONSchema(z.object({ e: z.email(), d: z.iso.date() })) as Record<
        string,
        unknown
      >,
    );
    expect(enforceable(once)).toEqual(once);
  });
});

describe('contract.json says what zod enforces', () => {
  const part = (schema: z.ZodType) =>
    buildPart('j', 'payload', schema).schema as {
      properties: Record<string, Record<string, unknown>>;
    };

  it('moves formats to x-jobwire-format and keeps zod regex as the check', () => {
    const { properties } = part(z.object({ to: z.email() }));
    expect(properties.to).not.toHaveProperty('format');
    expect(properties.to!['x-jobwire-format']).toBe('email');
    const re = new RegExp(properties.to!.pattern as string, 'u');
    expect(re.test('a@b.co')).toBe(true);
    expect(re.test('a@b.co\n')).toBe(false);
  });

  it('marks checks JSON Schema cannot express with x-jobwire-unenforced', () => {
    const { properties } = part(
      z.object({
        url: z.url(),
        refined: z.string().refine((s) => s !== 'x'),
        flagged: z.string().regex(/^a$/i),
        multiple: z.number().multipleOf(3),
        plain: z.string().max(3),
        email: z.email(),
      }),
    );
    expect(properties.url!['x-jobwire-unenforced']).toMatch(/WHATWG URL/);
    expect(properties.refined!['x-jobwire-unenforced']).toMatch(/custom check/);
    expect(properties.flagged!['x-jobwire-unenforced']).toMatch(/flags/);
    expect(properties.multiple!['x-jobwire-unenforced']).toMatch(/tolerance/);
    expect(properties.plain).not.toHaveProperty('x-jobwire-unenforced');
    expect(properties.email).not.toHaveProperty('x-jobwire-unenforced');
  });

  it('leaves enum and default values as they are', () => {
    const { properties } = part(
      z.object({ k: z.enum(['$', 'a$']).default('a$') }),
    );
    expect(properties.k).toMatchObject({ enum: ['$', 'a$'], default: 'a$' });
  });
});

describe('fingerprints and key order', () => {
  const fp = (payload: z.ZodType) =>
    jobFingerprint(defineJobs({ a: job({ payload }) }).jobs.a);

  it('does not change when payload keys (or nested keys) are reordered', () => {
    const one = fp(
      z.object({
        to: z.string(),
        subject: z.string(),
        meta: z.object({ x: z.number(), y: z.number() }),
      }),
    );
    const other = fp(
      z.object({
        meta: z.object({ y: z.number(), x: z.number() }),
        subject: z.string(),
        to: z.string(),
      }),
    );
    expect(other).toBe(one);
  });

  it('still changes when which keys are required changes', () => {
    expect(fp(z.object({ a: z.string(), b: z.string().optional() }))).not.toBe(
      fp(z.object({ a: z.string().optional(), b: z.string() })),
    );
  });
});
