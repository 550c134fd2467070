/**
 * Child processes of the tests (workers, producers, scenario children)
 * start from their TypeScript entry bundled into one ESM file, run by plain
 * `node`. Through `node --import tsx` each start cost about a second of CPU
 * (tsx itself, then every source file of core through its loader hooks), and
 * the suite starts about a hundred children on a two-core machine.
 *
 * The bundle holds the entry and every workspace source it imports
 * (`@jobwire/core` through the root tsconfig's paths, as tsx finds it;
 * test-kit through its exports); npm packages stay imports, resolved from
 * the entry's own package at run time, as tsx would. esbuild is what tsx uses
 * to compile each file, with the same `keepNames`. (A subpath of its own,
 * `@jobwire/test-kit/node-entry`, so that the children, which import the
 * rest of test-kit, do not load esbuild.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as esbuild from 'esbuild';

const REPO_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../..',
);

/** Every npm package the workspace's package.json files name: left to Node. */
function npmPackages(): string[] {
  const dirs = [
    REPO_ROOT,
    ...fs
      .readdirSync(path.join(REPO_ROOT, 'packages'))
      .map((p) => path.join(REPO_ROOT, 'packages', p)),
  ];
  const names = new Set<string>();
  for (const dir of dirs) {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) continue;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies'])
      for (const name of Object.keys(pkg[field] ?? {}))
        if (!name.startsWith('@jobwire/')) names.add(name);
  }
  return [...names];
}

/** A bundle made by this process: its file, its sources, when it was made. */
interface Bundle {
  out: string;
  inputs: string[];
  builtAt: number;
}

const bundles = new Map<string, Bundle>();
const DAY_MS = 86_400_000;

/** Whether a source of `b` changed since it was made (a watch-mode re-run). */
function stale(b: Bundle): boolean {
  return b.inputs.some(
    (f) =>
      (fs.statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) >
      b.builtAt,
  );
}

/**
 * Writes a bundle under a name from its content: test processes that
 * bundle the same sources share one file, and a changed source makes a new
 * one. A bundle is touched by each process that uses it; those no process
 * used for a day are removed.
 */
function writeBundle(dir: string, name: string, code: Uint8Array): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) {
    const stat = fs.statSync(path.join(dir, f), { throwIfNoEntry: false });
    if (stat !== undefined && Date.now() - stat.mtimeMs > DAY_MS)
      fs.rmSync(path.join(dir, f), { force: true });
  }
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const out = path.join(dir, `${name}-${hash}.mjs`);
  try {
    const now = new Date();
    fs.utimesSync(out, now, now);
  } catch {
    // Not there (or just pruned by another process): written, then renamed
    // into place, so a process that finds the file finds it whole.
    const tmp = `${out}.${process.pid}.${randomUUID()}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, out);
  }
  return out;
}

/** The directory of the package.json nearest above `file`. */
function packageDirOf(file: string): string {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`no package.json above ${file}`);
  }
}

/**
 * The arguments for `node` that run TypeScript entry `file` (an absolute
 * path): its bundle, made once per test process (again when one of its
 * sources changed). The bundle goes under its
 * package's node_modules/.cache, so that the npm packages it imports
 * resolve as they do from the sources: every workspace source it imports
 * must find its npm packages from there too (true of core's tests, whose
 * children import core and test-kit).
 */
export function nodeEntry(file: string): string[] {
  let bundle = bundles.get(file);
  if (bundle === undefined || stale(bundle)) {
    // Required here, not imported: worker-process.ts and flow-worker.ts are
    // both spawners and children, and their bundles must not load esbuild.
    const { buildSync } = createRequire(import.meta.url)(
      'esbuild',
    ) as typeof esbuild;
    const dir = path.join(
      packageDirOf(file),
      'node_modules/.cache/jobwire-test-entries',
    );
    const name = path.basename(file, '.ts');
    const builtAt = Date.now();
    const built = buildSync({
      entryPoints: [file],
      // Where it goes (the hash aside): the source map's paths are relative to it.
      outfile: path.join(dir, `${name}.mjs`),
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      keepNames: true,
      sourcemap: 'inline',
      metafile: true,
      external: npmPackages(),
      logLevel: 'error',
    });
    bundle = {
      out: writeBundle(dir, name, built.outputFiles[0]!.contents),
      inputs: Object.keys(built.metafile.inputs).map((f) => path.resolve(f)),
      builtAt,
    };
    bundles.set(file, bundle);
  }
  return ['--enable-source-maps', bundle.out];
}
