import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { commonJsReason, type JobRegistry } from '@jobwire/core';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
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

/**
 * Parses jobwire.config.json as codegen does (TypeScript's JSON parser,
 * like tsconfig.json): comments and trailing commas are accepted. A small
 * JSONC parser does it here, so commands do not load TypeScript.
 */
export function readConfig(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, {
    allowTrailingComma: true,
    disallowComments: false,
  });
  const first = errors[0];
  if (first !== undefined) {
    const before = text.slice(0, first.offset).split('\n');
    const line = before.length;
    const column = before[before.length - 1]!.length + 1;
    throw new UsageError(
      `${CONFIG_FILE}:${line}:${column}: invalid JSON: ${printParseErrorCode(first.error)} (or pass --schema)`,
    );
  }
  return value;
}

/**
 * The schema file a command loads, relative to `cwd`: --schema when given,
 * else the `schema` of ./jobwire.config.json (which `jobwire init` writes
 * and codegen reads), else jobs.schema.ts. `from` says which, for messages.
 */
export function schemaFile(
  flag: string | undefined,
  cwd = process.cwd(),
): { path: string; from?: string } {
  if (flag !== undefined) return { path: resolve(cwd, flag) };
  const config = resolve(cwd, CONFIG_FILE);
  if (!existsSync(config)) return { path: resolve(cwd, 'jobs.schema.ts') };
  const value = readConfig(config);
  const schema = (value as { schema?: unknown } | null)?.schema;
  if (schema === undefined) return { path: resolve(cwd, 'jobs.schema.ts') };
  if (typeof schema !== 'string' || schema === '') {
    throw new UsageError(
      `${CONFIG_FILE}: "schema" must be a non-empty path string (or pass --schema)`,
    );
  }
  // Relative to the config file's directory, as codegen reads it.
  return { path: resolve(dirname(config), schema), from: CONFIG_FILE };
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
  const { path, from } = schemaFile(schema, cwd);
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
