import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CodegenError } from './errors.ts';
import { readJsonFile } from './json-file.ts';

/** The file `jobwire codegen` reads its settings from, unless `--config` names another. */
export const CONFIG_FILE = 'jobwire.config.json';

/** How generated modules spell relative imports: `./producer.js`, `./producer.ts` or `./producer`. */
export type ImportExtension = '.js' | '.ts' | '';

const IMPORT_EXTENSIONS: readonly ImportExtension[] = ['.js', '.ts', ''];

/** jobwire.config.json, with its paths made absolute (relative to the file's directory). */
export interface FileConfig {
  schema?: string;
  out?: string;
  lock?: string;
  tsconfig?: string;
  importExtension?: ImportExtension;
}

const PATH_KEYS = ['schema', 'out', 'lock', 'tsconfig'] as const;

/**
 * Reads jobwire.config.json. A missing file is an empty config unless it
 * was named explicitly; every other problem (syntax, unknown key, wrong
 * type) fails with the place in the file.
 */
export function readConfig(path: string, explicit: boolean): FileConfig {
  if (!existsSync(path)) {
    if (!explicit) return {};
    throw new CodegenError('config file not found', { file: path });
  }
  const file = readJsonFile(path);
  if (
    typeof file.value !== 'object' ||
    file.value === null ||
    Array.isArray(file.value)
  ) {
    throw new CodegenError('expected an object', file.at());
  }
  const raw = file.value as Record<string, unknown>;
  const config: FileConfig = {};
  const base = dirname(path);
  for (const [key, value] of Object.entries(raw)) {
    if (key === '$schema' || key === '$comment') continue;
    if ((PATH_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'string' || value === '') {
        throw new CodegenError(
          `"${key}" must be a non-empty path string`,
          file.at(key),
        );
      }
      config[key as (typeof PATH_KEYS)[number]] = resolve(base, value);
    } else if (key === 'importExtension') {
      if (!IMPORT_EXTENSIONS.includes(value as ImportExtension)) {
        throw new CodegenError(
          '"importExtension" must be ".js", ".ts" or "" (no extension)',
          file.at(key),
        );
      }
      config.importExtension = value as ImportExtension;
    } else {
      throw new CodegenError(
        `unknown key "${key}" (known: ${[...PATH_KEYS, 'importExtension'].join(', ')})`,
        file.at(key),
      );
    }
  }
  return config;
}
