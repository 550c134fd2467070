import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The compiler checks each upcaster from its version's parsed payload to
// the next version's input (issue 14). Same fixture scheme as types.test.ts.
const fixtures = new URL('./fixtures/types/', import.meta.url);
const root = fileURLToPath(new URL('../../../', import.meta.url));

function compile(files: string[]): ts.Diagnostic[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.json`,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!config) throw new Error('cannot read tsconfig.json');
  const program = ts.createProgram(
    files.map((f) => fileURLToPath(new URL(f, fixtures))),
    { ...config.options, noEmit: true },
  );
  return [...ts.getPreEmitDiagnostics(program)];
}

/** `// @expect TS<code> <why>` markers: the next line must fail with code. */
function markers(file: string): { line: number; code: number; why: string }[] {
  const lines = readFileSync(new URL(file, fixtures), 'utf8').split('\n');
  const out: { line: number; code: number; why: string }[] = [];
  lines.forEach((text, i) => {
    const m = /\/\/ @expect TS(\d+) (.*)$/.exec(text);
    if (m) out.push({ line: i + 1, code: Number(m[1]), why: m[2]! });
  });
  return out;
}

describe('typed upcasters (compiled fixtures)', () => {
  const diagnostics = compile(['upcast-valid.ts', 'upcast-invalid.ts']);
  const inFile = (name: string) =>
    diagnostics.filter((d) =>
      d.file?.fileName.endsWith(`/fixtures/types/${name}`),
    );
  const lineOf = (d: ts.Diagnostic) =>
    d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1;
  const text = (d: ts.Diagnostic) =>
    `${lineOf(d)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;

  it('compiles correct chains cleanly', () => {
    expect(inFile('upcast-valid.ts').map(text)).toEqual([]);
  });

  const expected = markers('upcast-invalid.ts');
  it('has a catalogue of wrong upcasters', () => {
    expect(expected.length).toBeGreaterThanOrEqual(6);
  });

  it.each(expected)('rejects $why (TS$code)', ({ line, code }) => {
    const found = inFile('upcast-invalid.ts').filter(
      (d) => lineOf(d) === line + 1,
    );
    expect(found.map((d) => d.code)).toContain(code);
  });

  it('reports no diagnostic outside the marked lines', () => {
    const marked = new Set(expected.map((m) => m.line + 1));
    const stray = inFile('upcast-invalid.ts')
      .filter((d) => !marked.has(lineOf(d)))
      .map(text);
    expect(stray).toEqual([]);
  });
});
