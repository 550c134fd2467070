import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JobRegistry } from '@jobwire/core';
import { tsImport } from 'tsx/esm/api';
import { CodegenError, type ErrorLocation } from './errors.ts';

/**
 * The place in the schema file an exception came from, read from its
 * stack (tsx maps it back to the TypeScript source); the file's start
 * when the stack does not pass through the schema.
 */
export function throwSite(err: unknown, schemaPath: string): ErrorLocation {
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  const url = pathToFileURL(schemaPath).href;
  for (const frame of stack.split('\n')) {
    // `at fn (file:///p/jobs.schema.ts?tsx-namespace=…:12:9)` or without the fn.
    const m =
      /\(?((?:file:\/\/)?[^\s()]+?)(?:\?[^\s():]*)?:(\d+):(\d+)\)?\s*$/.exec(
        frame,
      );
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (file === schemaPath || m[1] === url)
      return { file: schemaPath, line: Number(m[2]), column: Number(m[3]) };
  }
  return { file: schemaPath, line: 1, column: 1 };
}

/**
 * Imports a TypeScript module with codegen's own loader (tsx), so neither
 * the user's project nor the process running codegen needs one. Each call
 * loads the module afresh.
 */
export async function importTypeScript(
  path: string,
  tsconfig: string | undefined,
): Promise<Record<string, unknown>> {
  // Stack traces then point into the TypeScript source (tsx inlines a
  // source map), so a throw in the schema is reported at its line.
  process.setSourceMapsEnabled(true);
  return (await tsImport(pathToFileURL(path).href, {
    parentURL: import.meta.url,
    tsconfig: tsconfig ?? false,
  })) as Record<string, unknown>;
}

/** Imports the schema file and returns its `exportName` export, which must be a registry. */
export async function loadRegistry(
  schemaPath: string,
  exportName: string,
  tsconfig: string | undefined,
): Promise<JobRegistry> {
  let mod: Record<string, unknown>;
  try {
    mod = await importTypeScript(schemaPath, tsconfig);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    throw new CodegenError(
      `importing the schema file failed: ${text}`,
      throwSite(err, schemaPath),
      { cause: err },
    );
  }
  const registry = mod[exportName] as JobRegistry | undefined;
  if (registry?.kind !== 'jobwire.registry') {
    throw new CodegenError(
      `export "${exportName}" is not a defineJobs(...) registry`,
      { file: schemaPath, line: 1, column: 1 },
    );
  }
  return registry;
}
