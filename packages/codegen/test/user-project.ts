/**
 * A user's project for the codegen tests: a temp dir OUTSIDE the
 * repository (so no monorepo tsconfig.json or node_modules is found above
 * it), with a node_modules that holds zod and a stand-in `@jobwire/core`.
 *
 * The stand-in re-exports core's sources by absolute path: it works
 * whatever core's package.json `exports` point at (sources or a build),
 * and tsx loads it at run time like any TypeScript file.
 */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { runCli } from '../src/index.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
/** core's entry module, absolute. */
export const coreEntry = join(repoRoot, 'packages/core/src/index.ts');

/** A starter schema with two job types (the form the codegen tests use). */
export const USER_SCHEMA = `import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';

export const jobs = defineJobs({
  /** Sends a welcome email. */
  sendWelcome: job({
    queue: 'email',
    payload: z.object({
      /** Recipient. */
      to: z.email(),
      name: z.string().optional(),
      tags: z.array(z.string()).default([]),
    }),
    result: z.object({ messageId: z.string() }),
  }),
  resize: job({
    payload: z.object({ url: z.url(), width: z.number().int().default(256) }),
  }),
});
`;

/** What runCli printed and returned. */
export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

/** One user project on disk. */
export interface UserProject {
  dir: string;
  /** Writes a file (creating its directories), relative to the project. */
  write(file: string, content: string): void;
  read(file: string): string;
  /** runCli in this process, with the project as cwd. */
  codegen(...argv: string[]): Promise<CliRun>;
}

/** Creates a user project; removed after the test file. */
export function makeUserProject(): UserProject {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'jobwire-user-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, content: string) => {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), content);
  };
  write(
    'package.json',
    JSON.stringify({ name: 'user-app', private: true, type: 'module' }),
  );
  const core = 'node_modules/@jobwire/core';
  write(
    `${core}/package.json`,
    JSON.stringify({
      name: '@jobwire/core',
      type: 'module',
      exports: './index.ts',
    }),
  );
  write(`${core}/index.ts`, `export * from ${JSON.stringify(coreEntry)};\n`);
  const zod = realpathSync(join(repoRoot, 'node_modules/zod'));
  symlinkSync(zod, join(dir, 'node_modules/zod'), 'dir');
  return {
    dir,
    write,
    read: (file) => readFileSync(join(dir, file), 'utf8'),
    async codegen(...argv) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(argv, {
        cwd: dir,
        out: (l) => out.push(l),
        err: (l) => err.push(l),
      });
      return { code, out, err };
    },
  };
}
