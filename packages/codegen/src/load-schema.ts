import { findSourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { JobRegistry } from '@jobwire/core';
import { tsImport } from 'tsx/esm/api';
import { CodegenError, type ErrorLocation } from './errors.ts';

interface Frame {
  file: string;
  line: number;
  column: number;
}

/**
 * The error's stack as raw positions in the code that ran, read through
 * V8's call sites; undefined when the stack was already formatted (then
 * only its text is left).
 */
function rawFrames(err: Error): Frame[] | undefined {
  let frames: Frame[] | undefined;
  const original = Error.prepareStackTrace;
  Error.prepareStackTrace = (e: Error, sites: NodeJS.CallSite[]) => {
    frames = sites.flatMap((site) => {
      const file = site.getFileName();
      const line = site.getLineNumber();
      const column = site.getColumnNumber();
      return file && line !== null && column !== null
        ? [{ file, line, column }]
        : [];
    });
    // Keep a readable stack for JOBWIRE_DEBUG.
    return [String(e), ...sites.map((s) => `    at ${String(s)}`)].join('\n');
  };
  try {
    void err.stack;
  } finally {
    Error.prepareStackTrace = original;
  }
  return frames;
}

/** Frames parsed from a formatted stack: `at fn (file:line:col)` or `at file:line:col`. */
function textFrames(stack: string): Frame[] {
  return stack.split('\n').flatMap((line) => {
    const m = /\(?((?:file:\/\/)?[^\s()]+):(\d+):(\d+)\)?\s*$/.exec(line);
    return m ? [{ file: m[1]!, line: Number(m[2]), column: Number(m[3]) }] : [];
  });
}

/** A stack frame's file as a path, without tsx's `?tsx-namespace=…` query. */
function framePath(file: string): string {
  const bare = file.replace(/\?.*$/, '');
  return bare.startsWith('file://') ? fileURLToPath(bare) : bare;
}

/**
 * The place in the schema file an exception came from: the first stack
 * frame in the schema, mapped through the source map tsx attached (the
 * raw position is in the transpiled code); the file's start when the
 * stack does not pass through the schema.
 */
export function throwSite(err: unknown, schemaPath: string): ErrorLocation {
  if (!(err instanceof Error)) return { file: schemaPath, line: 1, column: 1 };
  const raw = rawFrames(err);
  const frames = raw ?? textFrames(err.stack ?? '');
  const frame = frames.find((f) => framePath(f.file) === schemaPath);
  if (!frame) return { file: schemaPath, line: 1, column: 1 };
  if (raw) {
    const entry = findSourceMap(frame.file)?.findEntry(
      frame.line - 1,
      frame.column - 1,
    );
    if (entry && 'originalLine' in entry) {
      return {
        file: schemaPath,
        line: entry.originalLine + 1,
        column: entry.originalColumn + 1,
      };
    }
  }
  return { file: schemaPath, line: frame.line, column: frame.column };
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
