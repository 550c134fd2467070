/**
 * Spawns a harness child under a wrapper command, e.g.
 * `faketime -f +300s node <file, bundled> <json>`. children.ts always
 * runs node directly; this builds the same `Child` handle (and registers it
 * in `live`, so `killAll()` still cleans up) around a wrapped spawn. The
 * wrapper must exec node (faketime does), so the pid is node's and IPC on
 * fd 3 reaches it.
 */
import { spawnChild } from './children.ts';
import type { Child } from './children.ts';

export function spawnWrapped(
  wrapper: readonly string[],
  file: string,
  config: object,
  env: Record<string, string> = {},
): Child {
  if (wrapper.length === 0) throw new Error('spawnWrapped: empty wrapper');
  return spawnChild(file, config, { wrapper, env });
}
