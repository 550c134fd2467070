/**
 * Every ```ts block of README.md and docs/ compiles. Each block becomes a
 * module at the repository root, so `./jobs.schema.js` and
 * `./generated/producer.js` resolve to this repository's schema and generated
 * code, as they would in a user's project. All blocks share one program with
 * the repository's compiler options, and a block must have no diagnostics.
 * A block opened as ```ts ignore is skipped: keep those few, and say why in
 * the text around them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Block {
  /** Where the block starts, as `file.md:line` (the line of its first code line). */
  where: string;
  /** The module the block becomes. */
  fileName: string;
  code: string;
  firstLine: number;
}

function markdownFiles(): string[] {
  const found = [join(root, 'README.md')];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      // docs/api is TypeDoc's output, generated from the sources.
      if (entry.isDirectory() && path !== join(root, 'docs', 'api')) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) found.push(path);
    }
  };
  walk(join(root, 'docs'));
  return found;
}

/** The ts blocks of one Markdown file, and how many were marked `ignore`. */
function blocksOf(path: string): { blocks: Block[]; ignored: number } {
  const lines = readFileSync(path, 'utf8').split('\n');
  const name = relative(root, path);
  const slug = name.replace(/[^A-Za-z0-9]+/g, '-');
  const blocks: Block[] = [];
  let ignored = 0;
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript)\b(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    if (/\bignore\b/.test(open[2]!)) {
      ignored++;
    } else {
      blocks.push({
        where: `${name}:${start + 1}`,
        fileName: join(
          root,
          'packages/examples/src',
          `.docs-block-${slug}-${start + 1}.ts`,
        ),
        code: lines.slice(start, end).join('\n') + '\n',
        firstLine: start + 1,
      });
    }
    i = end;
  }
  return { blocks, ignored };
}

function compilerOptions(): ts.CompilerOptions {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!config) throw new Error('cannot read tsconfig.json');
  return {
    ...config.options,
    noEmit: true,
    // Each block is a module of its own, even one without imports.
    moduleDetection: ts.ModuleDetectionKind.Force,
    paths: {
      ...config.options.paths,
      '@jobwire/codegen': ['./packages/codegen/src/index.ts'],
    },
  };
}

/** Compiles every block in one program; diagnostics by block file name. */
function compile(blocks: Block[]): Map<string, ts.Diagnostic[]> {
  const options = compilerOptions();
  const virtual = new Map(blocks.map((b) => [b.fileName, b.code]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) => {
    const code = virtual.get(fileName);
    return code === undefined
      ? getSourceFile(fileName, languageVersion, ...rest)
      : ts.createSourceFile(fileName, code, languageVersion, true);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => virtual.has(fileName) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => virtual.get(fileName) ?? readFile(fileName);

  const program = ts.createProgram([...virtual.keys()], options, host);
  const byFile = new Map<string, ts.Diagnostic[]>();
  for (const block of blocks) {
    const file = program.getSourceFile(block.fileName);
    if (!file) throw new Error(`block ${block.where} was not compiled`);
    byFile.set(block.fileName, [
      ...program.getSyntacticDiagnostics(file),
      ...program.getSemanticDiagnostics(file),
    ]);
  }
  return byFile;
}

function describeDiagnostic(block: Block, d: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (d.file?.fileName !== block.fileName || d.start === undefined) {
    return `${d.file?.fileName ?? '(global)'}: TS${d.code} ${text}`;
  }
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  const name = block.where.slice(0, block.where.lastIndexOf(':'));
  return `${name}:${block.firstLine + line}:${character + 1}: TS${d.code} ${text}`;
}

const files = markdownFiles().map(blocksOf);
const blocks = files.flatMap((f) => f.blocks);
const ignored = files.reduce((n, f) => n + f.ignored, 0);

describe('code blocks in README.md and docs/', () => {
  let diagnostics: Map<string, ts.Diagnostic[]>;
  beforeAll(() => {
    diagnostics = compile(blocks);
  }, 180_000);

  it('finds the blocks, and only a few are exempt', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(15);
    expect(ignored).toBeLessThanOrEqual(3);
  });

  it.each(blocks.map((b) => [b.where, b] as const))(
    '%s compiles',
    (_where, block) => {
      const found = diagnostics.get(block.fileName) ?? [];
      expect(found.map((d) => describeDiagnostic(block, d))).toEqual([]);
    },
  );
});
