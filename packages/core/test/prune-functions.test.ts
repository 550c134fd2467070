import { describe, expect, it } from 'vitest';
import { pruneUnusedFunctions } from '../src/redis/scripts/prune-functions.ts';
import { inlineIncludes } from '../src/redis/scripts/inline-includes.ts';
import { luaIncludes, luaSources } from '../src/redis/scripts/lua.generated.ts';

const lua = [
  '-- helpers',
  'local function used(a)',
  '  local function inner() return a end',
  '  return helper(a) + inner()',
  'end',
  '',
  'local function helper(a)',
  '  return a',
  'end',
  '',
  '-- onlyCalledByDead() is named in this comment only',
  'local function dead()',
  '  return onlyCalledByDead()',
  'end',
  '',
  'local function onlyCalledByDead()',
  '  if true then',
  '    return 1',
  '  end',
  'end',
  '',
  'return used(1)',
].join('\n');

describe('pruneUnusedFunctions', () => {
  it('drops unused helpers, and those only an unused one called', () => {
    const out = pruneUnusedFunctions(lua);
    expect(out).toMatch(/local function used\(/);
    expect(out).toMatch(/local function helper\(/);
    expect(out).not.toMatch(/local function dead\(/);
    // Called from dead() and named in a full-line comment: still pruned.
    expect(out).not.toMatch(/local function onlyCalledByDead\(/);
    // The nested function and its indented `end` stay inside used().
    expect(out).toMatch(/local function inner\(\) return a end/);
    expect(out.trimEnd().endsWith('return used(1)')).toBe(true);
  });

  it('keeps every helper a script names outside comments', () => {
    for (const [file, source] of Object.entries(luaSources)) {
      const full = inlineIncludes(source, luaIncludes);
      const pruned = pruneUnusedFunctions(full);
      const code = pruned
        .replace(/--\[\[[\s\S]*?\]\]/g, '')
        .replace(/^[ \t]*--.*$/gm, '');
      const defined = new Set(
        [...pruned.matchAll(/^local function (\w+)\(/gm)].map((m) => m[1]),
      );
      for (const m of full.matchAll(/^local function (\w+)\(/gm)) {
        const name = m[1]!;
        // A helper was dropped only if no code left names it.
        if (!defined.has(name)) {
          expect(code, `${file}: ${name}`).not.toMatch(
            new RegExp(`\\b${name}\\b`),
          );
        }
      }
    }
  });

  it('fails loudly on a helper with no closing end line', () => {
    expect(() =>
      pruneUnusedFunctions('local function broken()\n  return 1\n  end'),
    ).toThrow(/broken/);
  });
});
