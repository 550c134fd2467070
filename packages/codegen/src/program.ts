import { Project, ts } from 'ts-morph';

/**
 * The TypeScript program codegen checks a schema file with: the schema as
 * its only root, everything it imports, and the lib and `types` files the
 * settings name.
 *
 * Most of a check's time goes into parsing and binding the declaration
 * files (@types/node alone is megabytes), which are the same from run to
 * run. So parsed files are kept per compiler settings and handed to the
 * next program in this process while their text is unchanged: a second
 * `runCodegen` (tests, tools that call it in a loop) parses only what
 * changed, and the binder skips a file it has bound before. Each program
 * still reads every file afresh, so a file edited on disk is reparsed.
 */

interface Parsed {
  text: string;
  tree: ts.SourceFile;
}

/** Parsed files by settings key, then by file and parse mode; least recently used first. */
const parsedBySettings = new Map<string, Map<string, Parsed>>();
/** Settings kept at once: each holds the trees of a whole program. */
const MAX_SETTINGS = 3;

/** Where ts-morph serves TypeScript's lib files from (they ship inside it). */
let libHost: ts.ModuleResolutionHost | undefined;
const LIB_FOLDER = '/node_modules/typescript/lib';

function filesFor(options: ts.CompilerOptions): Map<string, Parsed> {
  const key = JSON.stringify(options);
  let files = parsedBySettings.get(key);
  if (files) {
    parsedBySettings.delete(key);
  } else {
    files = new Map();
    while (parsedBySettings.size >= MAX_SETTINGS) {
      const oldest = parsedBySettings.keys().next().value;
      if (oldest === undefined) break;
      parsedBySettings.delete(oldest);
    }
  }
  parsedBySettings.set(key, files);
  return files;
}

/** A program rooted at `file` under `options`, reusing unchanged parsed files. */
export function schemaProgram(
  file: string,
  options: ts.CompilerOptions,
): { program: ts.Program; sourceFile: ts.SourceFile } {
  // A throwaway project's resolution host reads the real file system and
  // ts-morph's bundled lib files (at LIB_FOLDER) alike.
  libHost ??= new Project({
    skipAddingFilesFromTsConfig: true,
  }).getModuleResolutionHost();
  const fsHost = libHost;
  const files = filesFor(options);
  const host: ts.CompilerHost = {
    // What tsc does: JSDoc is parsed where it can change types (JavaScript
    // files), not in TypeScript files, which the check alone reads.
    jsDocParsingMode: ts.JSDocParsingMode.ParseForTypeErrors,
    getSourceFile(fileName, languageVersionOrOptions, onError) {
      let text: string | undefined;
      try {
        text = fsHost.readFile(fileName);
      } catch (err) {
        onError?.((err as Error).message);
        return undefined;
      }
      if (text === undefined) return undefined;
      const mode =
        typeof languageVersionOrOptions === 'object'
          ? `${languageVersionOrOptions.languageVersion}/${languageVersionOrOptions.impliedNodeFormat ?? ''}`
          : String(languageVersionOrOptions);
      const key = `${mode}:${fileName}`;
      const cached = files.get(key);
      if (cached?.text === text) return cached.tree;
      const tree = ts.createSourceFile(
        fileName,
        text,
        typeof languageVersionOrOptions === 'object'
          ? {
              ...languageVersionOrOptions,
              jsDocParsingMode: ts.JSDocParsingMode.ParseForTypeErrors,
            }
          : languageVersionOrOptions,
        // ts-morph walks the tree through parent links.
        true,
      );
      files.set(key, { text, tree });
      return tree;
    },
    getDefaultLibFileName: (o) =>
      `${LIB_FOLDER}/${ts.getDefaultLibFileName(o)}`,
    getDefaultLibLocation: () => LIB_FOLDER,
    writeFile: () => {},
    getCurrentDirectory: () => ts.sys.getCurrentDirectory(),
    getCanonicalFileName: (f) =>
      ts.sys.useCaseSensitiveFileNames ? f : f.toLowerCase(),
    useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
    getNewLine: () => '\n',
    fileExists: (f) => fsHost.fileExists(f),
    readFile: (f) => fsHost.readFile(f),
    directoryExists: (d) =>
      d === LIB_FOLDER ||
      (fsHost.directoryExists?.(d) ?? ts.sys.directoryExists(d)),
    getDirectories: (d) =>
      fsHost.getDirectories?.(d) ?? ts.sys.getDirectories(d),
    realpath: (p) => fsHost.realpath?.(p) ?? ts.sys.realpath?.(p) ?? p,
  };
  const program = ts.createProgram({ rootNames: [file], options, host });
  const sourceFile = program.getSourceFile(file);
  if (!sourceFile) throw new Error(`TypeScript did not load ${file}`);
  return { program, sourceFile };
}
