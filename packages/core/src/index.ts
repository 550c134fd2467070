/**
 * The jobwire runtime: job contracts, queues (producers), workers, events,
 * maintenance and the in-memory test mode.
 *
 * @packageDocumentation
 * @module @jobwire/core
 */
export { defaultProgressSchema, defineJobs, job } from './contract/define.ts';
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
  inferJobProgressOutput,
  inferJobResult,
  inferJobResultInput,
} from './contract/define.ts';
export type {
  Debounce,
  FlowKeyFunction,
  FlowOptions,
  FlowRules,
  KeyedConcurrency,
  RateLimit,
  Throttle,
} from './contract/flow.ts';
export type {
  UpcastMap,
  UpcastSources,
  UpcastStep,
} from './contract/upcast.ts';
export { createQueue, Queue } from './producer/queue.ts';
export type { Producer } from './producer/queue.ts';
export type {
  BulkItem,
  EnqueueStatus,
  JobHandle,
  QueueOptions,
} from './producer/queue-types.ts';
export type {
  GetJobOptions,
  JobInfo,
  JobListOptions,
  QueueCounts,
  StateCounts,
} from './ops/inspect.ts';
export type { CancelOptions } from './ops/admin.ts';
export type { CancelOutcome } from './redis/transitions/operator.ts';
export type {
  VersionLaneCount,
  WaitingByVersion,
  WaitingByVersionOptions,
} from './ops/lanes.ts';
export type {
  FlowKeyCounts,
  FlowKeyStats,
  FlowRateWindow,
  FlowRuleSummary,
  FlowStats,
  FlowStatsOptions,
  FlowWaitReason,
  TypeFlowStats,
} from './ops/flow-stats.ts';
export { createWorker, Worker } from './worker/worker.ts';
export type {
  Handler,
  HandlerMap,
  WorkerEvents,
  WorkerHealth,
  WorkerOptions,
} from './worker/worker-options.ts';
export type { Job } from './worker/job.ts';
export { createQueueEvents, QueueEvents } from './ops/queue-events.ts';
export type {
  AnyQueueEvent,
  QueueEventsGap,
  QueueEventsOptions,
} from './ops/queue-events.ts';
export type {
  TypedJobInfo,
  TypedQueueEvent,
  UncheckedValues,
} from './ops/typed-read.ts';
export type { QueueEvent, QueueEventName } from './redis/events.ts';
export type {
  MigrateFailure,
  MigrateOptions,
  MigrateReport,
  MigrateSample,
  MigrateRepeatCounts,
  MigrateRepeatFailure,
  VersionCounts,
} from './ops/migrate-report.ts';
export type {
  LayoutMigrateOptions,
  LayoutMigrateReport,
  QueueLayout,
} from './ops/layout-migrate.ts';
export { LAYOUT_VERSION } from './redis/layout.ts';
export { closeOnSignals } from './worker/shutdown.ts';
export { createTestQueue, TestQueue } from './testing/test-queue.ts';
export type {
  AnyTestJob,
  TestJob,
  TestJobState,
  TestQueueOptions,
} from './testing/test-types.ts';
export type { RepeatBounds, RepeatOptions } from './producer/repeat.ts';
export type { RepeatSpec } from './contract/options.ts';
export type {
  ConnectionInput,
  ConnectionOptions,
  Logger,
  RedisConnectionSettings,
} from './redis/connection.ts';
export {
  CancelledError,
  DurabilityError,
  ErrorCode,
  JobwireError,
  LayoutUnsupportedError,
  LeaseLostError,
  PayloadTooLargeError,
  PermanentError,
  RedisBusyError,
  RedisOutOfMemoryError,
  RedisUnavailableError,
  ShutdownError,
  TimeoutError,
  UpcastError,
  ValidationError,
} from './errors.ts';
export type { OptionHint, SerializedError, ValidationIssue } from './errors.ts';
export {
  BulkEnqueueError,
  type BulkOutcome,
  type BulkStoredJob,
} from './producer/bulk.ts';
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
export {
  canonicalJson,
  jobFingerprint,
  shortHash,
} from './contract/fingerprint.ts';
export { commonJsReason } from './contract/module-format.ts';
