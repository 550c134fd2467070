import type { Redis } from 'ioredis';

/** Every key matching `pattern`, walked with SCAN. */
export async function scanKeys(raw: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(
      cursor,
      'MATCH',
      pattern,
      'COUNT',
      1000,
    );
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/**
 * The keys without a TTL, sorted: what a rejected write must leave as it
 * was. DBSIZE would also count a worker's expiring stall lock, which can
 * vanish between two reads.
 */
export async function persistentKeys(raw: Redis): Promise<string[]> {
  const keys = await scanKeys(raw, '*');
  const ttls = await Promise.all(keys.map((k) => raw.pttl(k)));
  return keys.filter((_, i) => ttls[i] === -1).sort();
}
