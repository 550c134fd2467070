import { describe, expect, it } from 'vitest';
import {
  compileFixtures,
  expectedDiagnostics,
} from './helpers/compiled-fixtures.ts';

// The compiler checks each upcaster from its version's parsed payload to
// the next version's input (issue 14). Same fixture scheme as types.test.ts.
describe('typed upcasters (compiled fixtures)', () => {
  const { inFile, lineOf, text } = compileFixtures([
    'upcast-valid.ts',
    'upcast-invalid.ts',
  ]);

  it('compiles correct chains cleanly', () => {
    expect(inFile('upcast-valid.ts').map(text)).toEqual([]);
  });

  const expected = expectedDiagnostics('upcast-invalid.ts');
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
