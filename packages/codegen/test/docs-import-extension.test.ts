/**
 * docs/codegen-and-contracts.md said codegen emits bare specifiers under
 * `moduleResolution: Bundler`; it emits `.js` there on purpose
 * (detectImportExtension), and bare ones only with `"importExtension": ""`.
 * The docs' sentence is held to what detectImportExtension returns.
 */
import { readFileSync } from 'node:fs';
import { ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { detectImportExtension } from '../src/tsconfig.ts';
import { repoRoot } from './helpers.ts';

const docs = readFileSync(
  `${repoRoot}docs/codegen-and-contracts.md`,
  'utf8',
).replace(/\s+/g, ' ');

const detect = (options: ts.CompilerOptions) =>
  detectImportExtension({ path: 'tsconfig.json', options }).extension;

describe('docs: the import specifiers codegen emits', () => {
  it('Bundler: `.js`, as the docs say', () => {
    expect(detect({ moduleResolution: ts.ModuleResolutionKind.Bundler })).toBe(
      '.js',
    );
    expect(docs).not.toMatch(/bare ones under `Bundler`/);
    expect(docs).toContain('and `.js` ones otherwise, under `Bundler` too');
  });

  it('`.ts` with allowImportingTsExtensions or rewriteRelativeImportExtensions, as the docs say', () => {
    expect(detect({ allowImportingTsExtensions: true })).toBe('.ts');
    expect(detect({ rewriteRelativeImportExtensions: true })).toBe('.ts');
    expect(docs).toContain(
      '`.ts` specifiers when your `tsconfig.json` sets `allowImportingTsExtensions` or `rewriteRelativeImportExtensions`',
    );
  });

  it('bare specifiers only through importExtension, as the docs say', () => {
    expect(docs).toContain(
      'For bare specifiers, set `"importExtension": ""` in `jobwire.config.json`',
    );
  });
});
