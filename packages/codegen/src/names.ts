import { relative } from 'node:path';
import type { ImportExtension } from './config.ts';

/** `sendEmail` → `SendEmail`, `user.created` → `UserCreated`. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/**
 * The identifiers the generated modules declare for one job type:
 * `sendEmail` → `enqueueSendEmail`, `enqueueSendEmailBulk`, … Two job types
 * whose lists overlap (`send-email` and `sendEmail`; `x` and `xBulk`, both
 * giving `enqueueXBulk`) would declare a name twice.
 */
export function generatedIdentifiers(name: string): string[] {
  const P = pascal(name);
  return [
    `enqueue${P}`,
    `${P}Payload`,
    `${P}Handler`,
    `enqueue${P}Bulk`,
    `watch${P}Progress`,
    `${P}Result`,
    `${P}Progress`,
  ];
}

/**
 * A module specifier from `fromDir` to `file`, with the file's TypeScript
 * extension spelled as the user's module settings need: `.ts` kept, `.js`
 * (`.mjs`, `.cjs` for `.mts`, `.cts`), or none.
 */
export function relativeImport(
  fromDir: string,
  file: string,
  extension: ImportExtension,
): string {
  const rel = relative(fromDir, file).split('\\').join('/');
  const spec = rel.startsWith('.') ? rel : `./${rel}`;
  return withExtension(spec, extension);
}

/** `spec` (ending in .ts, .mts, .cts or .tsx) with its extension replaced per `extension`. */
export function withExtension(
  spec: string,
  extension: ImportExtension,
): string {
  const m = /\.([mc]?)tsx?$/.exec(spec);
  if (!m || extension === '.ts') return spec;
  const stem = spec.slice(0, m.index);
  if (extension === '') return stem;
  return `${stem}.${m[1] ?? ''}js`;
}
