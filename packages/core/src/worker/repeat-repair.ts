import type { RepeatSpec } from '../contract/options.ts';
import { CRON_SLOTS_AHEAD, cronSlots, redisNow } from '../producer/repeat.ts';
import { JobField } from '../redis/job-fields.ts';
import type { QueueKeys } from '../redis/keys.ts';
import type { RedisClient } from '../redis/scripts/index.ts';
import {
  occurrenceTemplate,
  repairRepeat,
} from '../redis/transitions/repeat.ts';
import type { JobRegistry } from '../contract/define.ts';
import type { PreparedJob } from '../producer/prepared-job.ts';
import type { EnqueueOptions } from '../types.ts';

/** What the repair pass needs from its worker. */
export interface RepeatRepairHost {
  readonly client: RedisClient;
  readonly maxEvents: number;
  /** The occurrence template of a spec (for schedules of older versions). */
  template(spec: RepeatSpec): string;
  reportError(err: unknown, context: string): void;
}

/**
 * The repair pass over one queue's repeat schedules, run on a worker's
 * periodic check. Scripts keep each schedule's one pending occurrence as
 * they take, expire or remove occurrences; this pass covers what they
 * cannot: it refills cron slot lists before they run dry (only a client can
 * evaluate cron), gives schedules written by older versions a template,
 * and recreates a pending occurrence that is missing. Reads first and
 * calls the script only for a schedule that needs it.
 */
export async function repairRepeats(
  host: RepeatRepairHost,
  k: QueueKeys,
): Promise<void> {
  const client = host.client;
  const all = await client.hgetall(k.repeats);
  const keys = Object.keys(all).filter((f) => !f.includes(':'));
  if (keys.length === 0) return;
  const pipe = client.pipeline();
  for (const key of keys)
    pipe.hget(k.job(all[`${key}:next`] ?? ''), JobField.state);
  const states = ((await pipe.exec()) ?? []).map(([, v]) => v);
  const now = await redisNow(client);
  for (const [i, key] of keys.entries()) {
    const specJson = all[key]!;
    try {
      const spec = JSON.parse(specJson) as RepeatSpec;
      const template =
        all[`${key}:job`] === undefined ? host.template(spec) : '';
      let slots = '';
      if (spec.cron !== undefined) {
        const left = (all[`${key}:slots`] ?? '')
          .split(',')
          .filter((s) => s !== '' && Number(s) > now).length;
        if (left < CRON_SLOTS_AHEAD / 2) slots = await cronSlots(spec, now);
      }
      const pending = states[i] === 'w' || states[i] === 'd';
      if (pending && template === '' && slots === '') continue;
      await repairRepeat(client, k, host.maxEvents, {
        key,
        specJson,
        template,
        cronSlots: slots,
      });
    } catch (err) {
      host.reportError(err, `repairing repeat ${key} of queue ${k.queue}`);
    }
  }
}

/**
 * The repair pass over each of a worker's queues; a queue that fails is
 * reported, and the others still run.
 */
export async function repairQueues(
  host: RepeatRepairHost,
  queues: readonly QueueKeys[],
): Promise<void> {
  if (host.client.status !== 'ready') return;
  for (const k of queues) {
    try {
      await repairRepeats(host, k);
    } catch (err) {
      host.reportError(err, 'repairing repeat schedules');
    }
  }
}

/**
 * The occurrence template of a spec, built like its first occurrence; ''
 * for a job type this worker does not know (left to a worker that does).
 */
export function templateOf(
  spec: RepeatSpec,
  registry: JobRegistry,
  prepare: (
    name: string,
    payload: unknown,
    options: EnqueueOptions | undefined,
  ) => PreparedJob,
): string {
  if (!Object.hasOwn(registry.jobs, spec.name)) return '';
  const job = prepare(
    spec.name,
    JSON.parse(spec.data) as unknown,
    spec.options,
  );
  return occurrenceTemplate(job.input, spec);
}
