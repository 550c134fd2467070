/**
 * Child processes of the tests (workers, producers, scenario children, the
 * CLIs) start from their TypeScript entry bundled into ESM, run by plain
 * `node`. Through `node --import tsx` each start cost about a second of CPU
 * (tsx itself, then every workspace source through its loader hooks), and
 * the suite starts a few hundred children on a two-core machine.
 *
 * The bundle (one file, and a chunk for each dynamic import, which stays
 * lazy) holds the entry and every workspace source it imports
 * (`@jobwire/core`, `@jobwire/server` and `@jobwire/codegen` through the root
 * tsconfig's paths, as tsx finds them; test-kit through its exports). Each
 * source is compiled as tsx compiles it (esbuild, `keepNames`) and keeps its
 * own `import.meta.url`, so URLs made from it (the dashboard's assets, a
 * `createRequire`) point where they do under tsx; only the entry's is the
 * bundle's, so that the usual is-main check (`process.argv[1]` against
 * `import.meta.url`) holds.
 *
 * npm packages stay imports, resolved at run time by Node as tsx would
 * resolve them: each package is linked into a `node_modules` beside the
 * bundle, to the directory Node finds from the source that imports it (core
 * imports ioredis from packages/core, the CLI commander from packages/cli).
 * (A subpath of its own, `@jobwire/test-kit/node-entry`, so that the
 * children, which import the rest of test-kit, do not load it; esbuild
 * itself runs in a worker thread, only while a bundle is made.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire, isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
} from 'node:worker_threads';
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

/**
 * Runs in a worker thread: esbuild's plugins (here, one that gives each
 * source but the entry its own `import.meta.url`) need its asynchronous
 * API, and nodeEntry is synchronous. It posts the result on `port`, then
 * wakes the caller blocked on `signal`.
 */
const BUILDER = `
const { workerData } = require('node:worker_threads');
const { port, signal } = workerData;
const done = (message) => {
  port.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
};
// The caller is blocked in Atomics.wait and hears no 'error' event: any
// failure must come back through done().
process.on('uncaughtException', (e) => done({ error: String(e && e.stack ? e.stack : e) }));
process.on('unhandledRejection', (e) => done({ error: String(e && e.stack ? e.stack : e) }));
try {
  const fs = require('node:fs');
  const path = require('node:path');
  const { pathToFileURL } = require('node:url');
  const esbuild = require(workerData.esbuild);
  // Real path: esbuild names the files it loads by theirs (a checkout under
  // a symlink would otherwise have its entry's URL rewritten too).
  const entry = fs.realpathSync(path.resolve(workerData.options.entryPoints[0]));
  const sourceUrls = {
    name: 'source-urls',
    setup(build) {
      build.onLoad({ filter: /\\.[cm]?ts$/ }, (args) => {
        if (args.path === entry || args.path.includes('/node_modules/')) return undefined;
        const text = fs.readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        const url = JSON.stringify(pathToFileURL(args.path).href);
        return { contents: text.replace(/\\bimport\\.meta\\.url\\b/g, url), loader: 'ts' };
      });
    },
  };
  esbuild.build({ ...workerData.options, plugins: [sourceUrls] }).then(
    (r) => done({
      files: r.outputFiles.map((f) => ({
        path: path.relative(workerData.options.outdir, f.path),
        contents: f.contents,
      })),
      metafile: r.metafile,
    }),
    (e) => done({ error: String(e && e.message ? e.message : e) }),
  );
} catch (e) {
  done({ error: String(e && e.stack ? e.stack : e) });
}
`;

/** A file of a bundle: its path, relative to the bundle's directory. */
interface OutFile {
  path: string;
  contents: Uint8Array;
}

/** What the builder sends back. */
type Built =
  | { files: OutFile[]; metafile: esbuild.Metafile; error?: undefined }
  | { error: string };

const BUILD_TIMEOUT_MS = 120_000;

/** esbuild's build with `options`, waited for. */
function buildSync(options: esbuild.BuildOptions): {
  files: OutFile[];
  metafile: esbuild.Metafile;
} {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(BUILDER, {
    eval: true,
    workerData: {
      // Found from here (a dependency of test-kit): the worker's code has
      // no location of its own.
      esbuild: createRequire(import.meta.url).resolve('esbuild'),
      options,
      port: port2,
      signal,
    },
    transferList: [port2],
  });
  try {
    if (Atomics.wait(signal, 0, 0, BUILD_TIMEOUT_MS) === 'timed-out')
      throw new Error(`bundling ${String(options.entryPoints)} timed out`);
    const reply = receiveMessageOnPort(port1)?.message as Built | undefined;
    if (reply === undefined) throw new Error('the bundler sent nothing');
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply;
  } finally {
    port1.close();
    void worker.terminate();
  }
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

/** The directory of the package.json nearest above `file`. */
function packageDirOf(file: string): string {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir)
      throw new Error(`no package.json above ${file}`);
  }
}

/** The directory of npm package `name` as Node finds it from `file`, if any. */
function packageFrom(file: string, name: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (fs.existsSync(candidate)) return fs.realpathSync(candidate);
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * For each npm package the bundled sources import, the directory Node
 * would load it from for them; an error when two sources would load two
 * copies of one package (one bundle cannot).
 */
function packageLinks(
  entry: string,
  metafile: esbuild.Metafile,
  cwd: string,
): [string, string][] {
  const links = new Map<string, string>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    const importer = path.resolve(cwd, input);
    for (const { path: spec, external } of imports) {
      // Bare specifiers only: not `node:fs`, `./x`, `/x` or a URL.
      if (external !== true || isBuiltin(spec) || /^[./]|:/.test(spec))
        continue;
      const name = spec
        .split('/')
        .slice(0, spec.startsWith('@') ? 2 : 1)
        .join('/');
      // Not found: Node fails at run time, as it would from the source.
      const dir = packageFrom(importer, name);
      if (dir === undefined) continue;
      const seen = links.get(name);
      if (seen !== undefined && seen !== dir)
        throw new Error(
          `${entry}: its sources import ${name} from both ${seen} and ${dir}; one bundle can link one`,
        );
      links.set(name, dir);
    }
  }
  return [...links].sort(([a], [b]) => a.localeCompare(b));
}

/**
 * Writes bundle `name` (its entry `<name>.mjs`, the chunks it imports on
 * demand) with its package links into a directory named from their
 * content, `<dir>/<name>-<hash>/`: test processes that bundle the same
 * sources share one, and a changed source makes a new one. A bundle is
 * touched by each process that uses it; those no process used for a day
 * are removed.
 */
function writeBundle(
  dir: string,
  name: string,
  files: OutFile[],
  links: [string, string][],
): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) {
    const stat = fs.statSync(path.join(dir, f), { throwIfNoEntry: false });
    if (stat === undefined || Date.now() - stat.mtimeMs <= DAY_MS) continue;
    // Moved aside first, so a process that finds a bundle finds it whole.
    const doomed = path.join(dir, `.${f}.${process.pid}.${randomUUID()}.rm`);
    try {
      fs.renameSync(path.join(dir, f), doomed);
    } catch {
      continue; // Just removed by another process.
    }
    fs.rmSync(doomed, { recursive: true, force: true });
  }
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.path).update('\0').update(f.contents);
  hash.update(JSON.stringify(links));
  const bundleDir = path.join(
    dir,
    `${name}-${hash.digest('hex').slice(0, 16)}`,
  );
  const out = path.join(bundleDir, `${name}.mjs`);
  try {
    const now = new Date();
    fs.utimesSync(bundleDir, now, now);
  } catch {
    // Not there (or just pruned by another process): made aside, then
    // renamed into place whole.
    const tmp = `${path.join(dir, `.${path.basename(bundleDir)}`)}.${process.pid}.${randomUUID()}`;
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(tmp, f.path)), { recursive: true });
      fs.writeFileSync(path.join(tmp, f.path), f.contents);
    }
    for (const [pkg, target] of links) {
      const link = path.join(tmp, 'node_modules', pkg);
      fs.mkdirSync(path.dirname(link), { recursive: true });
      fs.symlinkSync(target, link, 'dir');
    }
    try {
      fs.renameSync(tmp, bundleDir);
    } catch (error) {
      // Another process put the same bundle there first.
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(out)) throw error;
    }
  }
  return out;
}

/**
 * The arguments for `node` that run TypeScript entry `file` (an absolute
 * path): its bundle, made once per test process (again when one of its
 * sources changed), kept under its package's
 * node_modules/.cache/jobwire-test-entries.
 */
export function nodeEntry(file: string): string[] {
  let bundle = bundles.get(file);
  if (bundle === undefined || stale(bundle)) {
    const dir = path.join(
      packageDirOf(file),
      'node_modules/.cache/jobwire-test-entries',
    );
    const name = path.basename(file, '.ts');
    const cwd = process.cwd();
    const builtAt = Date.now();
    const built = buildSync({
      entryPoints: [file],
      absWorkingDir: cwd,
      // Where it goes, but for the hash in the directory's name: the source
      // maps' paths are relative to it.
      outdir: path.join(dir, name),
      entryNames: name,
      chunkNames: 'chunks/[name]-[hash]',
      outExtension: { '.js': '.mjs' },
      // A dynamic import stays one (its code a chunk): the CLI loads
      // codegen, and with it TypeScript, only for `jobwire codegen`.
      splitting: true,
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      keepNames: true,
      sourcemap: 'inline',
      metafile: true,
      external: npmPackages(),
      logLevel: 'silent',
    });
    bundle = {
      out: writeBundle(
        dir,
        name,
        built.files,
        packageLinks(file, built.metafile, cwd),
      ),
      inputs: Object.keys(built.metafile.inputs).map((f) =>
        path.resolve(cwd, f),
      ),
      builtAt,
    };
    bundles.set(file, bundle);
  }
  return ['--enable-source-maps', bundle.out];
}
