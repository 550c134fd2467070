import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import {
  CONFIG_FILE,
  detectImportExtension,
  findTsconfig,
  readTsSettings,
  type ImportExtension,
} from '@jobwire/codegen';
import { STARTER_SCHEMA } from './starter.ts';

/** The package.json scripts `jobwire init` adds when they are missing. */
export const INIT_SCRIPTS = {
  codegen: 'jobwire codegen',
  'codegen:check': 'jobwire codegen --check',
} as const;

/** What `jobwire init` did to one file or script. */
export interface InitStep {
  action: 'created' | 'kept' | 'added' | 'set' | 'left';
  /** The file, or `package.json script "<name>"`. */
  what: string;
  detail?: string;
}

/** Everything `jobwire init` did, plus what the next steps need. */
export interface InitReport {
  steps: InitStep[];
  schema: string;
  out: string;
  packageManager: 'npm' | 'pnpm' | 'yarn';
}

/** A problem that stops init before it writes anything. */
export class InitError extends Error {
  override readonly name = 'InitError';
}

/** Writes `content` unless the file exists; true when it wrote. Never overwrites. */
function createOnly(path: string, content: string): boolean {
  try {
    writeFileSync(path, content, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new InitError(
      `${path}: error: cannot write: ${(err as Error).message}`,
    );
  }
}

/** `file:line:col` of a JSON.parse failure, when the message gives the position. */
function jsonError(file: string, text: string, err: Error): InitError {
  const pos = /at position (\d+)/.exec(err.message);
  if (!pos)
    return new InitError(`${file}: error: invalid JSON: ${err.message}`);
  const before = text.slice(0, Number(pos[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  const reason = err.message.replace(/ in JSON at position.*$/, '');
  return new InitError(
    `${file}:${String(line)}:${String(column)}: error: invalid JSON: ${reason}`,
  );
}

function readObject(path: string, name: string): Record<string, unknown> {
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw jsonError(name, text, err as Error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InitError(`${name}: error: expected a JSON object`);
  return value as Record<string, unknown>;
}

function packageManager(cwd: string): InitReport['packageManager'] {
  if (existsSync(join(cwd, 'pnpm-lock.yaml'))) return 'pnpm';
  if (existsSync(join(cwd, 'yarn.lock'))) return 'yarn';
  if (existsSync(join(cwd, 'package-lock.json'))) return 'npm';
  const agent = process.env.npm_config_user_agent ?? '';
  if (agent.startsWith('pnpm/')) return 'pnpm';
  if (agent.startsWith('yarn/')) return 'yarn';
  return 'npm';
}

function detectExtension(schemaPath: string): {
  extension: ImportExtension;
  reason: string;
} {
  try {
    return detectImportExtension(
      readTsSettings(findTsconfig(undefined, schemaPath)),
    );
  } catch (err) {
    return {
      extension: '.js',
      reason: `the tsconfig could not be read (${(err as Error).message})`,
    };
  }
}

/**
 * The tsconfig.json init writes when the project has none: what `npx tsc`
 * needs to compile the schema, the generated modules and the user's
 * worker and producer for plain `node` (dist/, ES modules as NodeNext
 * emits them for a "type": "module" package). `types: ["node"]` for
 * `process.env` (TypeScript 6 and later default to none).
 */
export function starterTsconfig(rootDir: string): string {
  const config = {
    compilerOptions: {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      skipLibCheck: true,
      types: ['node'],
      rootDir,
      outDir: 'dist',
    },
    ...(rootDir === '.' ? {} : { include: [rootDir] }),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** What firstJsFile returns when it stopped looking before it was done. */
const TOO_MANY = '\0too many';

/**
 * The first .js file of the package in `cwd` (its path, relative), if any:
 * below `cwd`, outside node_modules and dot-directories, not past a nested
 * package.json. Node loads such a file as CommonJS while "type" is missing
 * or "commonjs", so setting "type": "module" could break it. Gives up
 * (TOO_MANY) after 20,000 entries.
 */
export function firstJsFile(cwd: string): string | undefined {
  const queue = [''];
  let seen = 0;
  while (queue.length > 0) {
    const rel = queue.shift()!;
    let entries;
    try {
      entries = readdirSync(join(cwd, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    if (rel !== '' && entries.some((e) => e.name === 'package.json')) continue;
    for (const e of entries) {
      if (++seen > 20_000) return TOO_MANY;
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.'))
          queue.push(path);
      } else if (e.name.endsWith('.js')) return path;
    }
  }
  return undefined;
}

/** The indentation package.json already uses, so the added scripts fit in. */
function indentOf(text: string): string | number {
  return /^\{\r?\n([ \t]+)"/.exec(text)?.[1] ?? 2;
}

/**
 * Sets a project up for jobwire in `cwd`: a starter schema, the codegen
 * config, and the `codegen` and `codegen:check` scripts. Never overwrites
 * a file or a script; reads (and refuses) a broken package.json before
 * writing anything. Without a package.json it creates a minimal one (ESM,
 * private), since the scripts need a home and jobwire is ESM.
 */
export function initProject(cwd: string): InitReport {
  const steps: InitStep[] = [];
  const pkgPath = join(cwd, 'package.json');
  const pkgText = existsSync(pkgPath)
    ? readFileSync(pkgPath, 'utf8')
    : undefined;
  const pkg =
    pkgText === undefined ? undefined : readObject(pkgPath, 'package.json');
  if (pkg !== undefined && pkg.scripts !== undefined) {
    const s = pkg.scripts;
    if (typeof s !== 'object' || s === null || Array.isArray(s))
      throw new InitError('package.json: error: "scripts" is not an object');
  }

  // An existing config decides where the schema is; else src/ if the
  // project keeps its code there, so tsc's rootDir covers the schema.
  const configPath = join(cwd, CONFIG_FILE);
  const hasSrc =
    existsSync(join(cwd, 'src')) && statSync(join(cwd, 'src')).isDirectory();
  let schema = hasSrc ? 'src/jobs.schema.ts' : 'jobs.schema.ts';
  let out = hasSrc ? 'src/generated' : 'generated';
  if (existsSync(configPath)) {
    try {
      const existing = readObject(configPath, CONFIG_FILE);
      if (typeof existing.schema === 'string') schema = existing.schema;
      if (typeof existing.out === 'string') out = existing.out;
    } catch {
      // Kept as it is; codegen reports what is wrong with it.
    }
  }
  const schemaPath = resolve(cwd, schema);

  if (!existsSync(resolve(schemaPath, '..'))) {
    throw new InitError(`${schema}: error: its directory does not exist`);
  }
  steps.push({
    action: createOnly(schemaPath, STARTER_SCHEMA) ? 'created' : 'kept',
    what: relative(cwd, schemaPath),
  });

  // Before the import extension is read from it.
  steps.push({
    action: createOnly(
      join(cwd, 'tsconfig.json'),
      starterTsconfig(hasSrc && schema.startsWith('src/') ? 'src' : '.'),
    )
      ? 'created'
      : 'kept',
    what: 'tsconfig.json',
  });

  const { extension, reason } = detectExtension(schemaPath);
  const config = {
    schema,
    out,
    lock: 'jobs.lock.json',
    importExtension: extension,
  };
  const wroteConfig = createOnly(
    configPath,
    `${JSON.stringify(config, null, 2)}\n`,
  );
  steps.push(
    wroteConfig
      ? {
          action: 'created',
          what: CONFIG_FILE,
          detail: `importExtension "${extension}": ${reason}`,
        }
      : { action: 'kept', what: CONFIG_FILE },
  );

  if (pkg === undefined || pkgText === undefined) {
    const fresh = {
      name: basename(cwd)
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, '-'),
      version: '0.0.0',
      private: true,
      type: 'module',
      scripts: { ...INIT_SCRIPTS },
    };
    createOnly(pkgPath, `${JSON.stringify(fresh, null, 2)}\n`);
    steps.push({
      action: 'created',
      what: 'package.json',
      detail: 'private, "type": "module", with the codegen scripts',
    });
  } else {
    const next: Record<string, unknown> = { ...pkg };
    let added = false;
    // The schema and the generated modules are ES modules: loaded as
    // CommonJS, codegen and the CLI cannot import the schema, and the
    // generated producer's top-level await does not compile.
    // Only in a package with no .js file of its own: there the change
    // breaks nothing, while an existing app's require()-based .js files
    // would stop loading.
    if (pkg.type === undefined || pkg.type === 'commonjs') {
      const was =
        pkg.type === undefined ? 'it had no "type"' : 'was "commonjs"';
      const js = firstJsFile(cwd);
      if (js === undefined) {
        next.type = 'module';
        added = true;
        steps.push({
          action: 'set',
          what: 'package.json "type": "module"',
          detail: `${was}: jobwire's schema and generated modules are ES modules, and the package has no .js file it would break`,
        });
      } else {
        steps.push({
          action: 'left',
          what: `package.json ${pkg.type === undefined ? 'without "type"' : '"type": "commonjs"'}`,
          detail: `${js === TOO_MANY ? 'the package has too many files to check' : `${js} may be CommonJS`}, which "type": "module" would break. jobwire's schema and generated modules are ES modules: set "type": "module" yourself once your .js files are ES modules or renamed to .cjs, or keep jobwire in a package of its own that has it`,
        });
      }
    }
    const scripts = { ...((pkg.scripts as Record<string, unknown>) ?? {}) };
    for (const [name, command] of Object.entries(INIT_SCRIPTS)) {
      const what = `package.json script "${name}"`;
      if (scripts[name] !== undefined) {
        steps.push({
          action: 'kept',
          what,
          detail: JSON.stringify(scripts[name]),
        });
        continue;
      }
      scripts[name] = command;
      added = true;
      steps.push({ action: 'added', what, detail: JSON.stringify(command) });
    }
    if (added) {
      // Only what init adds or sets changes; every other key and its order stay.
      const trailing = pkgText.endsWith('\n') ? '\n' : '';
      writeFileSync(
        pkgPath,
        `${JSON.stringify({ ...next, scripts }, null, indentOf(pkgText))}${trailing}`,
      );
    }
  }
  return { steps, schema, out, packageManager: packageManager(cwd) };
}

/** The report and the next steps, as `jobwire init` prints them (README.md and docs/getting-started.md show the same). */
export function formatInitReport(report: InitReport): string {
  const pm = report.packageManager;
  const add = pm === 'npm' ? 'npm install' : `${pm} add`;
  const dev = pm === 'npm' ? 'npm install --save-dev' : `${pm} add -D`;
  const runScript = pm === 'npm' ? 'npm run' : pm;
  const exec = pm === 'npm' ? 'npx' : pm === 'pnpm' ? 'pnpm exec' : 'yarn';
  const out = report.out.replace(/\/$/, '');
  // The worker goes next to the schema, so tsc's rootDir covers both.
  const dir = report.schema.includes('/')
    ? report.schema.slice(0, report.schema.lastIndexOf('/') + 1)
    : '';
  const lines = report.steps.map(
    (s) =>
      `  ${s.action.padEnd(8)}${s.what}${s.detail === undefined ? '' : ` (${s.detail})`}`,
  );
  return [
    'jobwire init:',
    ...lines,
    '',
    'Next steps:',
    '  1. Install jobwire, zod, TypeScript and tsx:',
    `       ${add} @jobwire/core zod`,
    `       ${dev} @jobwire/cli typescript @types/node tsx`,
    `  2. Describe your jobs in ${report.schema}, then generate the typed modules:`,
    `       ${runScript} codegen`,
    `  3. Write ${dir}worker.ts against ${out}/consumer (createJobsWorker) and`,
    `     ${dir}producer.ts against ${out}/producer (createJobsQueue, enqueue<JobName>);`,
    '     both need Redis (REDIS_URL, default 127.0.0.1:6379).',
    '  4. Compile and run with plain node, or run the sources with tsx:',
    `       ${exec} tsc && node dist/worker.js`,
    `       ${exec} tsx ${dir}worker.ts`,
    `  5. In CI, fail on stale generated files: ${runScript} codegen:check`,
  ].join('\n');
}
