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
