import { defineJobs, job } from '@jobwire/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { breakingFor, diffContracts } from '../src/compat/index.ts';
import { carryHistory, upcastAdvice } from '../src/compat/versions.ts';
import { buildContract } from '../src/contract.ts';
import type { Contract, JobContract } from '../src/contract-types.ts';

// Issue 14: the compatibility check knows about versions and upcasters.
const v1 = z.object({ to: z.string() });
const v2 = z.object({ to: z.array(z.string()) });
const v3 = z.object({ recipients: z.array(z.string()) });

const contractOf = (def: ReturnType<typeof job>): Contract =>
  buildContract(defineJobs({ t: def }));
const jobOf = (c: Contract): JobContract => c.jobs.t!;

function verdict(lock: Contract, next: Contract) {
  const [d] = diffContracts(lock, next);
  return {
    kinds: d?.changes.map((c) => c.kind).sort() ?? [],
    breaking: d ? breakingFor(d, 'full') : [],
  };
}

describe('a version bump in the compatibility check', () => {
  const locked = contractOf(job({ payload: v1 }));

  it('passes a breaking payload change bridged by an upcaster from the locked version', () => {
    const next = contractOf(
      job({
        version: 2,
        payload: v2,
        upcast: { 1: { from: v1, to: (old) => ({ to: [old.to] }) } },
      }),
    );
    const r = verdict(locked, next);
    expect(r.kinds).toEqual(['UPCASTER_ADDED']);
    expect(r.breaking).toEqual([]);
  });

  it('refuses the same change without an upcaster', () => {
    const r = verdict(locked, contractOf(job({ version: 2, payload: v2 })));
    expect(r.kinds).toEqual(['TYPE_CHANGED', 'UPCASTER_MISSING']);
    expect(r.breaking.map((c) => c.kind)).toEqual(['TYPE_CHANGED']);
  });

  it('refuses an upcaster whose `from` rejects what the locked version stored (backward only)', () => {
    const next = contractOf(
      job({
        version: 2,
        payload: v2,
        upcast: {
          1: {
            // Narrower than the locked v1 (a max length), and wider (an optional field).
            from: z.object({
              to: z.string().max(5),
              cc: z.string().optional(),
            }),
            to: (old) => ({ to: [old.to] }),
          },
        },
      }),
    );
    const r = verdict(locked, next);
    expect(r.breaking.map((c) => [c.kind, c.path])).toEqual([
      ['MAX_LENGTH_ADDED', 'upcast[1].from.to'],
    ]);
    expect(r.breaking[0]!.forward).toBe('safe');
    expect(r.breaking[0]!.message).toMatch(
      /^payload \(upcast\[1\]\.from\)\.to .*must accept every version 1 job still in Redis/,
    );
  });

  it("holds an older upcaster's `from` to the payload in the lock's history", () => {
    const atV2 = contractOf(
      job({
        version: 2,
        payload: v2,
        upcast: { 1: { from: v1, to: (old) => ({ to: [old.to] }) } },
      }),
    );
    const history = carryHistory(jobOf(locked), jobOf(atV2));
    expect(history).toEqual({ '1': jobOf(locked).payload });
    jobOf(atV2).history = history;
    const atV3 = (from1: z.ZodType<{ to: string }, { to: string }>) =>
      contractOf(
        job({
          version: 3,
          payload: v3,
          upcast: {
            1: { from: from1, to: (old) => ({ to: [old.to] }) },
            2: { from: v2, to: (old) => ({ recipients: old.to }) },
          },
        }),
      );
    expect(verdict(atV2, atV3(v1)).breaking).toEqual([]);
    const narrowed = verdict(atV2, atV3(z.object({ to: z.email() })));
    expect(narrowed.breaking.map((c) => c.path)).toEqual(['upcast[1].from.to']);
    // The history grows by one version per bump and never holds the current one.
    expect(carryHistory(jobOf(atV2), jobOf(atV3(v1)))).toEqual({
      '1': jobOf(locked).payload,
      '2': jobOf(atV2).payload,
    });
    expect(carryHistory(jobOf(atV2), jobOf(atV2))).toEqual(history);
    expect(carryHistory(jobOf(locked), jobOf(locked))).toBeUndefined();
  });

  it('judges results as before: an upcaster converts payloads only', () => {
    const withResult = (version: number, result: z.ZodType) =>
      contractOf(
        job({
          version,
          payload: v1,
          result,
          ...(version === 2
            ? { upcast: { 1: { from: v1, to: (old: { to: string }) => old } } }
            : {}),
        }),
      );
    const r = verdict(
      withResult(1, z.object({ id: z.string() })),
      withResult(2, z.object({ id: z.string(), at: z.number() })),
    );
    expect(r.breaking.map((c) => `${c.part} ${c.kind}`)).toEqual([
      'result REQUIRED_PROPERTY_ADDED',
    ]);
  });

  it('names the upcaster to add, for one job or several', () => {
    expect(upcastAdvice(['t'], () => 3)).toContain(
      'on t, set `version: 4` and `upcast: { 3: { from: <version 3 payload schema>, to: (old) => <version 4 input> } }`',
    );
    expect(upcastAdvice(['a', 'b'], () => 1)).toContain(
      'on each job type, set `version: N + 1` and `upcast: { N: { from: ',
    );
    // A job with a chain: its steps stay (copied as printed, the advice
    // would otherwise drop them).
    expect(
      upcastAdvice(
        ['t'],
        () => 3,
        () => [2, 1],
      ),
    ).toContain(
      'on t, set `version: 4` and `upcast: { 1: <keep as is>, 2: <keep as is>, 3: { from: <version 3 payload schema>, to: (old) => <version 4 input> } }`',
    );
    expect(
      upcastAdvice(
        ['a', 'b'],
        () => 2,
        (job) => (job === 'a' ? [1] : []),
      ),
    ).toContain(
      'on each job type, set `version: N + 1` and `upcast: { <its steps, kept as they are>, N: { from: ',
    );
  });
});

describe('a bump past more than one version', () => {
  const p = z.object({ n: z.number() });
  const step = { from: p, to: (o: { n: number }) => o };
  const locked = contractOf(
    job({ version: 2, payload: p, upcast: { 1: step } }),
  );

  it('is refused (VERSION_SKIPPED) when a step comes from a skipped version', () => {
    const r = verdict(
      locked,
      contractOf(
        job({
          version: 5,
          payload: p,
          upcast: { 1: step, 2: step, 3: step, 4: step },
        }),
      ),
    );
    expect(r.kinds).toEqual(['VERSION_SKIPPED']);
    expect(
      r.breaking.map((c) => [c.part, c.path, c.backward, c.forward]),
    ).toEqual([['job', 'version', 'breaks', 'safe']]);
    expect(r.breaking[0]!.summary).toBe(
      'version bumped from 2 to 5, past versions 3 and 4, which no lock recorded',
    );
  });

  it('is judged as a bump without an upcaster when there is no step at all', () => {
    const r = verdict(
      contractOf(job({ payload: p })),
      contractOf(job({ version: 4, payload: p })),
    );
    expect(r.kinds).toEqual(['UPCASTER_MISSING']);
    expect(r.breaking).toEqual([]);
  });
});

describe('a dropped upcaster step', () => {
  it('is noted (UPCASTER_REMOVED), not silent', () => {
    const p = z.object({ n: z.number() });
    const step = { from: p, to: (o: { n: number }) => o };
    const both = contractOf(
      job({ version: 3, payload: p, upcast: { 1: step, 2: step } }),
    );
    const one = contractOf(
      job({ version: 3, payload: p, upcast: { 2: step } }),
    );
    const [d] = diffContracts(both, one);
    expect(d?.changes.map((c) => c.kind)).toEqual(['UPCASTER_REMOVED']);
    expect(d?.changes[0]?.message).toMatch(
      /version 1 jobs can no longer be upcast/,
    );
  });
});
