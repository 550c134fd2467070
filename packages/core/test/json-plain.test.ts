/**
 * isPlainJson lets the producer skip assertJsonDepth and assertJsonSafe.
 * It may say false for a value they accept (they then run), never true for
 * one they refuse.
 */
import { describe, expect, it } from 'vitest';
import {
  assertJsonDepth,
  assertJsonSafe,
  isPlainJson,
  MAX_JSON_DEPTH,
} from '../src/contract/json.ts';

function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 2 === 0 ? { a: v } : [v];
  return v;
}

const accepted = (v: unknown): boolean => {
  try {
    assertJsonDepth(v, 'x');
    assertJsonSafe(v, 'x');
    return true;
  } catch {
    return false;
  }
};

const cycle: Record<string, unknown> = { a: 1 };
cycle['self'] = { back: cycle };
const holes = [1, , 3]; // eslint-disable-line no-sparse-arrays
const extraKey = Object.assign([1, 2], { deep: nested(MAX_JSON_DEPTH + 5) });
// A hole and a key beside the indices: as many own keys as the length.
const holeAndExtra = Object.assign([1, , 3], { x: 1 }); // eslint-disable-line no-sparse-arrays
class Point {
  x = 1;
}

const plain: [string, unknown][] = [
  ['a string', 'x'],
  ['null', null],
  [
    'a typical payload',
    { id: 'a', n: 1.5, ok: true, tags: ['a', 'b'], o: null },
  ],
  ['an undefined property', { a: undefined, b: 1 }],
  ['a null-prototype object', Object.assign(Object.create(null), { a: [1] })],
  ['an empty array and object', { a: [], b: {} }],
  ['nesting at the limit', nested(MAX_JSON_DEPTH)],
];

const notPlain: [string, unknown][] = [
  ['nesting past the limit', nested(MAX_JSON_DEPTH + 1)],
  ['a cycle', cycle],
  ['a hole', holes],
  ['a deep key beside the indices', extraKey],
  ['a hole and an extra key', holeAndExtra],
  ['undefined in an array', [1, undefined]],
  ['undefined at the root', undefined],
  ['NaN', { a: NaN }],
  ['Infinity', [Infinity]],
  ['a BigInt', { a: 1n }],
  ['a function', { f: () => 1 }],
  ['a symbol', { s: Symbol('s') }],
  ['a Date', { d: new Date(0) }],
  ['a Map', new Map()],
  ['a class instance', { p: new Point() }],
  ['a Buffer', Buffer.from('ab')],
];

describe('isPlainJson', () => {
  it.each(plain)('says true for %s, which both checks accept', (_, v) => {
    expect(isPlainJson(v)).toBe(true);
    expect(accepted(v)).toBe(true);
  });

  it.each(notPlain)('says false for %s', (_, v) => {
    expect(isPlainJson(v)).toBe(false);
  });

  it('never says true where a check throws', () => {
    for (const [, v] of [...plain, ...notPlain]) {
      if (isPlainJson(v)) expect(accepted(v)).toBe(true);
    }
  });
});
