import { ts } from 'ts-morph';

/** A place in a file; a file-level problem has no line. */
export interface ErrorLocation {
  file: string;
  line?: number;
  column?: number;
}

/**
 * A codegen failure with the file (and, when known, the line and column)
 * it is about: the schema, a config file, the lock, or the output dir.
 */
export class CodegenError extends Error {
  constructor(
    message: string,
    readonly location?: ErrorLocation,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CodegenError';
  }

  /**
   * `file:line:col: error: message` (or `file: error: message` without a
   * position), the form editors and CI logs link. Paths under `cwd` print
   * relative to it.
   */
  format(cwd: string): string {
    const at = this.where(cwd);
    return at === undefined
      ? `error: ${this.message}`
      : `${at}: error: ${this.message}`;
  }

  /** `file:line:col` (or `file`), relative to `cwd` when under it; undefined without a location. */
  where(cwd: string): string | undefined {
    if (!this.location) return undefined;
    const { file, line, column } = this.location;
    // `/repo/` and `/repo` are the same directory.
    const root = cwd.endsWith('/') ? cwd.slice(0, -1) : cwd;
    const rel = file.startsWith(root + '/')
      ? file.slice(root.length + 1)
      : file;
    return line === undefined ? rel : `${rel}:${line}:${column ?? 1}`;
  }
}

/**
 * A diagnostic as TypeScript prints it: its chain on separate lines,
 * each level indented, as `tsc` does; the detail that explains a failed
 * assignment is in the later lines. Continuation lines are indented so
 * the first stays the one `file:line:col: error:` line editors link.
 */
export function diagnosticText(d: ts.Diagnostic): string {
  const [head = '', ...rest] = ts
    .flattenDiagnosticMessageText(d.messageText, '\n')
    .split('\n');
  return [head, ...rest.map((line) => `  ${line}`)].join('\n');
}
