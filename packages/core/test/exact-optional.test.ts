import { describe, expect, it } from 'vitest';
import { compileFixtures } from './helpers/compiled-fixtures.ts';

describe('options under exactOptionalPropertyTypes (compiled fixture)', () => {
  it('every option takes undefined as "not set", as `process.env.X` gives it', () => {
    const { inFile, text } = compileFixtures(['exact-optional.ts'], {
      exactOptionalPropertyTypes: true,
    });
    expect(inFile('exact-optional.ts').map(text)).toEqual([]);
  });
});
