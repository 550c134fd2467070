import type { RepeatSpec } from '../contract/options.ts';
import { ErrorCode, JobwireError } from '../errors.ts';
import { withRedis } from '../redis/connection.ts';
import { JobField } from '../redis/job-fields.ts';
import {
  withRedisPastBusy,
  type QueueContext,
} from '../redis/queue-context.ts';
import { occurrenceTemplate, setRepeat } from '../redis/transitions/repeat.ts';
import type { EnqueueOptions } from '../types.ts';
import type { PreparedJob } from './prepared-job.ts';
import { cronSlots, redisNow, type RepeatOptions } from './repeat.ts';

/** The suffix of an ended schedule's spec field (includes/repeat.lua). */
const ENDED = ':ended';

/**
 * A repeat's spec, as stored in the queue's repeats hash, with the
 * validated payload as every enqueue stores it (`dataJson`). setRepeat
 * compares specs as values, so key order does not make another spec.
 */
export function repeatSpec(
  name: string,
  dataJson: string,
  repeat: RepeatOptions,
  options: Omit<EnqueueOptions, 'jobId' | 'delayMs' | 'runAt'> | undefined,
): RepeatSpec {
  return {
    key: repeat.key,
    name,
    data: dataJson,
    ...(repeat.cron !== undefined
      ? { cron: repeat.cron, tz: repeat.tz ?? 'UTC' }
      : { everyMs: repeat.everyMs }),
    ...(options !== undefined ? { options } : {}),
    ...(repeat.startAt !== undefined ? { startAtMs: +repeat.startAt } : {}),
    ...(repeat.endAt !== undefined ? { endAtMs: +repeat.endAt } : {}),
    ...(repeat.limit !== undefined ? { limit: repeat.limit } : {}),
  };
}

/**
 * The repeats declared in the queues of the context's registry, by key,
 * each with its pending occurrence (`next`).
 */
export async function listRepeats(ctx: QueueContext): Promise<RepeatSpec[]> {
  const out: RepeatSpec[] = [];
  for (const q of ctx.registry.queues) {
    const k = ctx.keys(q);
    const all = await withRedis(ctx.client, ctx.connectTimeoutMs, () =>
      ctx.client.hgetall(k.repeats),
    );
    const live: RepeatSpec[] = [];
    // The queue after the key and type: listings read it in that order.
    const inQueue = ({ key, name, ...rest }: RepeatSpec): RepeatSpec => ({
      key,
      name,
      queue: q,
      ...rest,
    });
    for (const [field, value] of Object.entries(all)) {
      // Other fields (`<key>:next`, `:job`, `:slots`, …) are the schedule's
      // internals; repeat keys never hold ':'. An ended schedule keeps its
      // spec as `<key>:ended` (includes/repeat.lua).
      if (!field.includes(':'))
        live.push(inQueue(JSON.parse(value) as RepeatSpec));
      // A live spec under the same key wins: an older jobwire declared it
      // again and knows nothing of ended schedules.
      else if (
        field.endsWith(ENDED) &&
        all[field.slice(0, -ENDED.length)] === undefined
      )
        out.push({ ...inQueue(JSON.parse(value) as RepeatSpec), ended: true });
    }
    const ids = live.map((spec) => all[`${spec.key}:next`] ?? '');
    // One round trip for the queue: each pending occurrence's state.
    const states = await withRedis(ctx.client, ctx.connectTimeoutMs, () => {
      const pipe = ctx.client.pipeline();
      for (const id of ids) pipe.hget(k.job(id), JobField.state);
      return pipe.exec();
    }).then((replies) => (replies ?? []).map(([, state]) => state));
    for (const [i, spec] of live.entries()) {
      const id = ids[i]!;
      const state = states[i];
      // rpt.<key>.<slot ms>
      const runAt = Number(id.slice(id.lastIndexOf('.') + 1));
      out.push(
        id !== '' && (state === 'd' || state === 'w')
          ? {
              ...spec,
              next: {
                id,
                runAt,
                state: state === 'd' ? 'delayed' : 'waiting',
              },
            }
          : spec,
      );
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Writes a schedule and its pending occurrence (built from `job`, the
 * validated first occurrence). Resolves with the occurrence's id, and
 * whether the same spec was declared already (nothing changed).
 */
export async function scheduleRepeat(
  ctx: QueueContext,
  job: PreparedJob,
  spec: RepeatSpec,
): Promise<{ id: string; kept: boolean }> {
  const k = ctx.keys(job.queue);
  const { id, kept } = await withRedisPastBusy(ctx, async () =>
    setRepeat(ctx.client, k, ctx.maxEvents, {
      key: spec.key,
      specJson: JSON.stringify(spec),
      template: occurrenceTemplate(job.input, spec),
      // Cron slots come from the Redis clock, so skewed hosts agree.
      cronSlots:
        spec.cron !== undefined
          ? await cronSlots(spec, await redisNow(ctx.client))
          : '',
    }),
  );
  if (id === undefined) {
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `repeat ${spec.key}: the schedule has no upcoming slot (${
        spec.endAtMs !== undefined
          ? 'its endAt has passed, or its cron expression has none before it'
          : 'its cron expression has none'
      })`,
    );
  }
  return { id, kept };
}
