/**
 * The writes of a running job under its lease: a failed attempt (fail),
 * progress (updateProgress), a log line (addLog), and handing back a job of
 * a newer contract version (deferNewer). Each function owns its
 * script's KEYS and ARGV order and decodes its reply.
 */
import type { QueueKeys } from '../keys.ts';
import { runScript, type RedisClient } from '../scripts/index.ts';
import type { HeldLease, JobWriteCode } from './lease.ts';

/**
 * fail's codes: a retry was scheduled, the job failed for good, or it
 * ended as cancelled instead (its cancel was requested).
 */
export const FailCode = { RETRY: 1, FAILED: 2, CANCELLED: 3 } as const;

/** One failed attempt, as fail records it. */
export interface FailedAttempt {
  /** The serialized error JSON. */
  readonly error: string;
  /** Wait before the retry, ms; -1 = no retry (fail for good). */
  readonly retryDelayMs: number;
  /** Retention of failed jobs: keep count (-1 all), keep age ms (0 any). */
  readonly keep: readonly [number, number];
}

/**
 * Records a failed attempt of a leased job (fail). Resolves with a
 * FailCode, or a ScriptCode (-1 missing, -2 lease lost).
 */
export async function fail(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  job: HeldLease,
  attempt: FailedAttempt,
): Promise<JobWriteCode> {
  return Number(
    await runScript(
      client,
      'fail',
      [k.active, k.failed, k.delayed, k.counts, k.events, k.id],
      [
        k.base,
        maxEvents,
        job.id,
        job.token,
        attempt.error,
        attempt.retryDelayMs,
        attempt.keep[0],
        attempt.keep[1],
      ],
    ),
  );
}

/**
 * Stores a leased job's latest progress and publishes it (updateProgress).
 * Resolves with 1, or a ScriptCode (-1 missing, -2 lease lost).
 */
export async function updateProgress(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  job: HeldLease,
  progressJson: string,
): Promise<JobWriteCode> {
  return Number(
    await runScript(
      client,
      'updateProgress',
      [k.job(job.id), k.events],
      [maxEvents, job.id, job.token, progressJson],
    ),
  );
}

/**
 * Appends a line to a leased job's log, keeping the last `maxLines`
 * (addLog). Resolves with 1, or a ScriptCode (-1 missing, -2 lease lost).
 */
export async function addLog(
  client: RedisClient,
  k: QueueKeys,
  job: HeldLease,
  line: string,
  maxLines: number,
): Promise<JobWriteCode> {
  return Number(
    await runScript(
      client,
      'addLog',
      [k.job(job.id), k.log(job.id)],
      [job.token, line, maxLines],
    ),
  );
}

/**
 * Hands back a leased job that a newer contract version wrote than this
 * worker knows: to delayed for `delayMs`, its attempts untouched
 * (deferNewer). Resolves with 1, or a ScriptCode (-1 missing, -2 lease lost).
 */
export async function deferNewer(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  job: HeldLease,
  delayMs: number,
  knownVersion: number,
): Promise<JobWriteCode> {
  return Number(
    await runScript(
      client,
      'deferNewer',
      [k.active, k.delayed, k.counts, k.events],
      [k.base, maxEvents, job.id, job.token, delayMs, knownVersion],
    ),
  );
}
