/**
 * The reader note (noteReaders): which contract versions a running worker
 * reads, kept fresh while it leases nothing. See ops/lanes.ts for the read
 * side.
 */
import { laneName, type QueueKeys } from '../keys.ts';
import { runScript, type RedisClient } from '../scripts/index.ts';

/**
 * The `readers` fields of the types a worker knows at version 2 or more:
 * `<type>@<newest version known>`, as the leasing scripts write them.
 */
export function readerFields(known: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [type, version] of known)
    if (version >= 2) out.push(laneName(type, version));
  return out;
}

/** Records, on the Redis clock, that a worker reads these fields' versions now. */
export async function noteReaders(
  client: RedisClient,
  k: QueueKeys,
  fields: readonly string[],
): Promise<void> {
  if (fields.length === 0) return;
  await runScript(client, 'noteReaders', [k.readers], fields);
}
