#!/usr/bin/env node
/**
 * `pnpm codegen`: reads jobs.schema.ts and writes the typed modules,
 * contract.json and the lock. `--check` verifies instead of writing;
 * `--watch` regenerates on save.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, watch } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CodegenError } from './errors.ts';
import { runCodegen, type CodegenOptions } from './generate.ts';

const USAGE = `usage: jobwire-codegen [--schema jobs.schema.ts] [--out generated] [--lock jobs.lock.json]
                       [--tsconfig tsconfig.json] [--config jobwire.config.json]
                       [--check | --watch] [--accept]

  --check    exit 1 and name each stale file instead of writing (for CI)
  --watch    regenerate whenever the schema file is saved
  --accept   accept incompatible contract changes and record them in the lock`;

interface FileConfig {
  schema?: string;
  out?: string;
  lock?: string;
  tsconfig?: string;
}

function parse(argv: string[]): { options: CodegenOptions; watch: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      schema: { type: 'string' },
      out: { type: 'string' },
      lock: { type: 'string' },
      tsconfig: { type: 'string' },
      config: { type: 'string' },
      check: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      accept: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const cwd = process.cwd();
  const configPath = resolve(cwd, values.config ?? 'jobwire.config.json');
  const file: FileConfig = existsSync(configPath)
    ? (JSON.parse(readFileSync(configPath, 'utf8')) as FileConfig)
    : {};
  return {
    watch: values.watch,
    options: {
      cwd,
      schema: values.schema ?? file.schema,
      out: values.out ?? file.out,
      lock: values.lock ?? file.lock,
      tsconfig: values.tsconfig ?? file.tsconfig,
      check: values.check,
      accept: values.accept,
    },
  };
}

async function once(options: CodegenOptions): Promise<number> {
  try {
    const result = await runCodegen(options);
    for (const note of result.notes) console.log(`note: ${note}`);
    if (options.check) {
      if (result.stale.length === 0) {
        console.log('codegen: generated files are up to date');
        return 0;
      }
      for (const file of result.stale) {
        console.error(
          `stale: ${relative(options.cwd, file)} (run pnpm codegen)`,
        );
      }
      return 1;
    }
    console.log(
      result.written.length === 0
        ? 'codegen: nothing changed'
        : `codegen: wrote ${result.written.map((f) => relative(options.cwd, f)).join(', ')}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof CodegenError) {
      console.error(err.format(options.cwd));
      return 1;
    }
    throw err;
  }
}

/**
 * Each regeneration runs in a fresh process: ESM caches imported modules,
 * so re-importing an edited schema in this process would see stale code.
 */
function watchMode(argv: string[], options: CodegenOptions): void {
  const schema = resolve(options.cwd, options.schema ?? 'jobs.schema.ts');
  const self = fileURLToPath(import.meta.url);
  const args = argv.filter((a) => a !== '--watch');
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let pending = false;
  const run = () => {
    // A save during a run is not lost: it triggers one more run afterwards.
    if (running) {
      pending = true;
      return;
    }
    running = true;
    const child = spawn(process.execPath, ['--import', 'tsx', self, ...args], {
      stdio: 'inherit',
    });
    child.on('exit', () => {
      running = false;
      if (pending) {
        pending = false;
        run();
      }
    });
  };
  run();
  // Watch the folder: editors that save by replacing the file would end a
  // watch on the file itself after the first save.
  watch(dirname(schema), (_event, name) => {
    if (name !== null && name !== basename(schema)) return;
    clearTimeout(timer);
    timer = setTimeout(run, 100);
  });
  console.log(`codegen: watching ${schema}`);
}

const argv = process.argv.slice(2);
let parsed: ReturnType<typeof parse>;
try {
  parsed = parse(argv);
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (parsed.watch) watchMode(argv, parsed.options);
else process.exitCode = await once(parsed.options);
