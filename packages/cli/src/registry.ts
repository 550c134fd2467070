import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { JobRegistry } from '@jobwire/core';
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

/**
 * Imports the schema file (through tsx's scoped loader, a dependency of this
 * package, so TypeScript works on plain Node) and returns the
 * export that is a job registry: the one made by `defineJobs`.
 */
export async function loadRegistry(
  schema: string,
  cwd = process.cwd(),
): Promise<JobRegistry> {
  const path = resolve(cwd, schema);
  if (!existsSync(path)) {
    throw new UsageError(`schema file not found: ${path}`);
  }
  const mod = (await tsImport(
    pathToFileURL(path).href,
    import.meta.url,
  )) as Record<string, unknown>;
  const found = Object.values(mod).filter(isRegistry);
  if (found.length === 0) {
    throw new UsageError(
      `${schema} exports no job registry (export the result of defineJobs)`,
    );
  }
  if (found.length > 1 && new Set(found).size > 1) {
    throw new UsageError(
      `${schema} exports ${found.length} job registries; keep one per schema file`,
    );
  }
  return found[0]!;
}
