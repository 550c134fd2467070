/**
 * docs/guarantees.md and docs/reliability.md name the test that proves each
 * clause, as `file.test.ts` › "test name". This keeps those names true: each
 * named file exists and holds a test of that name, so renaming or deleting a
 * test fails here until the docs follow.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Where a page's short paths are relative to. */
const bases: Record<string, string[]> = {
  'docs/guarantees.md': ['packages'],
  'docs/reliability.md': ['packages/core/test/faults'],
};

interface Reference {
  page: string;
  file: string;
  name: string;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ');

function referencesOf(page: string): Reference[] {
  const text = oneLine(readFileSync(join(root, page), 'utf8'));
  const found: Reference[] = [];
  const pattern = /`([\w./-]+\.test\.ts)` › ((?:"[^"]*"(?:,? (?:and )?)?)+)/g;
  for (const m of text.matchAll(pattern)) {
    for (const n of m[2]!.matchAll(/"([^"]*)"/g)) {
      found.push({ page, file: m[1]!, name: n[1]! });
    }
  }
  return found;
}

function resolveTestFile(page: string, file: string): string | undefined {
  return (bases[page] ?? [])
    .map((base) => join(root, base, file))
    .find((path) => existsSync(path));
}

const references = Object.keys(bases).flatMap(referencesOf);

describe('tests named by docs/guarantees.md and docs/reliability.md', () => {
  it('finds the references', () => {
    expect(
      references.filter((r) => r.page === 'docs/guarantees.md').length,
    ).toBeGreaterThanOrEqual(40);
    expect(
      references.filter((r) => r.page === 'docs/reliability.md').length,
    ).toBeGreaterThanOrEqual(24);
  });

  it.each(references.map((r) => [`${r.file} › ${r.name}`, r] as const))(
    '%s exists',
    (_label, ref) => {
      const path = resolveTestFile(ref.page, ref.file);
      expect(path, `${ref.file} named by ${ref.page}`).toBeDefined();
      const source = oneLine(readFileSync(path!, 'utf8'));
      // "S01 …" names a test by the start of its name.
      const name = ref.name.endsWith(' …') ? ref.name.slice(0, -2) : ref.name;
      expect(source, `${ref.page} names a missing test`).toContain(name);
    },
  );
});
