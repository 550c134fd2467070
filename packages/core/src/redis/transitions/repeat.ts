/**
 * The repeat schedule transitions: create or replace a schedule
 * (setRepeat), remove it (removeRepeat) and repair it (repairRepeat). Each
 * function owns its script's KEYS and ARGV order and decodes its reply; the
 * occurrence template, which the scripts write into every occurrence they
 * create, is built here too (layout in scripts/includes/repeat.lua).
 */
import type { RepeatSpec } from '../../contract/options.ts';
import type { QueueKeys } from '../keys.ts';
import { runScript, type RedisClient } from '../scripts/index.ts';
import type { EnqueueJob } from './enqueue.ts';

/**
 * The occurrence template a schedule stores, from a prepared job's enqueue
 * input: its type, data, priority and settings (options JSON, expire-after
 * ms, version, fingerprint) and its group key, and from the spec its
 * interval (0 for a cron) and bounds. The letters are includes/repeat.lua's,
 * not job-hash fields (`e` is the interval).
 */
export function occurrenceTemplate(
  job: EnqueueJob,
  spec: Pick<RepeatSpec, 'everyMs' | 'startAtMs' | 'endAtMs' | 'limit'>,
): string {
  const s = job.settings;
  return JSON.stringify({
    n: job.name,
    d: job.dataJson,
    p: job.priority,
    o: s.optionsJson,
    ea: s.expireAfterMs,
    v: s.version,
    fp: s.fingerprint,
    e: spec.everyMs ?? 0,
    // A keyed type's group key, from the parsed payload (checkJob): each
    // occurrence carries it as F.flowKey, so it waits in its key's group
    // and per-key limits hold for it. Omitted (undefined) when unkeyed.
    gk: job.groupKey,
    // Bounds, omitted when unset: start, end (ms) and occurrence limit.
    sa: spec.startAtMs,
    en: spec.endAtMs,
    lm: spec.limit,
  });
}

/** A schedule as setRepeat writes it. */
export interface RepeatSchedule {
  readonly key: string;
  readonly specJson: string;
  /** The occurrence template (`occurrenceTemplate`). */
  readonly template: string;
  /** Comma-joined cron slots ('' for an interval). */
  readonly cronSlots: string;
}

/** What setRepeat did. */
export interface SetRepeatReply {
  /**
   * The pending occurrence's id (of an ended schedule, its last one);
   * undefined when the schedule has no slot left.
   */
  readonly id: string | undefined;
  /** The same spec was declared again: nothing changed. */
  readonly kept: boolean;
}

/**
 * Creates or replaces a repeat schedule and schedules its pending
 * occurrence from the new spec (setRepeat); the same spec declared again
 * changes nothing.
 */
export async function setRepeat(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  schedule: RepeatSchedule,
): Promise<SetRepeatReply> {
  const reply = await runScript(
    client,
    'setRepeat',
    [k.repeats, k.delayed, k.counts, k.events],
    [
      k.base,
      maxEvents,
      schedule.key,
      schedule.specJson,
      schedule.template,
      schedule.cronSlots,
    ],
  );
  const [id, kept] = Array.isArray(reply) ? reply : [];
  return {
    id: typeof id === 'string' && id !== '' ? id : undefined,
    kept: Number(kept) === 1,
  };
}

/**
 * Stops type `name`'s repeat `key` and removes its pending occurrence
 * (removeRepeat). Resolves with whether that repeat existed.
 */
export async function removeRepeat(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  key: string,
  name: string,
): Promise<boolean> {
  const n = await runScript(
    client,
    'removeRepeat',
    [k.repeats, k.delayed, k.counts, k.events],
    [k.base, key, maxEvents, name],
  );
  return Number(n) === 1;
}

/** What repairRepeat writes: '' keeps the stored value. */
export interface RepeatRepair {
  readonly key: string;
  /** The spec JSON the caller read; the write is skipped if it changed. */
  readonly specJson: string;
  readonly template: string;
  readonly cronSlots: string;
}

/**
 * Refills a schedule's template or cron slots and recreates its pending
 * occurrence when missing (repairRepeat). Resolves with the script's code:
 * 0 replaced or removed meanwhile; 1 present; 2 created; -1 no slot known.
 */
export async function repairRepeat(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  repair: RepeatRepair,
): Promise<number> {
  return Number(
    await runScript(
      client,
      'repairRepeat',
      [k.repeats, k.delayed, k.counts, k.events],
      [
        k.base,
        maxEvents,
        repair.key,
        repair.specJson,
        repair.template,
        repair.cronSlots,
      ],
    ),
  );
}
