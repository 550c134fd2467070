import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { commonJsReason, type JobRegistry } from '@jobwire/core';
import { parse, type ParseError } from 'jsonc-parser';
import { tsImport } from 'tsx/esm/api';

/** A problem with what the user asked for: exit code 2, like commander's. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function isRegistry(value: unknown): value is JobRegistry {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'jobwire.registry'
  );
}

/** The settings file `jobwire codegen` reads; its `schema` is every command's default. */
const CONFIG_FILE = 'jobwire.config.json';

/** The keys codegen's reader knows, path keys first (config-file.test.ts checks they agree). */
const PATH_KEYS = ['schema', 'out', 'lock', 'tsconfig'] as const;
const OTHER_KEYS = ['importExtension', '$schema', '$comment'] as const;
const IMPORT_EXTENSIONS: readonly unknown[] = ['.js', '.ts', ''];

/**
 * jobwire.config.json read without TypeScript, when it is plainly valid:
 * JSON with comments, trailing commas and a BOM, an object of known keys,
 * each of the type codegen wants. Anything else is `undefined`, and
 * codegen's own reader decides (see configuredSchema). Returns the
 * `schema` as written, or `null` when the file has none.
 */
export function readConfigQuickly(text: string): string | null | undefined {
  const errors: ParseError[] = [];
  const value: unknown = parse(text.replace(/^\uFEFF/, ''), errors, {
    allowTrailingComma: true,
    disallowComments: false,
  });
  if (errors.length > 0) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return undefined;
  const known: readonly string[] = [...PATH_KEYS, ...OTHER_KEYS];
  for (const [key, v] of Object.entries(value)) {
    if (!known.includes(key)) return undefined;
    const isPath = (PATH_KEYS as readonly string[]).includes(key);
    if (isPath && (typeof v !== 'string' || v === '')) return undefined;
    if (key === 'importExtension' && !IMPORT_EXTENSIONS.includes(v))
      return undefined;
  }
  return (value as { schema?: string }).schema ?? null;
}

/**
 * The `schema` of the config file at `path`, absolute, or undefined when
 * it names none. A plainly valid file is read here (a command should not
 * load TypeScript for it); any other goes to codegen's reader, so the
 * commands and codegen take the same files and fail with the same words.
 */
async function configuredSchema(
  path: string,
  cwd: string,
): Promise<string | undefined> {
  const quick = readConfigQuickly(readFileSync(path, 'utf8'));
  if (quick === null) return undefined;
  // Relative to the config file's directory, as codegen reads it.
  if (quick !== undefined) return resolve(dirname(path), quick);
  const { readConfig, CodegenError } = await import('@jobwire/codegen');
  try {
    return readConfig(path, true).schema;
  } catch (err) {
    if (!(err instanceof CodegenError)) throw err;
    const at = err.where(cwd);
    throw new UsageError(
      `${at === undefined ? '' : `${at}: `}${err.message} (or pass --schema)`,
    );
  }
}

/**
 * The schema file a command loads, relative to `cwd`: --schema when given,
 * else the `schema` of ./jobwire.config.json (which `jobwire init` writes
 * and codegen reads), else jobs.schema.ts. `from` says which, for messages.
 */
export async function schemaFile(
  flag: string | undefined,
  cwd = process.cwd(),
): Promise<{ path: string; from?: string }> {
  if (flag !== undefined) return { path: resolve(cwd, flag) };
  const config = resolve(cwd, CONFIG_FILE);
  if (!existsSync(config)) return { path: resolve(cwd, 'jobs.schema.ts') };
  const schema = await configuredSchema(config, cwd);
  if (schema === undefined) return { path: resolve(cwd, 'jobs.schema.ts') };
  return { path: schema, from: CONFIG_FILE };
}

/**
 * Imports the schema file (through tsx's scoped loader, a dependency of this
 * package, so TypeScript works on plain Node) and returns the
 * export that is a job registry: the one made by `defineJobs`. `schema`
 * is the --schema flag; without it, jobwire.config.json says (see
 * schemaFile).
 */
export async function loadRegistry(
  schema: string | undefined,
  cwd = process.cwd(),
): Promise<JobRegistry> {
  const { path, from } = await schemaFile(schema, cwd);
  const name = relative(cwd, path) || path;
  if (!existsSync(path)) {
    throw new UsageError(
      `schema file not found: ${name}${from === undefined ? '' : ` (the "schema" of ${from})`}`,
    );
  }
  const commonJs = commonJsReason(path, cwd);
  if (commonJs !== undefined) {
    throw new UsageError(`cannot load the schema ${name}: ${commonJs}`);
  }
  const mod = (await tsImport(
    pathToFileURL(path).href,
    import.meta.url,
  )) as Record<string, unknown>;
  const found = Object.values(mod).filter(isRegistry);
  if (found.length === 0) {
    throw new UsageError(
      `${name} exports no job registry (export the result of defineJobs)`,
    );
  }
  if (found.length > 1 && new Set(found).size > 1) {
    throw new UsageError(
      `${name} exports ${found.length} job registries; keep one per schema file`,
    );
  }
  return found[0]!;
}
