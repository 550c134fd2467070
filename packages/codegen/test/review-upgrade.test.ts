/**
 * Upgrading codegen must not refuse schemas that did not change (outside
 * review): a lock written by the previous codegen records no regex flags
 * and no pipe checks, and pipe-check hashes must not depend on zod's own
 * function sources.
 */
import { defineJobs, job } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { breakingFor, diffContracts } from '../src/compat/index.ts';
import { carryHistory } from '../src/compat/versions.ts';
import { buildContract, buildPart, describeZod } from '../src/contract.ts';
import type { Contract, Lock } from '../src/contract-types.ts';

const schema = () =>
  z.object({
    slug: z.string().regex(/^[a-z]+$/i),
    name: z.string().trim().min(1),
    url: z.string().pipe(z.url()),
  });

const contractOf = (payload: z.ZodType, version = 1): Contract =>
  buildContract(defineJobs({ t: job({ payload, version }) }));

/**
 * The lock the previous codegen (0adb639) wrote for `schema()`, as it wrote
 * it (its buildContract run on that schema; defaults trimmed): the flagged
 * pattern in place without x-jobwire-flags, no pipe checks, no "records".
 */
const OLD_LOCK: Lock = {
  jobwire: 1,
  zod: '4.6.7',
  fingerprint: 'f3d1bc5d38ba96c5',
  jobs: {
    t: {
      queue: 'default',
      version: 1,
      compatibility: 'full',
      fingerprint: '03b5360124b4bdc5',
      defaults: {},
      payload: {
        schema: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          properties: {
            slug: {
              type: 'string',
              pattern: '^[a-z]+(?![\\s\\S])',
              'x-jobwire-unenforced':
                'the regex /^[a-z]+$/i has flags JSON Schema patterns cannot carry',
            },
            name: { type: 'string', minLength: 1 },
            url: { type: 'string' },
          },
          required: ['slug', 'name', 'url'],
        },
        custom: [{ path: 'name', kind: 'transform', hash: 'da06e05e67eb3823' }],
      },
      result: null,
      progress: null,
    },
  },
  accepted: [],
};

/** Each change from `lock` to `next` as `KIND path refused|passes`. */
function judged(lock: Contract, next: Contract): string[] {
  return diffContracts(lock, next).flatMap((d) => {
    const breaking = new Set(breakingFor(d, 'full'));
    return d.changes.map(
      (c) => `${c.kind} ${c.path} ${breaking.has(c) ? 'refused' : 'passes'}`,
    );
  });
}

describe('a lock written by the previous codegen', () => {
  it('an unchanged schema passes, with notes that flags and pipe checks are recorded from now on', () => {
    expect(judged(OLD_LOCK, contractOf(schema()))).toEqual([
      'PIPE_CHECK_RECORDED name passes',
      'REGEX_FLAGS_RECORDED slug passes',
      'PIPE_CHECK_RECORDED url passes',
    ]);
    const [d] = diffContracts(OLD_LOCK, contractOf(schema()));
    expect(d!.changes.map((c) => c.summary)).toContain(
      'flags i of /^[a-z]+(?![\\s\\S])/ recorded from now on (the lock predates recorded regex flags)',
    );
  });

  it('once relocked, real changes of flags and pipe checks are refused again', () => {
    const relocked = contractOf(schema());
    expect(relocked.records).toEqual({ regexFlags: 1, pipeChecks: 1 });
    expect(judged(relocked, contractOf(schema()))).toEqual([]);
    const edited = z.object({
      slug: z.string().regex(/^[a-z]+$/u),
      name: z.string().trim().min(2),
      url: z.string().pipe(z.url()),
    });
    expect(judged(relocked, contractOf(edited))).toEqual([
      'MIN_LENGTH_INCREASED name refused',
      'PIPE_CHECK_CHANGED name refused',
      'REGEX_FLAGS_CHANGED slug refused',
    ]);
  });

  it('a payload carried into the history from it keeps counting as not recorded', () => {
    const old = OLD_LOCK.jobs.t!;
    const next = contractOf(schema(), 2).jobs.t!;
    expect(carryHistory(old, next, OLD_LOCK.records)?.['1']).toEqual(
      old.payload,
    );
    const relocked = contractOf(schema());
    expect(
      carryHistory(relocked.jobs.t, next, relocked.records)?.['1']?.records,
    ).toEqual({ regexFlags: 1, pipeChecks: 1 });
  });
});

describe('pipe-check hashes', () => {
  type Def = Record<string, unknown>;
  const checksOf = (s: z.ZodType) =>
    (s as unknown as { _zod: { def: { checks: { _zod: { def: Def } }[] } } })
      ._zod.def.checks;

  it('hash what the user wrote: check kinds, parameters, zod rewrites by name', () => {
    expect(describeZod(checksOf(z.string().trim().min(1)))).toBe(
      '[{"check":"overwrite","tx":"zod:trim"},{"check":"min_length","minimum":1}]',
    );
    // A refinement's function is the user's: it counts.
    expect(
      describeZod(
        checksOf(
          z
            .string()
            .trim()
            .refine((s) => s !== 'x'),
        ),
      ),
    ).toContain('fn:');
  });

  it("do not change when zod's internal functions do", () => {
    const s = z.object({ a: z.string().trim().min(1) });
    const before = buildPart('t', 'payload', s).custom;
    // What a zod release may rewrite: the length check's `when` guard.
    const def = checksOf(s.shape.a)[1]!._zod.def;
    expect(typeof def.when).toBe('function');
    def.when = (payload: { value: unknown }) =>
      payload.value !== null && payload.value !== undefined;
    expect(buildPart('t', 'payload', s).custom).toEqual(before);
  });
});
