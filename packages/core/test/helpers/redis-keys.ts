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
