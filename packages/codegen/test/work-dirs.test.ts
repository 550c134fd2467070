/**
 * Issue 13, item 14: a killed test run must not break the next lint. The
 * codegen tests' scratch dirs carry their process's pid, and the next run
 * removes those whose process is gone; and `pnpm lint` checks only what git
 * tracks (plus new files it does not ignore), never a scratch dir.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeScratch, repoRoot } from './helpers.ts';

const workRoot = fileURLToPath(new URL('./.work/', import.meta.url));

/** The pid of a process that has exited (pids are not reused at once). */
function deadPid(): number {
  const run = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
  return run.pid!;
}

/** A dir as a run would leave it: a schema file that does not even parse. */
function plantWorkDir(name: string): string {
  const dir = join(workRoot, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'jobs.schema.ts'), 'export const = ;\n');
  return dir;
}

describe('codegen scratch dirs and the lint', () => {
  // Planted before makeScratch runs, as a killed run would leave them.
  const abandoned = plantWorkDir(`${deadPid()}-abandoned`);
  const alive = spawn(
    process.execPath,
    ['-e', 'setTimeout(() => {}, 600000)'],
    {
      stdio: 'ignore',
    },
  );
  const concurrent = plantWorkDir(`${alive.pid!}-concurrent`);
  afterAll(() => {
    alive.kill('SIGKILL');
    rmSync(concurrent, { recursive: true, force: true });
  });
  makeScratch();

  it('a run removes the work dirs of dead test processes, and keeps a live one’s', () => {
    expect(existsSync(abandoned)).toBe(false);
    expect(existsSync(concurrent)).toBe(true);
  });

  it('the lint lists tracked files and never a scratch dir or ignored file', () => {
    const probe = plantWorkDir(`${process.pid}-lint-probe`);
    try {
      const run = spawnSync('bash', ['scripts/lint-files.sh'], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.status).toBe(0);
      const files = run.stdout.split('\0').filter((f) => f !== '');
      expect(files).toContain('packages/codegen/src/cli.ts');
      expect(files).toContain('scripts/lint.sh');
      expect(files.filter((f) => f.includes('/.work/'))).toEqual([]);
      expect(files.filter((f) => f.startsWith('node_modules/'))).toEqual([]);
      // …and that list is what the lint checks.
      expect(readFileSync(join(repoRoot, 'scripts/lint.sh'), 'utf8')).toMatch(
        /done < <\(bash scripts\/lint-files\.sh\)/,
      );
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  });
});
