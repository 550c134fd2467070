/**
 * A refused upcaster `from` is reported at the field inside that `from`,
 * as deep as the source spells it out (before, the line pointed at the
 * job's `payload:`, which is not where the mistake is), and the same run
 * does not call that upcaster compatible (`UPCASTER_ADDED`) while it
 * refuses its `from`. From an outside review of the codegen workflow.
 */
import { describe, expect, it } from 'vitest';
import { lineOf, makeScratch, repoRoot } from './helpers.ts';

const V1 = [
  "import { defineJobs, job } from '@jobwire/core';",
  "import { z } from 'zod';",
  'export const jobs = defineJobs({',
  '  sendEmail: job({',
  "    queue: 'mail',",
  '    payload: z.object({ to: z.email(), subject: z.string(), body: z.string() }),',
  '  }),',
  '});',
  '',
].join('\n');

const withUpcast = (from: string) =>
  [
    "import { defineJobs, job } from '@jobwire/core';",
    "import { z } from 'zod';",
    ...(from.startsWith('v1') ? [`const ${from}`] : []),
    'export const jobs = defineJobs({',
    '  sendEmail: job({',
    "    queue: 'mail',",
    '    version: 2,',
    '    payload: z.object({ to: z.email(), subject: z.string().max(100), body: z.string() }),',
    '    upcast: {',
    '      1: {',
    `        from: ${from.startsWith('v1') ? 'v1' : from},`,
    '        to: (old) => old,',
    '      },',
    '    },',
    '  }),',
    '});',
    '',
  ].join('\n');

/**
 * The `file:line:col` of each refused change's line, relative to the repo
 * root (a run in process prints it absolute: its cwd ends in a slash).
 */
const refusedAt = (stderr: string): string[] =>
  stderr
    .split('\n')
    .flatMap((l) => /^ {2}- (\S+:\d+:\d+): /.exec(l)?.[1] ?? [])
    .map((at) => (at.startsWith(repoRoot) ? at.slice(repoRoot.length) : at));

describe("a refused upcaster's `from`", { timeout: 400_000 }, () => {
  const s = makeScratch();

  it('is located at the field inside `from`, and its upcaster is not called compatible', async () => {
    s.writeSchema(V1);
    expect((await s.runInProcess()).status).toBe(0);
    const schema = withUpcast(
      [
        'z.object({',
        '          to: z.email(),',
        '          subject: z.string().max(100),',
        '          body: z.string(),',
        '        })',
      ].join('\n'),
    );
    s.writeSchema(schema);
    const r = await s.runInProcess('--check');
    expect(r.status).toBe(3);
    const at = `${s.schemaRel}:${lineOf(schema, '          subject: z.string().max(100),')}:11`;
    expect(refusedAt(r.stderr)).toEqual([at]);
    expect(r.stderr).toContain(
      `:${at.split(':').slice(1).join(':')}: sendEmail payload (upcast[1].from).subject: length upper bound <= 100 added (MAX_LENGTH_ADDED)`,
    );
    // The error's own location is the first refused change's.
    expect(r.stderr.split('\n')[0]).toContain(
      `jobs.schema.ts:${at.split(':').slice(1).join(':')}: error: `,
    );
    expect(r.stdout + r.stderr).not.toMatch(/UPCASTER_ADDED/);
  });

  it('falls back to `from`, then the upcaster step, when the field is not spelled out there', async () => {
    // `from` names a schema declared elsewhere: the `from:` property.
    const named = withUpcast(
      'v1 = z.object({ to: z.email(), subject: z.string().max(100), body: z.string() });',
    );
    s.writeSchema(named);
    const r = await s.runInProcess('--check');
    expect(r.status).toBe(3);
    expect(refusedAt(r.stderr)).toEqual([
      `${s.schemaRel}:${lineOf(named, 'from: v1,')}:9`,
    ]);
  });

  it('is located per step of a chain', async () => {
    // Lock version 2, then edit the older step's `from` (held to history).
    const p2 =
      'z.object({ to: z.email(), subject: z.string().max(100), body: z.string() })';
    const v2 = withUpcast(
      'z.object({ to: z.email(), subject: z.string(), body: z.string() })',
    );
    s.writeSchema(V1);
    expect((await s.runInProcess()).status).toBe(0);
    s.writeSchema(v2);
    expect((await s.runInProcess()).status).toBe(0);
    const v3 = [
      "import { defineJobs, job } from '@jobwire/core';",
      "import { z } from 'zod';",
      'export const jobs = defineJobs({',
      '  sendEmail: job({',
      "    queue: 'mail',",
      '    version: 3,',
      `    payload: ${p2},`,
      '    upcast: {',
      "      '1': {",
      '        from: z.object({ to: z.email(), subject: z.string(), body: z.string().min(1) }),',
      '        to: (old) => ({ ...old, subject: old.subject.slice(0, 100) }),',
      '      },',
      `      2: { from: ${p2}, to: (old) => old },`,
      '    },',
      '  }),',
      '});',
      '',
    ].join('\n');
    s.writeSchema(v3);
    const r = await s.runInProcess('--check');
    expect(r.status).toBe(3);
    const line = lineOf(v3, 'body: z.string().min(1)');
    const col = v3.split('\n')[line - 1]!.indexOf('body:') + 1;
    expect(refusedAt(r.stderr)).toEqual([`${s.schemaRel}:${line}:${col}`]);
    expect(r.stderr).toMatch(/sendEmail payload \(upcast\[1\]\.from\)\.body: /);
  });
});
