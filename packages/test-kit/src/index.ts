/**
 * Workspace-only helpers for tests, the bench and scripts: private
 * redis-server processes and polling. Free of test-runner imports; the
 * vitest hooks are in `@jobwire/test-kit/vitest`.
 */
export { freePort, startRedis } from './redis-process.ts';
export type { RedisServer, StartRedisOptions } from './redis-process.ts';
export {
  fastWorkerSettings,
  PROCESS_START_MS,
  sleep,
  waitFor,
} from './wait.ts';
