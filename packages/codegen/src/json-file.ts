import { readFileSync } from 'node:fs';
import { ts } from 'ts-morph';
import { CodegenError, type ErrorLocation } from './errors.ts';

/** A parsed JSON file that can point at the place of each of its values. */
export interface JsonFile {
  path: string;
  value: unknown;
  /** Where a top-level property's value starts (the file itself if absent). */
  at(key?: string): ErrorLocation;
}

function position(
  sf: ts.SourceFile,
  pos: number,
): { line: number; column: number } {
  const { line, character } = sf.getLineAndCharacterOfPosition(pos);
  return { line: line + 1, column: character + 1 };
}

/**
 * Reads a JSON file, failing with `file:line:col` on a syntax error.
 * TypeScript's JSON parser finds the position (JSON.parse's message has
 * none on some Node versions); like tsconfig.json, comments and trailing
 * commas are accepted.
 */
export function readJsonFile(path: string): JsonFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CodegenError(`cannot read: ${(err as Error).message}`, {
      file: path,
    });
  }
  const sf = ts.parseJsonText(path, text);
  const diagnostics = (
    sf as unknown as { parseDiagnostics: readonly ts.Diagnostic[] }
  ).parseDiagnostics;
  const first = diagnostics[0];
  if (first) {
    throw new CodegenError(
      `invalid JSON: ${ts.flattenDiagnosticMessageText(first.messageText, ' ')}`,
      { file: path, ...position(sf, first.start ?? 0) },
    );
  }
  const errors: ts.Diagnostic[] = [];
  const value: unknown = ts.convertToObject(sf, errors);
  const root = sf.statements[0]?.expression;
  return {
    path,
    value,
    at(key) {
      if (key === undefined || !root || !ts.isObjectLiteralExpression(root))
        return { file: path };
      const prop = root.properties.find(
        (p) =>
          ts.isPropertyAssignment(p) &&
          ts.isStringLiteral(p.name) &&
          p.name.text === key,
      );
      if (!prop || !ts.isPropertyAssignment(prop)) return { file: path };
      return {
        file: path,
        ...position(sf, prop.initializer.getStart(sf)),
      };
    },
  };
}
