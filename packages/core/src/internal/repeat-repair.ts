import type { QueueKeys } from '../keys.ts';
import type { RepeatSpec } from '../options.ts';
import { CRON_SLOTS_AHEAD, cronSlots, redisNow } from '../repeat.ts';
import { runScript, type RedisClient } from '../scripts/index.ts';

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
  for (const key of keys) pipe.hget(k.job(all[`${key}:next`] ?? ''), 's');
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
        if (left < CRON_SLOTS_AHEAD / 2) slots = cronSlots(spec, now);
      }
      const pending = states[i] === 'w' || states[i] === 'd';
      if (pending && template === '' && slots === '') continue;
      await runScript(
        client,
        'repairRepeat',
        [k.repeats, k.delayed, k.counts, k.events],
        [k.base, host.maxEvents, key, specJson, template, slots],
      );
    } catch (err) {
      host.reportError(err, `repairing repeat ${key} of queue ${k.queue}`);
    }
  }
}
