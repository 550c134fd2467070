/**
 * Scratch directories and CLI runs for the codegen tests. Scratch dirs live
 * inside the repo (packages/codegen/test/.work/<random>/) so the schema's
 * imports of '@jobwire/core' and 'zod' resolve through
 * packages/codegen/node_modules, and tsconfig.json's paths apply.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeEntry } from '@jobwire/test-kit/node-entry';
import { afterAll } from 'vitest';
import { runCli } from '../src/cli.ts';

/** The repository root (where tsconfig.json and the root package.json are). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const workRoot = fileURLToPath(new URL('./.work/', import.meta.url));
/** The codegen bin, from its sources (bundled: test-kit's nodeEntry). */
const cli = fileURLToPath(new URL('../src/bin.ts', import.meta.url));

/** What a finished CLI run printed and returned. */
export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Content and mtime of one file, or null when it does not exist. */
export type FileState = { content: string; mtimeMs: number } | null;

/** One scratch project: a schema file, its generated dir and its lock. */
export interface Scratch {
  /** Absolute path of the scratch directory. */
  dir: string;
  /** The directory relative to the repo root, with forward slashes. */
  rel: string;
  /** Schema path relative to the repo root (as error messages print it). */
  schemaRel: string;
  schemaPath: string;
  outDir: string;
  lockPath: string;
  /** The generated files plus the lock, absolute. */
  outputs: readonly string[];
  /** Writes the schema file. */
  writeSchema(source: string): void;
  /** `node`'s arguments that run the CLI for this scratch dir, then `extra`. */
  args(...extra: string[]): string[];
  /** Runs the CLI once, to completion, from the repo root. */
  run(...extra: string[]): RunResult;
  /**
   * Runs the same command line through `runCli` in this process, from the
   * repo root: what it prints, one line each as console.log would, and the
   * exit code it returns. For checks that do not need the process
   * boundary; it skips a process start and, after the first run, the
   * parse of the files the schema imports (codegen keeps them while they
   * are unchanged).
   */
  runInProcess(...extra: string[]): Promise<RunResult>;
  /** Starts the CLI (e.g. with --watch) without waiting; the caller kills it. */
  start(...extra: string[]): ChildProcess;
  /** Reads a file of the scratch dir (relative to it). */
  read(file: string): string;
  /** Content and mtime of every output, to prove that nothing was written. */
  state(): Record<string, FileState>;
}

/**
 * Creates a scratch dir and registers its removal in `afterAll`; call it at
 * the top level of a test file or inside `describe`.
 */
export function makeScratch(): Scratch {
  removeAbandoned();
  const dir = join(
    workRoot,
    `${process.pid}-${randomBytes(6).toString('hex')}`,
  );
  mkdirSync(dir, { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const rel = relative(repoRoot, dir).split('\\').join('/');
  const schemaPath = join(dir, 'jobs.schema.ts');
  const outDir = join(dir, 'generated');
  const lockPath = join(dir, 'jobs.lock.json');
  const outputs = [
    ...['producer.ts', 'consumer.ts', 'testing.ts', 'contract.json'].map((f) =>
      join(outDir, f),
    ),
    lockPath,
  ];
  const cliArgs = (...extra: string[]) => [
    '--schema',
    `${rel}/jobs.schema.ts`,
    '--out',
    `${rel}/generated`,
    '--lock',
    `${rel}/jobs.lock.json`,
    '--tsconfig',
    'tsconfig.json',
    ...extra,
  ];
  const args = (...extra: string[]) => [
    ...nodeEntry(cli),
    ...cliArgs(...extra),
  ];
  return {
    dir,
    rel,
    schemaRel: `${rel}/jobs.schema.ts`,
    schemaPath,
    outDir,
    lockPath,
    outputs,
    writeSchema: (source) => writeFileSync(schemaPath, source),
    args,
    run(...extra) {
      const r = spawnSync(process.execPath, args(...extra), {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      if (r.error) throw r.error;
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    async runInProcess(...extra) {
      let stdout = '';
      let stderr = '';
      const status = await runCli(cliArgs(...extra), {
        cwd: repoRoot,
        out: (line) => (stdout += `${line}\n`),
        err: (line) => (stderr += `${line}\n`),
      });
      return { status, stdout, stderr };
    },
    start: (...extra) =>
      spawn(process.execPath, args(...extra), {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so the watcher and the generation it
        // spawned can be stopped together.
        detached: true,
      }),
    read: (file) => readFileSync(join(dir, file), 'utf8'),
    state: () =>
      Object.fromEntries(
        outputs.map((f) => [
          relative(dir, f),
          existsSync(f)
            ? {
                content: readFileSync(f, 'utf8'),
                mtimeMs: statSync(f).mtimeMs,
              }
            : null,
        ]),
      ),
  };
}

/**
 * Removes scratch dirs an interrupted run left behind, at the start of every
 * run: a dir is named after the test process that made it, so one whose
 * process is gone is abandoned, while a concurrently running test file keeps
 * its own. Left behind, they would be picked up by `tsc -p tsconfig.json`.
 */
function removeAbandoned(): void {
  if (!existsSync(workRoot)) return;
  for (const name of readdirSync(workRoot)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (pid === process.pid || (pid > 0 && isAlive(pid))) continue;
    rmSync(join(workRoot, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The 1-based line of the first line of `text` that contains `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" is not in the text`);
  return i + 1;
}

/** `text` with the first occurrence of `from` replaced, failing if absent. */
export function edit(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`"${from}" is not in the text`);
  return text.replace(from, () => to);
}
