/** Timing helpers shared by the test files (from the workspace's test-kit). */
export { fastWorkerSettings, sleep, waitFor } from '@jobwire/test-kit';
