/**
 * The redis-server helpers core's test files import; they live in the
 * workspace's private test-kit package.
 */
export {
  freePort,
  startRedis,
  type RedisServer,
  type StartRedisOptions,
} from '@jobwire/test-kit';
export { uniqueQueue, useRedis, type UseRedis } from '@jobwire/test-kit/vitest';
