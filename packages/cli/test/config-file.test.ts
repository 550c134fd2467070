/**
 * jobwire.config.json as every command reads it (without --schema) and as
 * codegen reads it: the same files, fed to both, must give the same schema
 * or the same error. The commands read a plainly valid file with a small
 * JSONC parser (loading TypeScript, as codegen's reader does, costs a
 * command about 0.6 s) and leave every other file to codegen's reader.
 * Before, they parsed it on their own: a file saved with a BOM, or empty,
 * or with single quotes failed every command while codegen took it, a
 * `"schema": 5` or an array passed the commands silently, and the errors
 * were worded differently.
 */
import { spawnSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig as readCodegenConfig } from '../../codegen/src/config.ts';
import { CodegenError } from '../../codegen/src/errors.ts';
import { readConfigQuickly, schemaFile, UsageError } from '../src/registry.ts';
import { jobwire } from './jobwire-bin.ts';

function tempDir(): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'jobwire-config-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const JSONC = `{
  // where the jobs are
  "schema": "src/jobs.schema.ts",
  /* generated modules */
  "out": "src/generated",
}
`;

/** Tricky config files: name, then content (undefined: no file). */
const FILES: readonly [string, string | undefined][] = [
  ['comments and a trailing comma', JSONC],
  ['a BOM', '\uFEFF{ "schema": "src/jobs.schema.ts" }'],
  ['no file', undefined],
  ['empty', ''],
  ['no schema', '{ "out": "generated" }'],
  [
    'every key',
    '{ "$schema": "x", "$comment": "c", "schema": "a.ts", "out": "o", "lock": "l.json", "tsconfig": "t.json", "importExtension": "" }',
  ],
  [
    'a missing comma',
    '{\n  "schema": "jobs.schema.ts"\n  "out": "generated"\n}\n',
  ],
  ['two values', '{ "schema": "a.ts" } {}'],
  ['single quotes', "{ 'schema': 'a.ts' }"],
  ['an unknown escape', '{ "schema": "a\\q.ts" }'],
  ['a number for the schema', '{\n  "schema": 5\n}'],
  ['an empty schema', '{ "schema": "" }'],
  ['a number for out', '{ "schema": "a.ts", "out": 5 }'],
  ['a bad importExtension', '{ "schema": "a.ts", "importExtension": ".mjs" }'],
  ['an unknown key', '{ "shema": "a.ts" }'],
  ['an array', '[]'],
  ['null', 'null'],
];

/** What the commands make of the file: the schema path, or the error. */
async function commands(dir: string): Promise<string> {
  try {
    return (await schemaFile(undefined, dir)).path;
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return `error: ${(err as Error).message}`;
  }
}

/** What codegen makes of it, in the same terms. */
function codegen(dir: string): string {
  try {
    const config = readCodegenConfig(join(dir, 'jobwire.config.json'), false);
    return config.schema ?? join(dir, 'jobs.schema.ts');
  } catch (err) {
    expect(err).toBeInstanceOf(CodegenError);
    const e = err as CodegenError;
    return `error: ${e.where(dir) ?? ''}: ${e.message} (or pass --schema)`;
  }
}

describe('jobwire.config.json: the commands and codegen agree', () => {
  it.each(FILES)('%s', async (_name, content) => {
    const dir = tempDir();
    if (content !== undefined)
      writeFileSync(join(dir, 'jobwire.config.json'), content);
    expect(await commands(dir)).toBe(codegen(dir));
  });

  it('the quick reader takes only what codegen takes, with the same schema', async () => {
    for (const [name, content] of FILES) {
      if (content === undefined) continue;
      const quick = readConfigQuickly(content);
      if (quick === undefined) continue;
      const dir = tempDir();
      writeFileSync(join(dir, 'jobwire.config.json'), content);
      const config = readCodegenConfig(join(dir, 'jobwire.config.json'), true);
      expect(config.schema, name).toBe(
        quick === null ? undefined : join(dir, quick),
      );
    }
  });

  it('spelled out: the schema of a commented file, and a broken file with its line and column', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'jobwire.config.json'), JSONC);
    expect(await schemaFile(undefined, dir)).toEqual({
      path: join(dir, 'src/jobs.schema.ts'),
      from: 'jobwire.config.json',
    });
    writeFileSync(
      join(dir, 'jobwire.config.json'),
      '{\n  "schema": "jobs.schema.ts"\n  "out": "generated"\n}\n',
    );
    await expect(schemaFile(undefined, dir)).rejects.toThrow(
      /^jobwire\.config\.json:3:3: invalid JSON: ',' expected\. \(or pass --schema\)$/,
    );
    writeFileSync(join(dir, 'jobwire.config.json'), '{\n  "schema": 5\n}');
    await expect(schemaFile(undefined, dir)).rejects.toThrow(
      /^jobwire\.config\.json:2:13: "schema" must be a non-empty path string \(or pass --schema\)$/,
    );
  });

  it('jobwire itself: a file only codegen takes, then one it refuses', () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    mkdirSync(join(here, '.tmp'), { recursive: true });
    const dir = mkdtempSync(join(here, '.tmp', 'config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const run = () =>
      spawnSync(process.execPath, [...jobwire(), 'stats'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 120_000,
      });
    writeFileSync(join(dir, 'jobwire.config.json'), "{ 'schema': 'nope.ts' }");
    const taken = run();
    expect(taken.stderr).toBe(
      'error: schema file not found: nope.ts (the "schema" of jobwire.config.json)\n',
    );
    expect(taken.status).toBe(2);
    writeFileSync(join(dir, 'jobwire.config.json'), '{\n  "schema": 5\n}');
    const refused = run();
    expect(refused.stderr).toBe(
      'error: jobwire.config.json:2:13: "schema" must be a non-empty path string (or pass --schema)\n',
    );
    expect(refused.status).toBe(2);
  });
});
