const INCLUDE = /^-- @include (\w+)\s*$/gm;

/**
 * Replaces each `-- @include name` line of `source` with the include's
 * text, recursively, each include at most once per script (a later
 * directive for one already in is dropped). The generator keeps every
 * include once in lua.generated.ts and core inlines them when it loads
 * the scripts; both use this function, so the texts cannot differ.
 */
export function inlineIncludes(
  source: string,
  includes: Readonly<Record<string, string>>,
  seen: Set<string> = new Set(),
): string {
  return source.replace(INCLUDE, (_line, name: string) => {
    if (seen.has(name)) return '';
    const body = includes[name];
    if (body === undefined) throw new Error(`unknown Lua include ${name}`);
    seen.add(name);
    return inlineIncludes(body, includes, seen);
  });
}
