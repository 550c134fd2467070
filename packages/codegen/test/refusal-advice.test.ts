/**
 * The advice printed with a refusal names a remedy that can work. Before,
 * every refusal ended with "add an upcaster … set `version: N + 1`" and
 * "--accept": for an upcaster whose `from` rejects what its version stored
 * the job already has that upcaster (the fix is in `from`), and the `fix:`
 * line spoke of the payload field; for a lowered version --accept took it,
 * and wrote a lock without the higher version's history and upcasters while
 * its queued jobs waited for a worker that never comes.
 */
import { describe, expect, it } from 'vitest';
import type { Lock } from '../src/contract-types.ts';
import { makeScratch } from './helpers.ts';

const schemaWith = (jobs: string) =>
  [
    "import { z } from 'zod';",
    "import { defineJobs, job } from '@jobwire/core';",
    `export const jobs = defineJobs({ ${jobs} });`,
    '',
  ].join('\n');

/** The lines after the refused changes' own (the ways forward). */
const waysOf = (stderr: string): string[] => {
  const lines = stderr.trimEnd().split('\n');
  const at = lines.findIndex((l) => l.startsWith('Or, '));
  return at === -1 ? [] : lines.slice(at);
};

describe('refusal advice', { timeout: 400_000 }, () => {
  const s = makeScratch();

  it("an upcaster's `from` that rejects what its version stored: fix `from`; no upcaster offered", async () => {
    s.writeSchema(
      schemaWith(`t: job({ payload: z.object({ to: z.string() }) })`),
    );
    expect((await s.runInProcess()).status).toBe(0);
    s.writeSchema(
      schemaWith(
        't: job({ version: 2, payload: z.object({ to: z.array(z.string()) }), upcast: { 1: { from: z.object({ to: z.string().max(5) }), to: (o) => ({ to: [o.to] }) } } })',
      ),
    );
    const r = await s.runInProcess('--check');
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(
      't payload (upcast[1].from).to: length upper bound <= 5 added (MAX_LENGTH_ADDED)',
    );
    expect(r.stderr).toContain(
      '    fix: make `upcast[1].from` accept every version 1 payload still queued: write it as the version 1 payload schema was (the lock records it), without this change; or drain the version 1 jobs it rejects first, then --accept\n',
    );
    expect(waysOf(r.stderr)).toEqual([
      'Or, for all of them:',
      '  - accept them explicitly: `jobwire codegen --accept` records the acceptance in the lock.',
    ]);
  });

  it('a type with an upcast chain: the upcaster advice keeps its steps; the fix line names what works', async () => {
    const p1 = 'z.object({ q: z.string(), n: z.number().max(1000) })';
    s.writeSchema(schemaWith(`exportRows: job({ payload: ${p1} })`));
    expect((await s.runInProcess()).status).toBe(0);
    s.writeSchema(
      schemaWith(
        `exportRows: job({ version: 2, payload: ${p1}, upcast: { 1: { from: ${p1}, to: (o) => o } } })`,
      ),
    );
    expect((await s.runInProcess()).status).toBe(0);
    // Narrowed without a bump: a string length and a number bound.
    s.writeSchema(
      schemaWith(
        `exportRows: job({ version: 2, payload: z.object({ q: z.string().max(100), n: z.number().max(100) }), upcast: { 1: { from: ${p1}, to: (o) => o } } })`,
      ),
    );
    const r = await s.runInProcess('--check');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/exportRows payload\.n: .*\(MAXIMUM_DECREASED\)/);
    expect(r.stderr).toMatch(/exportRows payload\.q: .*\(MAX_LENGTH_ADDED\)/);
    // `jobwire migrate` rewrites jobs of older versions only: without a
    // bump there is nothing for it to do, so the fix does not offer it.
    const fixes = r.stderr.split('\n').filter((l) => l.startsWith('    fix: '));
    expect(fixes).toEqual([
      '    fix: bump the version with an upcaster (below) whose `from` keeps the old rule and whose `to` clamps or converts what it no longer allows; or drain the queued jobs the tighter rule rejects, then --accept',
      '    fix: bump the version with an upcaster (below) whose `from` keeps the old rule and whose `to` clamps or converts what it no longer allows; or drain the queued jobs the tighter rule rejects, then --accept',
    ]);
    // Copied as printed, the upcaster advice keeps the step from 1.
    expect(waysOf(r.stderr)).toEqual([
      'Or, for all of them:',
      '  - add an upcaster (payload changes): on exportRows, set `version: 3` and `upcast: { 1: <keep as is>, 2: { from: <version 2 payload schema>, to: (old) => <version 3 input> } }`; workers then convert queued jobs of the old version before the handler sees them (docs/changing-contracts.md),',
      '  - or accept them explicitly: `jobwire codegen --accept` records the acceptance in the lock.',
    ]);
  });

  it('a lowered version: set it back; --accept refuses it too', async () => {
    const p = 'z.object({ n: z.number() })';
    s.writeSchema(schemaWith(`v: job({ payload: ${p} })`));
    expect((await s.runInProcess()).status).toBe(0);
    s.writeSchema(
      schemaWith(
        `v: job({ version: 2, payload: ${p}, upcast: { 1: { from: ${p}, to: (o) => o } } })`,
      ),
    );
    expect((await s.runInProcess()).status).toBe(0);
    const before = s.state();
    const lockBefore = JSON.parse(s.read('jobs.lock.json')) as Lock;

    s.writeSchema(schemaWith(`v: job({ payload: ${p} })`));
    const fix =
      '    fix: set `version` back to the locked one: versions only go up, and --accept cannot take a lowered one (for a new payload, bump past it with an upcaster). If the higher version never reached Redis, restore the lock from before it instead (e.g. git checkout jobs.lock.json)';
    const r = await s.runInProcess();
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(
      'v: version lowered from 2 to 1 (VERSION_LOWERED)',
    );
    expect(r.stderr.trimEnd().endsWith(fix)).toBe(true);
    expect(waysOf(r.stderr)).toEqual([]);
    const accepted = await s.runInProcess('--accept');
    expect(accepted.status).toBe(3);
    expect(accepted.stderr).toContain('(VERSION_LOWERED)');
    expect(s.state()).toEqual(before);
    expect(JSON.parse(s.read('jobs.lock.json'))).toEqual(lockBefore);

    // With a payload change beside it: the upcaster and --accept for that
    // change only.
    s.writeSchema(
      schemaWith('v: job({ payload: z.object({ n: z.number().max(3) }) })'),
    );
    const both = await s.runInProcess();
    expect(both.status).toBe(3);
    expect(waysOf(both.stderr)).toEqual([
      'Or, for some of them:',
      '  - add an upcaster (payload changes): on v, set `version: 3` and `upcast: { 2: { from: <version 2 payload schema>, to: (old) => <version 3 input> } }`; workers then convert queued jobs of the old version before the handler sees them (docs/changing-contracts.md),',
      '  - or accept the others explicitly: `jobwire codegen --accept` records the acceptance in the lock (a lowered version cannot be accepted).',
    ]);
    // --accept took the payload change, but the run is refused and writes
    // nothing: its note must not say the change was accepted.
    const mixed = await s.runInProcess('--accept');
    expect(mixed.status).toBe(3);
    expect(mixed.stdout + mixed.stderr).not.toMatch(/note: accepted: /);
    expect(mixed.stdout + mixed.stderr).toMatch(
      /note: not accepted, the run was refused \(nothing was written\): v payload\.n: value upper bound/,
    );
    expect(s.state()).toEqual(before);
  });

  /** The refused change's line and its `fix:` line, for the change named `kind`. */
  const refusal = (stderr: string, kind: string) => {
    const lines = stderr.split('\n');
    const at = lines.findIndex((l) => l.includes(`(${kind})`));
    expect(at).toBeGreaterThan(-1);
    return { change: lines[at]!, fix: lines[at + 1]! };
  };

  // A .catch() got the advice written for z.coerce: '(e.g. "5" for a
  // number)' and 'deploy workers with the coercion first'.
  it.each([
    {
      part: 'payload',
      before: 'c1: job({ payload: z.object({ e: z.number() }) })',
      after: 'c1: job({ payload: z.object({ e: z.number().catch(0) }) })',
      change:
        'c1 payload.e: .catch() added (LENIENT_WRITER_ADDED): breaks forward — producers on the new schema accept anything there and store it as given (any type, or nothing: the fallback is used only when read), which workers still on the old schema reject',
      fix: '    fix: deploy workers with the .catch() first, then producers; or check the value before enqueueing until every worker has it',
    },
    {
      part: 'result',
      before:
        'c2: job({ payload: z.object({ a: z.string() }), result: z.object({ n: z.number() }) })',
      after:
        'c2: job({ payload: z.object({ a: z.string() }), result: z.object({ n: z.number().catch(0) }) })',
      change:
        'c2 result.n: .catch() added (LENIENT_WRITER_ADDED): breaks forward — workers on the new schema accept anything there and store it as given (any type, or nothing: the fallback is used only when read), which awaiters still on the old schema reject',
      fix: '    fix: deploy awaiters with the .catch() first, then workers; or keep handlers returning the old type there until every awaiter has it',
    },
  ])(
    'a .catch() added to a $part field: advice for a .catch(), not for a coercion',
    async ({ before, after, change, fix }) => {
      s.writeSchema(schemaWith(before));
      expect((await s.runInProcess()).status).toBe(0);
      s.writeSchema(schemaWith(after));
      const r = await s.runInProcess('--check');
      expect(r.status).toBe(3);
      const got = refusal(r.stderr, 'LENIENT_WRITER_ADDED');
      expect(got.change).toContain(change);
      expect(got.fix).toBe(fix);
      expect(r.stderr).not.toMatch(/coerc|"5"/);
    },
  );

  // A required field added to a result was told 'so jobs already queued
  // without it still parse': results are stored by workers, not queued.
  it.each([
    {
      part: 'result',
      before:
        'r1: job({ payload: z.object({ a: z.string() }), result: z.object({ r: z.string() }) })',
      after:
        'r1: job({ payload: z.object({ a: z.string() }), result: z.object({ r: z.string(), s: z.string() }) })',
      fix: '    fix: make the field .optional() or give it a .default(...), so results old workers already stored without it still parse',
    },
    {
      part: 'progress',
      before:
        'r2: job({ payload: z.object({ a: z.string() }), progress: z.object({ pct: z.number() }) })',
      after:
        'r2: job({ payload: z.object({ a: z.string() }), progress: z.object({ pct: z.number(), step: z.string() }) })',
      fix: '    fix: make the field .optional() or give it a .default(...), so progress old workers already published without it still parses',
    },
    {
      part: 'payload',
      before: 'r3: job({ payload: z.object({ a: z.string() }) })',
      after: 'r3: job({ payload: z.object({ a: z.string(), b: z.string() }) })',
      fix: '    fix: make the field .optional() or give it a .default(...), so jobs already queued without it still parse',
    },
  ])(
    'a required field added to the $part: the fix speaks of what is stored there',
    async ({ before, after, fix }) => {
      s.writeSchema(schemaWith(before));
      expect((await s.runInProcess()).status).toBe(0);
      s.writeSchema(schemaWith(after));
      const r = await s.runInProcess('--check');
      expect(r.status).toBe(3);
      expect(refusal(r.stderr, 'REQUIRED_PROPERTY_ADDED').fix).toBe(fix);
    },
  );
});
