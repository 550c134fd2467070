import { describe, expect, it } from 'vitest';
import {
  compileFixtures,
  expectedDiagnostics,
} from './helpers/compiled-fixtures.ts';

// Flow rules are typed from the payload's parsed type (issue 16): a key
// function is checked against it. Same fixture scheme as types.test.ts.
describe('typed flow rules (compiled fixtures)', () => {
  const { inFile, lineOf, text } = compileFixtures([
    'flow-valid.ts',
    'flow-invalid.ts',
  ]);

  it('compiles correct declarations cleanly', () => {
    expect(inFile('flow-valid.ts').map(text)).toEqual([]);
  });

  const expected = expectedDiagnostics('flow-invalid.ts');
  it('has a catalogue of wrong declarations', () => {
    expect(expected.length).toBeGreaterThanOrEqual(7);
  });

  it.each(expected)('rejects $why (TS$code)', ({ line, code }) => {
    const found = inFile('flow-invalid.ts').filter(
      (d) => lineOf(d) === line + 1,
    );
    expect(found.map((d) => d.code)).toContain(code);
  });

  it('reports no diagnostic outside the marked lines', () => {
    const marked = new Set(expected.map((m) => m.line + 1));
    const stray = inFile('flow-invalid.ts')
      .filter((d) => !marked.has(lineOf(d)))
      .map(text);
    expect(stray).toEqual([]);
  });
});
