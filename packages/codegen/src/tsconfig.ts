import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ts } from 'ts-morph';
import type { ImportExtension } from './config.ts';
import { CodegenError, diagnosticText, type ErrorLocation } from './errors.ts';
import { readJsonFile } from './json-file.ts';

/** The compiler settings the schema file is checked with. */
export interface TsSettings {
  /** The tsconfig.json read, or undefined when there is none. */
  path: string | undefined;
  options: ts.CompilerOptions;
}

/**
 * Settings for a project without a tsconfig.json: permissive about how
 * the schema spells its own imports (`./x.js`, `./x.ts` or `./x`), strict
 * about types, and never emitting.
 */
export const DEFAULT_COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  skipLibCheck: true,
  esModuleInterop: true,
  resolveJsonModule: true,
  allowImportingTsExtensions: true,
  noEmit: true,
};

/**
 * Problems that keep the tsconfig from being read at all: a missing or
 * unreadable `extends` target, circular `extends`. Other complaints (an
 * option this TypeScript does not know, a deprecation, "no inputs") are
 * left to the user's own tsc, so a newer or older TypeScript in the user's
 * project does not stop codegen.
 */
const FATAL_CONFIG_CODES = new Set([5083, 6053, 18000, 18001]);

function locate(d: ts.Diagnostic, fallback: string): ErrorLocation {
  if (!d.file || d.start === undefined) return { file: fallback };
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return { file: d.file.fileName, line: line + 1, column: character + 1 };
}

const message = (d: ts.Diagnostic) => diagnosticText(d);

/**
 * The tsconfig.json to use: the one named (which must exist), else the
 * nearest one above the schema file (as editors pick it), else none.
 */
export function findTsconfig(
  explicit: string | undefined,
  schemaPath: string,
): string | undefined {
  if (explicit !== undefined) {
    if (!existsSync(explicit))
      throw new CodegenError('tsconfig file not found', { file: explicit });
    return explicit;
  }
  return ts.findConfigFile(dirname(schemaPath), (f) => ts.sys.fileExists(f));
}

/** Reads a tsconfig.json, following `extends`; fails with the place of a syntax error or a broken `extends`. */
export function readTsSettings(path: string | undefined): TsSettings {
  if (path === undefined)
    return { path, options: { ...DEFAULT_COMPILER_OPTIONS } };
  const read = ts.readConfigFile(path, (f) => ts.sys.readFile(f));
  if (read.error) {
    throw new CodegenError(
      `cannot read tsconfig: ${message(read.error)}`,
      locate(read.error, path),
    );
  }
  const parsed = ts.parseJsonConfigFileContent(
    read.config,
    ts.sys,
    dirname(resolve(path)),
    undefined,
    path,
  );
  const fatal = parsed.errors.find((e) => FATAL_CONFIG_CODES.has(e.code));
  if (fatal) {
    // An unreadable `extends` target comes without a position: point at
    // the `extends` value itself.
    const at = fatal.file
      ? locate(fatal, path)
      : readJsonFile(path).at('extends');
    throw new CodegenError(`cannot read tsconfig: ${message(fatal)}`, at);
  }
  return { path, options: parsed.options };
}

/**
 * The import extension the user's compiler settings accept: `.ts` where
 * `.ts` specifiers are allowed, otherwise `.js`, which NodeNext and Node16
 * require and Bundler and the older resolutions accept as well.
 */
export function detectImportExtension(settings: TsSettings): {
  extension: ImportExtension;
  reason: string;
} {
  const where = settings.path ?? 'no tsconfig.json';
  const o = settings.options;
  if (settings.path !== undefined && o.allowImportingTsExtensions === true)
    return {
      extension: '.ts',
      reason: `${where} sets allowImportingTsExtensions`,
    };
  if (o.rewriteRelativeImportExtensions === true)
    return {
      extension: '.ts',
      reason: `${where} sets rewriteRelativeImportExtensions`,
    };
  const resolution =
    o.moduleResolution === undefined
      ? 'the default module resolution'
      : `moduleResolution ${ts.ModuleResolutionKind[o.moduleResolution]}`;
  return {
    extension: '.js',
    reason:
      settings.path === undefined
        ? 'no tsconfig.json found; .js specifiers work under NodeNext and bundlers'
        : `${where} uses ${resolution}`,
  };
}
