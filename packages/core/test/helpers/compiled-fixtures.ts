import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const fixtures = new URL('../fixtures/types/', import.meta.url);
const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** A marker `// @expect TS<code> <why>`: the line after `line` must fail with `code`. */
export interface ExpectedDiagnostic {
  line: number;
  code: number;
  why: string;
}

/**
 * Compiles fixtures of `fixtures/types/` in one program under the
 * repository's tsconfig (with `overrides`), and answers questions about
 * the diagnostics.
 */
export function compileFixtures(
  files: string[],
  overrides: ts.CompilerOptions = {},
) {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.json`,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!config) throw new Error('cannot read tsconfig.json');
  const program = ts.createProgram(
    files.map((f) => fileURLToPath(new URL(f, fixtures))),
    { ...config.options, ...overrides, noEmit: true },
  );
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  const lineOf = (d: ts.Diagnostic) =>
    d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1;
  return {
    /** The diagnostics of one fixture file. */
    inFile: (name: string) =>
      diagnostics.filter((d) =>
        d.file?.fileName.endsWith(`/fixtures/types/${name}`),
      ),
    lineOf,
    /** `line: message`, on one line. */
    text: (d: ts.Diagnostic) =>
      `${lineOf(d)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
  };
}

/** Reads a fixture's `// @expect TS<code> <why>` markers. */
export function expectedDiagnostics(file: string): ExpectedDiagnostic[] {
  const lines = readFileSync(new URL(file, fixtures), 'utf8').split('\n');
  const out: ExpectedDiagnostic[] = [];
  lines.forEach((text, i) => {
    const m = /\/\/ @expect TS(\d+) (.*)$/.exec(text);
    if (m) out.push({ line: i + 1, code: Number(m[1]), why: m[2]! });
  });
  return out;
}
