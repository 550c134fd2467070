/**
 * The jobwire runtime: job contracts, queues (producers), workers, events,
 * maintenance and the in-memory test mode.
 *
 * @packageDocumentation
 * @module @jobwire/core
 */
export { defaultProgressSchema, defineJobs, job } from './define.ts';
export type {
  AnyJobDefinition,
  CompatibilityMode,
  JobDefinition,
  JobMap,
  JobRegistry,
  JobSpec,
  inferJobInput,
  inferJobOutput,
  inferJobProgress,
  inferJobResult,
  inferJobResultInput,
} from './define.ts';
export { createQueue, Queue } from './queue.ts';
export type { BulkItem, JobHandle, Producer, QueueOptions } from './queue.ts';
export type { JobInfo, QueueCounts, StateCounts } from './maintenance.ts';
export { createWorker, Worker } from './worker.ts';
export type {
  Handler,
  HandlerMap,
  WorkerEvents,
  WorkerHealth,
  WorkerOptions,
} from './worker-options.ts';
export type { Job } from './job.ts';
export { createQueueEvents, QueueEvents } from './queue-events.ts';
export type { QueueEventsOptions } from './queue-events.ts';
export type { QueueEvent, QueueEventName } from './events.ts';
export { closeOnSignals } from './shutdown.ts';
export { createTestQueue, TestQueue } from './testing.ts';
export type {
  AnyTestJob,
  TestJob,
  TestJobState,
  TestQueueOptions,
} from './testing.ts';
export type { RepeatOptions } from './repeat.ts';
export type {
  ConnectionInput,
  ConnectionOptions,
  Logger,
  RedisConnectionSettings,
} from './connection.ts';
export {
  DurabilityError,
  ErrorCode,
  JobwireError,
  LeaseLostError,
  PayloadTooLargeError,
  PermanentError,
  RedisOutOfMemoryError,
  RedisUnavailableError,
  ShutdownError,
  TimeoutError,
  ValidationError,
} from './errors.ts';
export type { SerializedError, ValidationIssue } from './errors.ts';
export { priorityLevels } from './types.ts';
export type {
  Backoff,
  BackoffFunction,
  Durability,
  EnqueueOptions,
  JobOptions,
  JobState,
  Keep,
  Priority,
  Retention,
} from './types.ts';
export { defaults } from './defaults.ts';
export { canonicalJson, jobFingerprint, shortHash } from './fingerprint.ts';
