import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  compileFixtures,
  expectedDiagnostics,
} from './helpers/compiled-fixtures.ts';

describe('type-level contract (compiled fixtures)', () => {
  // One program for both files keeps the compile to a few seconds.
  const { inFile, lineOf, text } = compileFixtures(['valid.ts', 'invalid.ts']);

  it('compiles correct usages cleanly', () => {
    const messages = inFile('valid.ts').map((d) =>
      ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    );
    expect(messages).toEqual([]);
  });

  const expected = expectedDiagnostics('invalid.ts');
  it('has a catalogue of wrong usages', () => {
    expect(expected.length).toBeGreaterThanOrEqual(14);
  });

  it.each(expected)('rejects $why (TS$code)', ({ line, code }) => {
    const found = inFile('invalid.ts').filter((d) => lineOf(d) === line + 1);
    expect(found.map((d) => d.code)).toContain(code);
  });

  it('reports no diagnostic outside the marked lines', () => {
    const marked = new Set(expected.map((m) => m.line + 1));
    const stray = inFile('invalid.ts')
      .filter((d) => !marked.has(lineOf(d)))
      .map(text);
    expect(stray).toEqual([]);
  });
});
