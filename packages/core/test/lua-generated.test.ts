import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatedFile, renderLuaModule } from '../scripts/gen-lua.ts';

describe('lua.generated.ts', () => {
  it('matches the .lua files (run pnpm gen:lua after editing a script)', async () => {
    expect(readFileSync(generatedFile, 'utf8')).toBe(await renderLuaModule());
  });
});
