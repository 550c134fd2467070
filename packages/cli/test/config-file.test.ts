/**
 * jobwire.config.json as every command reads it (without --schema): the
 * same file codegen reads with TypeScript's tolerant JSON parser, so
 * comments and trailing commas must work here too.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig as readCodegenConfig } from '../../codegen/src/config.ts';
import { schemaFile, UsageError } from '../src/registry.ts';

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

describe('jobwire.config.json', () => {
  it('with a comment and a trailing comma: the commands read its schema, as codegen does', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'jobwire.config.json'), JSONC);
    expect(schemaFile(undefined, dir)).toEqual({
      path: join(dir, 'src/jobs.schema.ts'),
      from: 'jobwire.config.json',
    });
    expect(
      readCodegenConfig(join(dir, 'jobwire.config.json'), true).schema,
    ).toBe(join(dir, 'src/jobs.schema.ts'));
  });

  it('broken: a usage error with the line and column', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'jobwire.config.json'),
      '{\n  "schema": "jobs.schema.ts"\n  "out": "generated"\n}\n',
    );
    expect(() => schemaFile(undefined, dir)).toThrow(UsageError);
    expect(() => schemaFile(undefined, dir)).toThrow(
      /^jobwire\.config\.json:3:3: invalid JSON: CommaExpected \(or pass --schema\)$/,
    );
  });
});
