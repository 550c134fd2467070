/**
 * The codegen command line, `jobwire codegen` and `jobwire-codegen` alike:
 * reads jobs.schema.ts and writes the typed modules, contract.json and the
 * lock. `--check` verifies instead of writing; `--watch` regenerates on save.
 */
import { spawn } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_FILE, readConfig } from './config.ts';
import { CodegenError } from './errors.ts';
import { exitCodeFor, IncompatibleChangeError } from './exit-codes.ts';
import { runCodegen, type CodegenOptions } from './generate.ts';

const NAME = 'jobwire codegen';

const USAGE = `usage: jobwire codegen [options]      (also installed as jobwire-codegen)

  --schema <file>      the schema module (default: jobs.schema.ts)
  --out <dir>          where the generated modules go (default: generated)
  --lock <file>        the contract lock (default: jobs.lock.json)
  --tsconfig <file>    the tsconfig.json to check the schema with and to read
                       the import extension from (default: the nearest one
                       above the schema; none: strict defaults)
  --config <file>      settings file (default: ${CONFIG_FILE}; its paths are
                       relative to it; flags win over it)
  --check              exit 1 and name each stale file instead of writing (for CI);
                       an incompatible change exits 3
  --watch              regenerate whenever the schema file is saved
  --accept             accept incompatible contract changes and record them in the lock
  -h, --help           show this help`;

/** Where runCli prints and which directory it works from; the process's by default. */
export interface CliIO {
  /** @defaultValue process.cwd() */
  cwd?: string;
  /** Receives each line meant for stdout. @defaultValue console.log */
  out?: (line: string) => void;
  /** Receives each line meant for stderr. @defaultValue console.error */
  err?: (line: string) => void;
}

/** A mistake in the command line: exit code 2. */
class UsageError extends Error {}

interface Parsed {
  help: boolean;
  watch: boolean;
  options: CodegenOptions;
}

function usageMessage(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = e.message ?? String(err);
  const option = /^Unknown option '([^']+)'/.exec(text);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option)
    return `unknown option '${option[1]}'`;
  const positional = /^Unexpected argument '([^']+)'/.exec(text);
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && positional)
    return `unexpected argument '${positional[1]}' (codegen takes only options)`;
  return text.split('\n')[0] ?? text;
}

function parse(argv: string[], cwd: string): Parsed {
  let values;
  try {
    ({ values } = parseArgs({
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
    }));
  } catch (err) {
    throw new UsageError(usageMessage(err));
  }
  const configPath = resolve(cwd, values.config ?? CONFIG_FILE);
  const file = values.help
    ? {}
    : readConfig(configPath, values.config !== undefined);
  const path = (flag: string | undefined, fromFile: string | undefined) =>
    flag === undefined ? fromFile : resolve(cwd, flag);
  const options: CodegenOptions = {
    cwd,
    check: values.check,
    accept: values.accept,
  };
  const schema = path(values.schema, file.schema);
  const out = path(values.out, file.out);
  const lock = path(values.lock, file.lock);
  const tsconfig = path(values.tsconfig, file.tsconfig);
  if (schema !== undefined) options.schema = schema;
  if (out !== undefined) options.out = out;
  if (lock !== undefined) options.lock = lock;
  if (tsconfig !== undefined) options.tsconfig = tsconfig;
  if (file.importExtension !== undefined)
    options.importExtension = file.importExtension;
  return { help: values.help, watch: values.watch, options };
}

async function once(
  options: CodegenOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const rel = (f: string) => relative(options.cwd, f);
  const result = await runCodegen(options);
  for (const note of result.notes) out(`note: ${note}`);
  if (options.check) {
    if (result.stale.length === 0) {
      out('codegen: generated files are up to date');
      return 0;
    }
    for (const file of result.stale)
      err(`${rel(file)}: error: out of date (run jobwire codegen)`);
    return 1;
  }
  out(
    result.written.length === 0
      ? 'codegen: nothing changed'
      : `codegen: wrote ${result.written.map(rel).join(', ')}`,
  );
  return 0;
}

/**
 * Each regeneration runs in a fresh process: ESM caches imported modules,
 * so re-importing an edited schema in this process would see stale code
 * (and keep every old copy in memory). The child is this process's own
 * command line without `--watch`, so `jobwire codegen --watch` and
 * `jobwire-codegen --watch` each re-run themselves.
 */
function watchMode(options: CodegenOptions, out: (line: string) => void) {
  const schema = resolve(options.cwd, options.schema ?? 'jobs.schema.ts');
  if (!existsSync(schema))
    throw new CodegenError('schema file not found', { file: schema });
  const [script, ...args] = process.argv.slice(1);
  const childArgs = [
    ...process.execArgv,
    ...(script === undefined ? [] : [script]),
    ...args.filter((a) => a !== '--watch'),
  ];
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
    const child = spawn(process.execPath, childArgs, {
      cwd: options.cwd,
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
  const watcher = watch(dirname(schema), (_event, name) => {
    if (name !== null && name !== basename(schema)) return;
    clearTimeout(timer);
    timer = setTimeout(run, 100);
  });
  out(`codegen: watching ${relative(options.cwd, schema)}`);
  return new Promise<number>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      clearTimeout(timer);
      watcher.close();
      done(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Runs the codegen command line: parses `argv` (the arguments after the
 * command name), generates or checks, prints what happened, and returns
 * the exit code: 0 done, 1 failed (stale under `--check`, a schema or
 * config error), 2 a bad command line, 3 an incompatible change refused
 * (with or without `--check`). It never
 * exits the process and never prints a stack trace: every error is one
 * `file:line:col: error: …` (or `file: error: …`) line.
 */
export async function runCli(argv: string[], io: CliIO = {}): Promise<number> {
  const cwd = io.cwd ?? process.cwd();
  const out = io.out ?? ((line: string) => console.log(line));
  const err = io.err ?? ((line: string) => console.error(line));
  try {
    const parsed = parse(argv, cwd);
    if (parsed.help) {
      out(USAGE);
      return 0;
    }
    if (parsed.watch) return await watchMode(parsed.options, out);
    return await once(parsed.options, out, err);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${NAME}: error: ${e.message} (see ${NAME} --help)`);
      return 2;
    }
    if (e instanceof CodegenError) {
      // A refusal does not hide the notes and warnings of the same run.
      if (e instanceof IncompatibleChangeError)
        for (const note of e.notes) out(`note: ${note}`);
      err(e.format(cwd));
      const cause: unknown = e.cause;
      if (process.env.JOBWIRE_DEBUG && cause instanceof Error && cause.stack)
        err(cause.stack);
      return exitCodeFor(e);
    }
    // A defect in codegen itself: still one line, with the stack on request.
    const text = e instanceof Error ? e.message : String(e);
    err(`${NAME}: error: ${text.split('\n')[0] ?? ''}`);
    if (process.env.JOBWIRE_DEBUG && e instanceof Error && e.stack)
      err(e.stack);
    return 1;
  }
}
