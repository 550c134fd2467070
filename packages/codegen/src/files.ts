import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes every file or none: all contents go to temp files first, and only
 * then are they renamed over the targets (rename is atomic per file), so a
 * failure while writing leaves no half-written output.
 */
export function writeAllOrNothing(
  files: ReadonlyMap<string, string>,
): string[] {
  const temps: [string, string][] = [];
  try {
    for (const [path, content] of files) {
      mkdirSync(dirname(path), { recursive: true });
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, content);
      temps.push([temp, path]);
    }
  } catch (err) {
    for (const [temp] of temps) rmSync(temp, { force: true });
    throw err;
  }
  const changed: string[] = [];
  for (const [temp, path] of temps) {
    const before = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (before === files.get(path)) {
      // Unchanged: keep the old file and its mtime, so watchers stay quiet.
      rmSync(temp, { force: true });
      continue;
    }
    renameSync(temp, path);
    changed.push(path);
  }
  return changed;
}

/** The files whose content on disk differs from what codegen would write. */
export function staleFiles(files: ReadonlyMap<string, string>): string[] {
  return [...files]
    .filter(
      ([path, content]) =>
        !existsSync(path) || readFileSync(path, 'utf8') !== content,
    )
    .map(([path]) => path);
}
