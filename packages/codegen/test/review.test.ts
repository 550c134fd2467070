/**
 * Defects an outside review of the contract tooling found, end to end
 * through the CLI (in process): an old --accept must not let a later edit
 * through, a refusal prints the run's notes too, and a lowered version is
 * refused.
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

describe('codegen review fixes', { timeout: 400_000 }, () => {
  const s = makeScratch();
  const readLock = () => JSON.parse(s.read('jobs.lock.json')) as Lock;

  it('an --accept covers only the change it was given for', async () => {
    const refined = (check: string) =>
      schemaWith(
        `t: job({ payload: z.object({ a: z.string().refine((s) => ${check}) }) })`,
      );
    s.writeSchema(refined('s.length > 1'));
    expect((await s.runInProcess()).status).toBe(0);
    s.writeSchema(refined('s.length > 2'));
    expect((await s.runInProcess('--check')).status).toBe(3);
    const accepted = await s.runInProcess('--accept');
    expect(accepted.status).toBe(0);
    expect(accepted.stdout).toMatch(/^note: accepted: t payload\.a: /m);
    // The fingerprint ignores refinements, so it is the same as accepted;
    // the edit is new all the same and needs its own acceptance.
    s.writeSchema(refined("s.startsWith('zzz')"));
    const r = await s.runInProcess('--check');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/t payload\.a: custom check .*CHANGED/);
    expect(readLock().accepted[0]?.digest).toMatch(/^[0-9a-f]{16}$/);
  });

  it('prints the notes and warnings when it refuses', async () => {
    s.writeSchema(
      schemaWith(
        [
          "a: job({ payload: z.object({ x: z.string().default('x') }) })",
          'b: job({ payload: z.object({ n: z.number() }) })',
        ].join(', '),
      ),
    );
    expect((await s.runInProcess()).status).toBe(0);
    s.writeSchema(
      schemaWith(
        [
          "a: job({ payload: z.object({ x: z.string().default('y') }) })",
          'b: job({ payload: z.object({ n: z.number().max(3) }) })',
        ].join(', '),
      ),
    );
    const r = await s.runInProcess('--check');
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/b payload\.n: .*MAXIMUM_ADDED/);
    expect(r.stdout).toMatch(
      /^note: a payload\.x: default changed from "x" to "y" \(DEFAULT_CHANGED\)/m,
    );
  });

  it('refuses a lowered version (VERSION_LOWERED)', async () => {
    const p = 'z.object({ n: z.number() })';
    s.writeSchema(schemaWith(`v: job({ payload: ${p} })`));
    expect((await s.runInProcess()).status).toBe(0);
    s.writeSchema(
      schemaWith(
        `v: job({ version: 2, payload: ${p}, upcast: { 1: { from: ${p}, to: (o) => o } } })`,
      ),
    );
    expect((await s.runInProcess()).status).toBe(0);
    expect(readLock().jobs.v?.history?.['1']).toBeDefined();
    const before = s.state();
    s.writeSchema(schemaWith(`v: job({ payload: ${p} })`));
    const r = await s.runInProcess();
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(
      /v: version lowered from 2 to 1 \(VERSION_LOWERED\): breaks backward and forward/,
    );
    expect(s.state()).toEqual(before);
  });
});
