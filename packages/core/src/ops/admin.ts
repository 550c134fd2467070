import {
  errorFromScriptCode,
  ErrorCode,
  JobwireError,
  ScriptCode,
} from '../errors.ts';
import { retryWhileBusy } from '../redis/busy.ts';
import { withRedis } from '../redis/connection.ts';
import { QueueMetaField } from '../redis/job-fields.ts';
import {
  withRedisPastBusy,
  type QueueContext,
} from '../redis/queue-context.ts';
import type { QueueKeys } from '../redis/keys.ts';
import {
  cancelJob,
  cleanJobs,
  drain,
  promote,
  removeJob,
  retryJob,
  setPaused,
  type CancelOutcome,
  type FinishedState,
} from '../redis/transitions/operator.ts';
import type { RedisClient } from '../redis/scripts/index.ts';
import type { QueueInspector } from './inspect.ts';
import { migrateJobs } from './migrate.ts';
import type { MigrateOptions, MigrateReport } from './migrate-report.ts';

/** Longest cancel reason, in characters: it is stored on the job hash. */
export const MAX_CANCEL_REASON = 1000;

/** Refuses a cancel reason that is not a string of at most MAX_CANCEL_REASON characters. */
export function checkCancelReason(reason: unknown): asserts reason is string {
  if (typeof reason !== 'string' || reason.length > MAX_CANCEL_REASON) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `cancel(): reason must be a string of at most ${MAX_CANCEL_REASON} characters`,
    );
  }
}

/** Options of `cancel`. @public */
export interface CancelOptions {
  /** The job's queue; without it, the registry's queues are searched. */
  queue?: string | undefined;
  /**
   * Why, stored on the job (`cancelReason`), sent in the `cancelled`
   * event, and given to the handler as the abort reason's `reason`. Up to
   * 1000 characters.
   */
  reason?: string | undefined;
}

/** A one-job operator transition of the typed Redis layer. */
type JobAction = (
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  id: string,
) => Promise<void>;

/**
 * The operator's actions of the maintenance API: retry, promote, remove,
 * clean, drain, pause and resume.
 */
export class QueueAdmin {
  constructor(
    private readonly ctx: QueueContext,
    private readonly inspector: QueueInspector,
  ) {}

  /** Each action is one script call: one refused with BUSY ran nothing, and is sent again. */
  private redis<TResult>(fn: () => Promise<TResult>): Promise<TResult> {
    return withRedisPastBusy(this.ctx, fn);
  }

  /** Which queue holds job `id`: a read, waited out through BUSY as the action after it is. */
  private locate(id: string, queue: string | undefined) {
    return retryWhileBusy(this.ctx.commandTimeoutMs, () =>
      this.inspector.locate(id, queue),
    );
  }

  private async jobAction(
    script: string,
    action: JobAction,
    id: string,
    queue: string | undefined,
  ): Promise<void> {
    const q = await this.locate(id, queue);
    if (q === undefined)
      throw errorFromScriptCode(ScriptCode.JOB_NOT_FOUND, {
        script,
        jobId: id,
      });
    const k = this.ctx.keys(q);
    await this.redis(() => action(this.ctx.client, k, this.ctx.maxEvents, id));
  }

  /** Sends a failed or expired job back to waiting with fresh attempts. */
  retry(
    id: string,
    options: { queue?: string | undefined } = {},
  ): Promise<void> {
    return this.jobAction('retryJob', retryJob, id, options.queue);
  }

  /**
   * Cancels a job: a waiting or delayed one ends as cancelled at once
   * (`'cancelled'`); an active one is marked, its handler's signal aborts
   * with a CancelledError at its worker's next lease renewal, and it then
   * ends as cancelled (`'requested'`). Never retried. A finished job is
   * refused with JOB_NOT_IN_STATE.
   */
  async cancel(
    id: string,
    options: CancelOptions = {},
  ): Promise<CancelOutcome> {
    const reason = options.reason ?? '';
    checkCancelReason(reason);
    const q = await this.locate(id, options.queue);
    if (q === undefined)
      throw errorFromScriptCode(ScriptCode.JOB_NOT_FOUND, {
        script: 'cancel',
        jobId: id,
      });
    const k = this.ctx.keys(q);
    return this.redis(() =>
      cancelJob(this.ctx.client, k, this.ctx.maxEvents, id, reason),
    );
  }

  /** Makes a delayed job runnable now. */
  promote(
    id: string,
    options: { queue?: string | undefined } = {},
  ): Promise<void> {
    return this.jobAction('promote', promote, id, options.queue);
  }

  /** Removes a job that is not active, with its logs. */
  remove(
    id: string,
    options: { queue?: string | undefined } = {},
  ): Promise<void> {
    return this.jobAction('removeJob', removeJob, id, options.queue);
  }

  /**
   * Removes up to `limit` completed, failed, expired or cancelled jobs
   * that finished more than `olderThanMs` ago. Returns their ids.
   */
  async clean(
    state: FinishedState,
    olderThanMs: number,
    limit = 1000,
    options: { queue?: string | undefined } = {},
  ): Promise<string[]> {
    if (!['completed', 'failed', 'expired', 'cancelled'].includes(state)) {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `clean(): state must be completed, failed, expired or cancelled, got ${String(state)}`,
      );
    }
    if (
      !(Number.isFinite(olderThanMs) && olderThanMs >= 0) ||
      !(Number.isInteger(limit) && limit > 0)
    ) {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        'clean(): olderThanMs must be >= 0 and limit a positive integer',
      );
    }
    const removed: string[] = [];
    for (const q of this.inspector.queuesOf(options.queue)) {
      const k = this.ctx.keys(q);
      const ids = await this.redis(() =>
        cleanJobs(
          this.ctx.client,
          k,
          state,
          olderThanMs,
          limit - removed.length,
        ),
      );
      removed.push(...ids);
      if (removed.length >= limit) break;
    }
    return removed;
  }

  /** Removes every waiting job (and delayed ones with `delayed: true`). */
  async drain(
    options: { queue?: string | undefined; delayed?: boolean | undefined } = {},
  ): Promise<number> {
    let total = 0;
    for (const q of this.inspector.queuesOf(options.queue)) {
      const k = this.ctx.keys(q);
      for (;;) {
        const n = await this.redis(() =>
          drain(
            this.ctx.client,
            k,
            this.ctx.maxEvents,
            1000,
            options.delayed === true,
          ),
        );
        total += n;
        if (n === 0) break;
      }
    }
    return total;
  }

  /**
   * Rewrites the waiting and delayed jobs of type `name` that older
   * contract versions stored into its current version (ops/migrate.ts).
   */
  migrate(
    name: string,
    options: MigrateOptions,
    maxPayloadBytes: number,
  ): Promise<MigrateReport> {
    return migrateJobs(this.ctx, name, options, maxPayloadBytes);
  }

  /** Stops every worker from taking jobs of the queue (all queues if omitted). */
  pause(options: { queue?: string | undefined } = {}): Promise<void> {
    return this.setPaused(options.queue, true);
  }

  /** Lets workers take jobs again. */
  resume(options: { queue?: string | undefined } = {}): Promise<void> {
    return this.setPaused(options.queue, false);
  }

  /**
   * Whether a queue is paused. A read, so BUSY fails it at once: the HTTP
   * API's health check is this call, and a probe must not wait.
   */
  async isPaused(queue: string): Promise<boolean> {
    const v = await withRedis(this.ctx.client, this.ctx.connectTimeoutMs, () =>
      this.ctx.client.hget(this.ctx.keys(queue).meta, QueueMetaField.paused),
    );
    return v === '1';
  }

  private async setPaused(
    queue: string | undefined,
    paused: boolean,
  ): Promise<void> {
    for (const q of this.inspector.queuesOf(queue)) {
      const k = this.ctx.keys(q);
      await this.redis(() =>
        setPaused(this.ctx.client, k, this.ctx.maxEvents, paused),
      );
    }
  }
}
