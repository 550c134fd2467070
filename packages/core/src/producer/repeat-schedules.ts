import type { RepeatSpec } from '../contract/options.ts';
import { withRedis } from '../redis/connection.ts';
import type { QueueContext } from '../redis/queue-context.ts';
import type { EnqueueOptions } from '../types.ts';
import type { RepeatOptions } from './repeat.ts';

/** A repeat's spec, as stored in the queue's repeats hash. */
export function repeatSpec(
  name: string,
  payload: unknown,
  repeat: RepeatOptions,
  options: Omit<EnqueueOptions, 'jobId' | 'delayMs' | 'runAt'> | undefined,
): RepeatSpec {
  return {
    key: repeat.key,
    name,
    data: JSON.stringify(payload),
    ...(repeat.cron !== undefined
      ? { cron: repeat.cron, tz: repeat.tz ?? 'UTC' }
      : { everyMs: repeat.everyMs }),
    ...(options !== undefined ? { options } : {}),
  };
}

/** The repeats declared in the queues of the context's registry, by key. */
export async function listRepeats(ctx: QueueContext): Promise<RepeatSpec[]> {
  const out: RepeatSpec[] = [];
  for (const q of ctx.registry.queues) {
    const all = await withRedis(ctx.client, ctx.connectTimeoutMs, () =>
      ctx.client.hgetall(ctx.keys(q).repeats),
    );
    for (const [field, value] of Object.entries(all)) {
      if (!field.endsWith(':next')) out.push(JSON.parse(value) as RepeatSpec);
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}
