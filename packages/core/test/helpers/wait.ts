/** Timing helpers shared by the test files (from the workspace's test-kit). */
export {
  fastWorkerSettings,
  PROCESS_START_MS,
  sleep,
  waitFor,
} from '@jobwire/test-kit';
