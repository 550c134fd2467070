/**
 * How the CLI tests start `jobwire`: `node`, then these arguments, then the
 * command's. Its entry, src/main.ts, bundled with the workspace sources it
 * imports (test-kit's nodeEntry, made once per test process), so a start
 * skips tsx compiling every source; a schema file is still loaded through
 * tsx, by the CLI itself, as for a user. Absolute paths: any cwd will do.
 */
import { fileURLToPath } from 'node:url';
import { nodeEntry } from '@jobwire/test-kit/node-entry';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** `node` arguments that run the `jobwire` command line. */
export function jobwire(): string[] {
  return nodeEntry(MAIN);
}

/**
 * `args` for a command run from the repository root over the root
 * jobs.schema.ts: `--schema jobs.schema.ts` is added unless the command
 * names its own schema or takes none, since without it the CLI would load
 * the schema of the root jobwire.config.json (the examples').
 */
export function rootSchema(args: string[]): string[] {
  const [command] = args;
  if (command === undefined || ['codegen', 'init'].includes(command))
    return args;
  if (args.includes('--schema') || args.includes('--help')) return args;
  return [...args, '--schema', 'jobs.schema.ts'];
}
