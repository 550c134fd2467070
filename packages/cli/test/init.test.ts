/**
 * `jobwire init`: starter schema, jobwire.config.json and package scripts;
 * it never overwrites a file or a script. Most cases call initProject on a
 * temp dir; one runs the real command for its printed report.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatInitReport,
  InitError,
  initProject,
  INIT_SCRIPTS,
} from '../src/init/index.ts';
import { STARTER_SCHEMA } from '../src/init/starter.ts';
import { jobwire } from './jobwire-bin.ts';

function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'jobwire-init-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const read = (dir: string, file: string) =>
  readFileSync(join(dir, file), 'utf8');
const json = (dir: string, file: string) =>
  JSON.parse(read(dir, file)) as Record<string, unknown>;

/** Content and mtime of each file, to prove a run wrote nothing. */
function snapshot(dir: string, files: string[]) {
  return files.map((f) => ({
    f,
    content: read(dir, f),
    mtimeMs: statSync(join(dir, f)).mtimeMs,
  }));
}

describe('jobwire init', { timeout: 120_000 }, () => {
  it('in a fresh dir: creates the schema, the config and a package.json with both scripts', () => {
    const dir = tempDir();
    const report = initProject(dir);
    expect(report.steps.map((s) => `${s.action} ${s.what}`)).toEqual([
      'created jobs.schema.ts',
      'created tsconfig.json',
      'created jobwire.config.json',
      'created package.json',
    ]);
    expect(json(dir, 'tsconfig.json')).toEqual({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        skipLibCheck: true,
        types: ['node'],
        rootDir: '.',
        outDir: 'dist',
      },
    });
    expect(read(dir, 'jobs.schema.ts')).toBe(STARTER_SCHEMA);
    expect(json(dir, 'jobwire.config.json')).toEqual({
      schema: 'jobs.schema.ts',
      out: 'generated',
      lock: 'jobs.lock.json',
      importExtension: '.js',
    });
    const pkg = json(dir, 'package.json');
    expect(pkg.type).toBe('module');
    expect(pkg.private).toBe(true);
    expect(pkg.scripts).toEqual(INIT_SCRIPTS);
  });

  it('re-run: keeps every file byte for byte and says so', () => {
    const dir = tempDir();
    initProject(dir);
    const files = [
      'jobs.schema.ts',
      'tsconfig.json',
      'jobwire.config.json',
      'package.json',
    ];
    writeFileSync(join(dir, 'jobs.schema.ts'), '// my own schema\n');
    const before = snapshot(dir, files);
    const report = initProject(dir);
    expect(report.steps.map((s) => `${s.action} ${s.what}`)).toEqual([
      'kept jobs.schema.ts',
      'kept tsconfig.json',
      'kept jobwire.config.json',
      'kept package.json script "codegen"',
      'kept package.json script "codegen:check"',
    ]);
    expect(snapshot(dir, files)).toEqual(before);
  });

  it('keeps existing scripts and the rest of package.json, adding only the missing script', () => {
    const dir = tempDir();
    const original = {
      name: 'shop',
      version: '1.2.3',
      type: 'module',
      scripts: { build: 'tsc', codegen: 'my-own-codegen' },
      dependencies: { zod: '^4.0.0' },
    };
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify(original, null, 4)}\n`,
    );
    const report = initProject(dir);
    expect(report.steps.slice(3)).toEqual([
      {
        action: 'kept',
        what: 'package.json script "codegen"',
        detail: '"my-own-codegen"',
      },
      {
        action: 'added',
        what: 'package.json script "codegen:check"',
        detail: '"jobwire codegen --check"',
      },
    ]);
    const text = read(dir, 'package.json');
    expect(JSON.parse(text)).toEqual({
      ...original,
      scripts: {
        ...original.scripts,
        'codegen:check': 'jobwire codegen --check',
      },
    });
    // The file keeps its 4-space indentation and final newline.
    expect(text).toMatch(/^\{\n {4}"name"/);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('puts the schema under src/ when the project has one, and reads the import extension from its tsconfig', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'package.json'), '{"name":"app"}');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'ESNext',
          moduleResolution: 'Bundler',
          allowImportingTsExtensions: true,
          noEmit: true,
        },
      }),
    );
    const report = initProject(dir);
    expect(report.steps[0]).toEqual({
      action: 'created',
      what: 'src/jobs.schema.ts',
    });
    // The project's tsconfig.json is its own: kept, and read.
    expect(report.steps[1]).toEqual({ action: 'kept', what: 'tsconfig.json' });
    expect(report.steps[2]?.detail).toMatch(
      /^importExtension "\.ts": .*tsconfig\.json sets allowImportingTsExtensions$/,
    );
    expect(json(dir, 'jobwire.config.json')).toEqual({
      schema: 'src/jobs.schema.ts',
      out: 'src/generated',
      lock: 'jobs.lock.json',
      importExtension: '.ts',
    });
  });

  it.each([
    {
      type: 'commonjs',
      detail:
        /^was "commonjs": jobwire's schema and generated modules are ES modules/,
    },
    {
      type: undefined,
      detail:
        /^it had no "type": jobwire's schema and generated modules are ES modules/,
    },
  ])(
    'a package.json as `npm init -y` writes it ("type": $type): sets "type": "module", keeps the rest',
    ({ type, detail }) => {
      const dir = tempDir();
      const original = {
        name: 'app',
        version: '1.0.0',
        main: 'index.js',
        scripts: { test: 'echo "Error: no test specified" && exit 1' },
        ...(type === undefined ? {} : { type }),
      };
      writeFileSync(
        join(dir, 'package.json'),
        `${JSON.stringify(original, null, 2)}\n`,
      );
      const report = initProject(dir);
      const set = report.steps.find((s) => s.action === 'set');
      expect(set?.what).toBe('package.json "type": "module"');
      expect(set?.detail).toMatch(detail);
      const pkg = json(dir, 'package.json');
      expect(pkg).toEqual({
        ...original,
        type: 'module',
        scripts: { ...original.scripts, ...INIT_SCRIPTS },
      });
      // Every key keeps its place; a new "type" goes last.
      expect(Object.keys(pkg)).toEqual([
        ...Object.keys(original),
        ...(type === undefined ? ['type'] : []),
      ]);
      expect(report.steps.map((s) => `${s.action} ${s.what}`)).toContain(
        'created tsconfig.json',
      );
    },
  );

  it.each([
    { type: undefined, file: 'index.js', what: 'package.json without "type"' },
    {
      type: 'commonjs',
      file: 'lib/util.js',
      what: 'package.json "type": "commonjs"',
    },
  ])(
    'an existing CommonJS app ("type": $type, $file): leaves "type" alone and says what to do',
    ({ type, file, what }) => {
      const dir = tempDir();
      const original = {
        name: 'app',
        version: '1.0.0',
        main: 'index.js',
        ...(type === undefined ? {} : { type }),
      };
      writeFileSync(
        join(dir, 'package.json'),
        `${JSON.stringify(original, null, 2)}\n`,
      );
      mkdirSync(join(dir, 'lib'));
      writeFileSync(
        join(dir, file),
        "const fs = require('node:fs');\nmodule.exports = fs;\n",
      );
      // node_modules and a nested package do not count; the app's file does.
      const report = initProject(dir);
      expect(report.steps.some((s) => s.action === 'set')).toBe(false);
      const left = report.steps.find((s) => s.action === 'left');
      expect(left?.what).toBe(what);
      expect(left?.detail).toContain(`${file} may be CommonJS`);
      expect(left?.detail).toContain('set "type": "module" yourself');
      expect(formatInitReport(report)).toContain(`  left    ${what} (`);
      const pkg = json(dir, 'package.json');
      expect(pkg.type).toBe(type);
      expect(pkg).toEqual({ ...original, scripts: { ...INIT_SCRIPTS } });
    },
  );

  it('.js files in node_modules, dot-directories or a nested package do not keep "type" from being set', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'app', main: 'index.js' }, null, 2)}\n`,
    );
    for (const sub of ['node_modules/dep', '.cache', 'packages/other']) {
      mkdirSync(join(dir, sub), { recursive: true });
      writeFileSync(join(dir, sub, 'index.js'), 'module.exports = 1;\n');
    }
    writeFileSync(join(dir, 'packages/other/package.json'), '{}\n');
    initProject(dir);
    expect(json(dir, 'package.json').type).toBe('module');
  });

  it('a src/ project gets a tsconfig.json rooted there; a second run keeps it', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'src'));
    initProject(dir);
    expect(json(dir, 'tsconfig.json')).toMatchObject({
      compilerOptions: { rootDir: 'src', outDir: 'dist' },
      include: ['src'],
    });
    writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": {} }\n');
    const report = initProject(dir);
    expect(report.steps[1]).toEqual({ action: 'kept', what: 'tsconfig.json' });
    expect(read(dir, 'tsconfig.json')).toBe('{ "compilerOptions": {} }\n');
  });

  it('refuses a broken package.json before writing anything', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), '{\n  "name": "x",\n}\n');
    expect(() => initProject(dir)).toThrow(InitError);
    expect(() => initProject(dir)).toThrow(
      /^package\.json:3:1: error: invalid JSON: /,
    );
    expect(existsSync(join(dir, 'jobs.schema.ts'))).toBe(false);
    expect(existsSync(join(dir, 'jobwire.config.json'))).toBe(false);
  });

  it('the command prints each file as created or kept, then the next steps (pnpm detected)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pnpm-lock.yaml'), 'lockfileVersion: 9.0\n');
    const run = () =>
      spawnSync(process.execPath, [...jobwire(), 'init'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, npm_config_user_agent: '' },
      });
    const first = run();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('  created jobs.schema.ts\n');
    expect(first.stdout).toContain('  created package.json');
    expect(first.stdout).toContain('Next steps:');
    expect(first.stdout).toContain('pnpm add @jobwire/core zod');
    expect(first.stdout).toContain('pnpm codegen');
    const second = run();
    expect(second.status).toBe(0);
    expect(second.stdout).toContain('  kept    jobs.schema.ts\n');
    expect(second.stdout).toContain('  kept    jobwire.config.json\n');
  });

  it('formats npm next steps by default', () => {
    const text = formatInitReport({
      steps: [{ action: 'created', what: 'jobs.schema.ts' }],
      schema: 'jobs.schema.ts',
      out: 'generated',
      packageManager: 'npm',
    });
    expect(text).toContain('npm install @jobwire/core zod');
    expect(text).toContain(
      'npm install --save-dev @jobwire/cli typescript @types/node tsx',
    );
    expect(text).toContain('npx tsc && node dist/worker.js');
    expect(text).toContain('npx tsx worker.ts');
    expect(text).toContain('npm run codegen:check');
  });
});
