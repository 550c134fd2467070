import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaults } from '../src/defaults.ts';

describe('defaults', () => {
  it('match the settings block of docs/settings.md', () => {
    const page = readFileSync(
      new URL('../../../docs/settings.md', import.meta.url),
      'utf8',
    );
    const section = page.slice(page.indexOf('## Defaults'));
    const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
    const documented = Object.fromEntries(
      block
        .trim()
        .split('\n')
        .map((line) => {
          const at = line.indexOf(': ');
          return [line.slice(0, at), JSON.parse(line.slice(at + 2)) as unknown];
        }),
    );
    expect(documented).toEqual(JSON.parse(JSON.stringify(defaults)));
  });
});
