/**
 * A bump past more than one version with upcasters is refused as
 * VERSION_SKIPPED: the step from a version no lock recorded has no payload
 * its `from` is held to, so it could reject what the step before returns
 * and fail queued jobs at run time (before, codegen accepted 2 → 4 and
 * checked the invented step 3 against nothing). `--accept` takes it, as it
 * takes other refusals; bumping one version at a time holds every step.
 * From an outside review of the codegen workflow.
 */
import { describe, expect, it } from 'vitest';
import type { Lock } from '../src/contract-types.ts';
import { lineOf, makeScratch, type Scratch } from './helpers.ts';

const schemaWith = (job: string) =>
  [
    "import { defineJobs, job } from '@jobwire/core';",
    "import { z } from 'zod';",
    'export const jobs = defineJobs({',
    `  welcome: job({ queue: 'work', ${job} }),`,
    '});',
    '',
  ].join('\n');

const P1 = 'z.object({ userId: z.string(), locale: z.string().optional() })';
const P2 = 'z.object({ userId: z.string(), locale: z.string() })';
/** What step 3 reads: narrower than anything step 2 is checked against. */
const P3 =
  'z.object({ userId: z.string(), locale: z.string().max(2), region: z.string() })';
const P4 =
  'z.object({ userId: z.string(), locale: z.string(), tz: z.string() })';
const STEP1 = `1: { from: ${P1}, to: (o) => ({ ...o, locale: o.locale ?? 'en' }) }`;
const STEP2 = `2: { from: ${P2}, to: (o) => ({ ...o, region: 'eu' }) }`;
const STEP3 = `3: { from: ${P3}, to: (o) => ({ userId: o.userId, locale: o.locale, tz: 'UTC' }) }`;

const V4 = schemaWith(
  [
    'version: 4,',
    `    payload: ${P4},`,
    `    upcast: { ${STEP1}, ${STEP2}, ${STEP3} },`,
  ].join('\n'),
);

/** Locks version 1, then version 2 with its upcaster. */
async function atVersion2(s: Scratch): Promise<void> {
  s.writeSchema(schemaWith(`payload: ${P1}`));
  expect((await s.runInProcess()).status).toBe(0);
  s.writeSchema(schemaWith(`version: 2, payload: ${P2}, upcast: { ${STEP1} }`));
  expect((await s.runInProcess()).status).toBe(0);
}

describe(
  'a version bump past more than one version',
  { timeout: 400_000 },
  () => {
    it('is refused (VERSION_SKIPPED) at `version:`, with no upcaster offered; --accept takes it', async () => {
      const s = makeScratch();
      await atVersion2(s);
      const before = s.state();
      s.writeSchema(V4);
      const r = await s.runInProcess('--check');
      expect(r.status).toBe(3);
      const lines = r.stderr.trimEnd().split('\n');
      const refused = lines.filter((l) => /^ {2}- \S+:\d+:\d+: /.test(l));
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatch(
        new RegExp(
          `jobs\\.schema\\.ts:${lineOf(V4, 'version: 4')}:\\d+: welcome: version bumped from 2 to 4, past version 3, which no lock recorded \\(VERSION_SKIPPED\\): breaks backward — the \`from\` of the step from 3 is held to no locked payload`,
        ),
      );
      expect(lines).toContain(
        "    fix: bump one version at a time, running codegen at each: first to the locked version + 1, with the next step's `from` as the payload, then on with that step (its `from` is then held to the locked payload); or, having checked that each skipped version's `from` accepts what the step before it returns, --accept",
      );
      expect(lines.slice(lines.indexOf('Or, for all of them:'))).toEqual([
        'Or, for all of them:',
        '  - accept them explicitly: `jobwire codegen --accept` records the acceptance in the lock.',
      ]);
      // Not called bridged while refused.
      expect(r.stdout).not.toMatch(/UPCASTER_ADDED/);
      expect(s.state()).toEqual(before);

      const accepted = await s.runInProcess('--accept');
      expect(accepted.status).toBe(0);
      expect(accepted.stdout).toMatch(
        /^note: accepted: welcome: version bumped from 2 to 4/m,
      );
      const lock = JSON.parse(s.read('jobs.lock.json')) as Lock;
      expect(lock.jobs.welcome?.version).toBe(4);
      expect(lock.accepted.map((a) => [a.part, a.path, a.kind])).toEqual([
        ['job', 'version', 'VERSION_SKIPPED'],
      ]);
    });

    it('one version at a time, each step is held to its locked payload', async () => {
      const s = makeScratch();
      await atVersion2(s);
      // Version 3 first, with step 3's `from` as the payload: accepted.
      s.writeSchema(
        schemaWith(
          `version: 3, payload: ${P3}, upcast: { ${STEP1}, ${STEP2} }`,
        ),
      );
      expect((await s.runInProcess()).status).toBe(0);
      // Then version 4: step 3 is now held to the locked version 3 payload.
      s.writeSchema(V4);
      const r = await s.runInProcess();
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(
        /version bumped from 3 to 4; queued version 3 jobs are upcast \(UPCASTER_ADDED\)/,
      );
      const narrower = V4.replace(
        'region: z.string() })',
        'region: z.string().min(3) })',
      );
      expect(narrower).not.toBe(V4);
      s.writeSchema(narrower);
      const refused = await s.runInProcess('--check');
      expect(refused.status).toBe(3);
      expect(refused.stderr).toMatch(
        /welcome payload \(upcast\[3\]\.from\)\.region: .*\(MIN_LENGTH_\w+\)/,
      );
    });
  },
);
