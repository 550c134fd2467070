/**
 * How the CLI tests start `jobwire`: `node`, then these arguments, then the
 * command's. Its entry, src/main.ts, bundled with the workspace sources it
 * imports (test-kit's nodeEntry, made once per test process), so a start
 * skips tsx compiling every source; a schema file is still loaded through
 * tsx, by the CLI itself, as for a user. Absolute paths: any cwd will do.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodeEntry } from '@jobwire/test-kit/node-entry';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

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

/** What one `jobwire` run printed, and its exit status. */
export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `jobwire args` from the repository root over the root schema
 * (rootSchema), with REDIS_URL set to `redisUrl` and `env` on top (a
 * variable given as undefined is left out).
 */
export function runJobwire(
  redisUrl: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): CliRun {
  const res = spawnSync(process.execPath, [...jobwire(), ...rootSchema(args)], {
    cwd: REPO_ROOT,
    env: { ...process.env, REDIS_URL: redisUrl, ...env },
    encoding: 'utf8',
    // Generous: under load a spawn (Node, then the command) takes far
    // longer than on an idle machine.
    timeout: 120_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}
