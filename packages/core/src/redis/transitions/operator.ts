/**
 * The operator's transitions: retry, promote and remove one job, clean
 * finished jobs, drain, pause and resume, and remove a repeat. Each
 * function owns its script's KEYS and ARGV order and decodes its reply;
 * a refused action throws the typed error of its ScriptCode.
 */
import {
  ErrorCode,
  errorFromScriptCode,
  refusedBy,
  ScriptCode,
} from '../../errors.ts';
import { stateFromLetter, stateLetter } from '../../types.ts';
import type { QueueKeys } from '../keys.ts';
import {
  runScript,
  type RedisClient,
  type ScriptName,
} from '../scripts/index.ts';

/** The finished states `clean()` removes from. */
export type FinishedState = 'completed' | 'failed' | 'expired' | 'cancelled';

/**
 * What a cancel did: `cancelled`, the job (waiting or delayed) ended as
 * cancelled at once; `requested`, the job is active, its handler's signal
 * aborts at its worker's next lease renewal, and the job then ends as
 * cancelled. @public
 */
export type CancelOutcome = 'cancelled' | 'requested';

/**
 * Cancels a job (cancel): ends a waiting or delayed one at once, marks an
 * active one. A finished job is refused with JOB_NOT_IN_STATE, a missing
 * one with JOB_NOT_FOUND.
 */
export async function cancelJob(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  id: string,
  reason: string,
): Promise<CancelOutcome> {
  const [code, letter] = (await runScript(
    client,
    'cancel',
    [k.delayed, k.cancelled, k.counts, k.events],
    [k.base, maxEvents, id, reason],
  )) as [number, string];
  if (code === 1) return 'cancelled';
  if (code === 2 || code === 3) return 'requested';
  if (code === ScriptCode.NOT_IN_STATE) {
    const state = stateFromLetter[letter] ?? `in state "${letter}"`;
    throw refusedBy(
      ErrorCode.JOB_NOT_IN_STATE,
      'cancel',
      state === 'waiting' || state === 'delayed'
        ? `job ${id} says it is ${state} but no ${state} set holds it (a hash jobwire did not write?); nothing was changed`
        : `job ${id} is ${state}; only waiting, delayed or active jobs can be cancelled`,
    );
  }
  throw errorFromScriptCode(Number(code), { script: 'cancel', jobId: id });
}

/** Runs a one-job action; anything but 1 throws the code's error. */
async function jobAction(
  client: RedisClient,
  script: ScriptName,
  keys: readonly string[],
  k: QueueKeys,
  maxEvents: number,
  id: string,
  expected: string,
): Promise<void> {
  const code = Number(
    await runScript(client, script, keys, [k.base, maxEvents, id]),
  );
  if (code !== 1)
    throw errorFromScriptCode(code, { script, jobId: id, expected });
}

/** Sends a failed or expired job back to waiting with fresh attempts (retryJob). */
export function retryJob(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  id: string,
): Promise<void> {
  return jobAction(
    client,
    'retryJob',
    [k.failed, k.expired, k.counts, k.events, k.id],
    k,
    maxEvents,
    id,
    'failed or expired',
  );
}

/** Makes a delayed job runnable now (promote). */
export function promote(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  id: string,
): Promise<void> {
  return jobAction(
    client,
    'promote',
    [k.delayed, k.counts, k.events, k.id],
    k,
    maxEvents,
    id,
    'delayed',
  );
}

/** Removes a job that is not active, with its logs (removeJob). */
export function removeJob(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  id: string,
): Promise<void> {
  return jobAction(
    client,
    'removeJob',
    [k.delayed, k.completed, k.failed, k.expired, k.counts, k.events],
    k,
    maxEvents,
    id,
    'waiting, delayed or finished (active jobs cannot be removed)',
  );
}

/**
 * Removes up to `limit` jobs of a finished state that finished more than
 * `olderThanMs` ago (cleanJobs). Returns their ids.
 */
export async function cleanJobs(
  client: RedisClient,
  k: QueueKeys,
  state: FinishedState,
  olderThanMs: number,
  limit: number,
): Promise<string[]> {
  const ids = await runScript(
    client,
    'cleanJobs',
    [k[state], k.counts],
    [k.base, stateLetter[state], Math.round(olderThanMs), limit],
  );
  return (ids as unknown[]).map(String);
}

/**
 * Removes up to `limit` waiting jobs, and delayed ones when `delayed`
 * (drain). Returns how many were removed.
 */
export async function drain(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  limit: number,
  delayed: boolean,
): Promise<number> {
  return Number(
    await runScript(
      client,
      'drain',
      [k.delayed, k.counts, k.types, k.events],
      [k.base, limit, delayed ? '1' : '0', maxEvents],
    ),
  );
}

/** Pauses or resumes the queue and wakes its workers (setPaused). */
export async function setPaused(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  paused: boolean,
): Promise<void> {
  await runScript(
    client,
    'setPaused',
    [k.meta, k.events, k.types],
    [k.base, maxEvents, paused ? '1' : '0'],
  );
}
