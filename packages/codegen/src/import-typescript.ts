import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';

/**
 * Imports a TypeScript module, such as the user's jobs.schema.ts, from plain
 * Node. tsx is codegen's own dependency, so a user's project never needs it,
 * and the loader is scoped to this import instead of registered globally.
 */
export async function importTypeScript(
  file: string,
): Promise<Record<string, unknown>> {
  return (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<
    string,
    unknown
  >;
}
