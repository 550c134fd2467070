/**
 * The vitest-facing helpers: one private redis-server per test file, and
 * queue names that never collide between tests.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import {
  startRedis,
  type RedisServer,
  type StartRedisOptions,
} from './redis-process.ts';

export interface UseRedis {
  readonly server: RedisServer;
  readonly url: string;
}

/**
 * Call at the top of a test file: starts a private redis-server before all
 * tests of the file and stops it afterwards.
 */
export function useRedis(opts?: StartRedisOptions): UseRedis {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedis(opts);
  });
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
  return {
    get server(): RedisServer {
      if (!server) {
        throw new Error(
          'redis-server not started: use useRedis() at the top level of a test file and read .server inside tests/hooks',
        );
      }
      return server;
    },
    get url(): string {
      return this.server.url;
    },
  };
}

/** A queue name no other test uses: `<prefix>-<8 hex>`. */
export function uniqueQueue(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
