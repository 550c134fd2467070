/**
 * `jobwire codegen …` and `jobwire-codegen …` are one runCli: the same
 * flags, output and exit codes. Each case runs both bins as child
 * processes in a user project outside the repository.
 */
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeEntry } from '@jobwire/test-kit/node-entry';
import { afterAll, describe, expect, it } from 'vitest';
import { jobwire } from './jobwire-bin.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
// Both bins from their sources, bundled (test-kit's nodeEntry); each loads
// the user's schema through tsx, as it does for a user.
const jobwireBin = jobwire();
const codegenBin = nodeEntry(join(repoRoot, 'packages/codegen/src/bin.ts'));

const SCHEMA = `import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';

export const jobs = defineJobs({
  ping: job({ payload: z.object({ at: z.number() }) }),
});
`;

/** A user project: ESM, zod, and core's sources behind a stand-in package. */
function userProject(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'jobwire-cg-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, content: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  };
  write('package.json', '{"type":"module"}');
  write('jobs.schema.ts', SCHEMA);
  write(
    'node_modules/@jobwire/core/package.json',
    '{"name":"@jobwire/core","type":"module","exports":"./index.ts"}',
  );
  write(
    'node_modules/@jobwire/core/index.ts',
    `export * from ${JSON.stringify(join(repoRoot, 'packages/core/src/index.ts'))};\n`,
  );
  symlinkSync(
    realpathSync(join(repoRoot, 'node_modules/zod')),
    join(dir, 'node_modules/zod'),
  );
  return dir;
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(dir: string, entry: string[], args: string[]): Run {
  const r = spawnSync(process.execPath, [...entry, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `jobwire codegen <args>` and `jobwire-codegen <args>`, expects identical results, returns one. */
function both(dir: string, ...args: string[]): Run {
  const viaJobwire = run(dir, [...jobwireBin, 'codegen'], args);
  const viaBin = run(dir, codegenBin, args);
  expect(viaJobwire).toEqual(viaBin);
  return viaBin;
}

// Each spawn type-checks the schema: seconds on an idle machine, far more
// on a loaded one, hence the generous timeout.
describe('jobwire codegen = jobwire-codegen', { timeout: 600_000 }, () => {
  const dir = userProject();

  it('--help', () => {
    const r = both(dir, '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: jobwire codegen \[options\]/);
    for (const flag of [
      '--check',
      '--watch',
      '--accept',
      '--schema',
      '--out',
      '--lock',
      '--tsconfig',
      '--config',
    ])
      expect(r.stdout).toContain(flag);
  });

  it('an unknown flag: exit 2', () => {
    const r = both(dir, '--frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "jobwire codegen: error: unknown option '--frobnicate' (see jobwire codegen --help)\n",
    );
  });

  it('a missing schema: exit 1, file: error:', () => {
    const r = both(dir, '--schema', 'missing.ts');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('missing.ts: error: schema file not found\n');
  });

  it('generates, then --check passes, then --check fails on a stale file', () => {
    // The first run writes, so it goes through one bin only; the checks
    // after it run through both.
    const first = run(dir, [...jobwireBin, 'codegen'], ['--out', 'gen']);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^codegen: wrote gen\/producer\.ts, /);
    expect(both(dir, '--out', 'gen', '--check')).toEqual({
      status: 0,
      stdout: 'codegen: generated files are up to date\n',
      stderr: '',
    });
    writeFileSync(join(dir, 'gen/testing.ts'), '// edited\n');
    expect(both(dir, '--out', 'gen', '--check')).toEqual({
      status: 1,
      stdout: '',
      stderr: 'gen/testing.ts: error: out of date (run jobwire codegen)\n',
    });
  });
});
