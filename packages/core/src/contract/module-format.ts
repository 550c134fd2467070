import { existsSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';

/**
 * Why `file` would load as CommonJS, as Node decides it (the extension,
 * else the `"type"` of the nearest package.json); undefined when it is an
 * ES module. jobwire's schema and the modules codegen writes are ES
 * modules: loaded as CommonJS, the schema gets a second copy of
 * @jobwire/core and its Redis client next to the one the CLI already
 * runs, and the copy fails ("Cannot redefine property: default"); the
 * generated producer awaits at top level, which CommonJS cannot.
 *
 * Here in core, not in codegen, so the CLI runs it for every command
 * without loading ts-morph.
 * @public
 */
export function commonJsReason(file: string, cwd: string): string | undefined {
  const ext = extname(file);
  if (ext === '.mts' || ext === '.mjs') return undefined;
  if (ext === '.cts' || ext === '.cjs') {
    return `it is a CommonJS module (${ext}); jobwire's schema must be an ES module: rename it to .ts in a package with "type": "module"`;
  }
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      let type: unknown;
      try {
        type = (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown })
          .type;
      } catch {
        // Node reports a broken package.json itself when it loads the file.
        return undefined;
      }
      if (type === 'module') return undefined;
      const name = relative(cwd, pkg) || 'package.json';
      const says =
        type === undefined
          ? `has no "type"`
          : `says "type": ${JSON.stringify(type)}`;
      return `Node loads it as CommonJS (${name} ${says}), but jobwire's schema and generated modules are ES modules: set "type": "module" in ${name} (jobwire init does this)`;
    }
    if (dirname(dir) === dir) {
      return `Node loads it as CommonJS (no package.json above it says "type": "module"), but jobwire's schema and generated modules are ES modules: add a package.json with "type": "module" (jobwire init writes one)`;
    }
  }
}
