import { Redis } from 'ioredis';

/**
 * A plain client for tests that read or hand-write keys, for test files of
 * packages that do not depend on ioredis themselves (the CLI's).
 */
export function rawRedis(url: string): Redis {
  return new Redis(url);
}
