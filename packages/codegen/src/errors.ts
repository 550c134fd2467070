/** A codegen failure with the place in jobs.schema.ts it is about. */
export class CodegenError extends Error {
  constructor(
    message: string,
    readonly location?: { file: string; line: number; column: number },
  ) {
    super(message);
    this.name = 'CodegenError';
  }

  /** `file:line:col: message`, the form editors and CI logs link. */
  format(cwd: string): string {
    if (!this.location) return `error: ${this.message}`;
    const { file, line, column } = this.location;
    const rel = file.startsWith(cwd + '/') ? file.slice(cwd.length + 1) : file;
    return `${rel}:${line}:${column}: error: ${this.message}`;
  }
}
