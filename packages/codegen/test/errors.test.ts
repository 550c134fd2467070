/**
 * Every codegen error is one `file:line:col: error: …` (or `file: error: …`)
 * line with exit code 1 (2 for a bad command line), and never a stack trace.
 */
import { describe, expect, it } from 'vitest';
import { CodegenError } from '../src/errors.ts';
import { makeUserProject, USER_SCHEMA, type CliRun } from './user-project.ts';

/** The one line printed, checked to carry no stack frame. */
function oneError(r: CliRun, code = 1): string {
  expect(r.code).toBe(code);
  expect(r.out).toEqual([]);
  expect(r.err).toHaveLength(1);
  expect(r.err.join('\n')).not.toMatch(/^\s+at /m);
  return r.err[0]!;
}

describe('codegen errors', { timeout: 300_000 }, () => {
  const p = makeUserProject();
  p.write('jobs.schema.ts', USER_SCHEMA);

  it('an unknown flag: exit 2, the flag named', async () => {
    expect(oneError(await p.codegen('--bogus'), 2)).toBe(
      "jobwire codegen: error: unknown option '--bogus' (see jobwire codegen --help)",
    );
    expect(oneError(await p.codegen('extra'), 2)).toMatch(
      /^jobwire codegen: error: unexpected argument 'extra'/,
    );
  });

  it('a missing schema file', async () => {
    expect(oneError(await p.codegen('--schema', 'nope/jobs.schema.ts'))).toBe(
      'nope/jobs.schema.ts: error: schema file not found',
    );
  });

  it('a missing tsconfig named by --tsconfig', async () => {
    expect(oneError(await p.codegen('--tsconfig', 'tsconfig.app.json'))).toBe(
      'tsconfig.app.json: error: tsconfig file not found',
    );
  });

  it('a tsconfig with a syntax error, at its position', async () => {
    p.write(
      'broken.json',
      '{\n  "compilerOptions": {\n    "strict": true\n    "module": "NodeNext"\n  }\n}\n',
    );
    expect(oneError(await p.codegen('--tsconfig', 'broken.json'))).toMatch(
      /^broken\.json:4:5: error: cannot read tsconfig: ',' expected\.$/,
    );
  });

  it('a tsconfig whose extends target is missing, at the extends value', async () => {
    p.write('extends.json', '{\n  "extends": "./missing-base.json"\n}\n');
    expect(oneError(await p.codegen('--tsconfig', 'extends.json'))).toMatch(
      /^extends\.json:2:14: error: cannot read tsconfig: Cannot read file '.*\/missing-base\.json'\.$/,
    );
  });

  it('a jobwire.config.json with a JSON syntax error, at its position', async () => {
    p.write('bad.config.json', '{\n  "out": "gen",\n  "lock" "x.json"\n}\n');
    expect(oneError(await p.codegen('--config', 'bad.config.json'))).toMatch(
      /^bad\.config\.json:3:10: error: invalid JSON: ':' expected\.$/,
    );
  });

  it.each([
    [
      '{ "outDir": "gen" }',
      1,
      13,
      /unknown key "outDir" \(known: schema, out, lock, tsconfig, importExtension\)/,
    ],
    [
      '{\n  "importExtension": ".mjs"\n}',
      2,
      22,
      /"importExtension" must be "\.js", "\.ts" or ""/,
    ],
    ['{ "schema": 42 }', 1, 13, /"schema" must be a non-empty path string/],
    ['[]', undefined, undefined, /expected an object/],
  ])(
    'a jobwire.config.json with a wrong setting: %s',
    async (text, line, col, message) => {
      p.write('jobwire.config.json', text);
      const line0 = oneError(await p.codegen());
      const at =
        line === undefined
          ? 'jobwire.config.json'
          : `jobwire.config.json:${line}:${col}`;
      expect(line0.startsWith(`${at}: error: `)).toBe(true);
      expect(line0).toMatch(message);
      p.write('jobwire.config.json', '{}');
    },
  );

  it('a config named by --config that does not exist', async () => {
    expect(oneError(await p.codegen('--config', 'nope.json'))).toBe(
      'nope.json: error: config file not found',
    );
  });

  it('a schema that throws while it loads: the message and the line that threw', async () => {
    p.write(
      'throws.schema.ts',
      `${USER_SCHEMA}\nif (process.env.NODE_ENV !== 'never') {\n  throw new Error('DATABASE_URL is not set');\n}\n`,
    );
    const line = USER_SCHEMA.split('\n').length + 2;
    expect(oneError(await p.codegen('--schema', 'throws.schema.ts'))).toMatch(
      new RegExp(
        `^throws\\.schema\\.ts:${line}:\\d+: error: importing the schema file failed: DATABASE_URL is not set$`,
      ),
    );
  });

  it('an output directory that cannot be written, nothing half-written', async () => {
    p.write('not-a-dir', 'a file where a directory should be');
    const line = oneError(await p.codegen('--out', 'not-a-dir/generated'));
    expect(line).toMatch(
      /^not-a-dir\/generated: error: cannot write the generated files: ENOTDIR: not a directory/,
    );
  });

  it('a lock that is not JSON, at its position', async () => {
    p.write('broken.lock.json', '{ "jobs": {}, }}');
    expect(oneError(await p.codegen('--lock', 'broken.lock.json'))).toMatch(
      /^broken\.lock\.json:1:16: error: invalid JSON: /,
    );
  });

  it('a lock without jobs', async () => {
    p.write('empty.lock.json', '{}');
    expect(oneError(await p.codegen('--lock', 'empty.lock.json'))).toMatch(
      /^empty\.lock\.json: error: not a jobwire contract lock/,
    );
  });
});

describe('CodegenError.format', () => {
  it('prints a path under cwd relative to it, with or without a trailing slash', () => {
    const e = new CodegenError('bad', {
      file: '/repo/src/jobs.schema.ts',
      line: 3,
      column: 5,
    });
    expect(e.format('/repo')).toBe('src/jobs.schema.ts:3:5: error: bad');
    expect(e.format('/repo/')).toBe('src/jobs.schema.ts:3:5: error: bad');
    expect(e.format('/rep')).toBe('/repo/src/jobs.schema.ts:3:5: error: bad');
  });
});
