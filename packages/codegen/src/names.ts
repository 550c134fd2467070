/** `sendEmail` → `SendEmail`, `user.created` → `UserCreated`. */
export function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}

/** A module specifier from `fromDir` to `file`, keeping the `.ts` extension. */
export function relativeImport(
  fromDir: string,
  file: string,
  relative: (a: string, b: string) => string,
): string {
  const rel = relative(fromDir, file).split('\\').join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}
