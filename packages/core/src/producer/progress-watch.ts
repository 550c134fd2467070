/**
 * `watchProgress`: one job's typed progress values from its queue's event
 * log, until the job finishes.
 */
import { getDefinition, type JobMap } from '../contract/define.ts';
import { QueueEvents } from '../ops/queue-events.ts';
import type { TypedQueueEvent } from '../ops/typed-read.ts';
import type { ConnectionOptions } from '../redis/connection.ts';
import type { QueueContext } from '../redis/queue-context.ts';

/** Whether stream id `a` is at or after `b` (`<ms>-<seq>`). */
function atOrAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am > bm || (am === bm && as >= bs);
}

/**
 * The id of the queue's last event, or undefined when Redis cannot say:
 * the outcome is known by then, so a restart costs only the progress
 * values not yet read, never the result.
 */
async function logEnd(
  ctx: QueueContext,
  queue: string,
): Promise<string | undefined> {
  try {
    const last = await ctx.client.xrevrange(
      ctx.keys(queue).events,
      '+',
      '-',
      'COUNT',
      1,
    );
    return last[0]?.[0] ?? '0-0';
  } catch {
    return undefined;
  }
}

/**
 * Calls `onProgress` with each progress value job `id` (of type `name`)
 * publishes, in order, then settles as `finished` does. The log is read
 * from its start, filtered to the job, so values published before the
 * call are reported too (as far as the capped log retains them).
 */
export async function watchProgress<TResult>(
  ctx: QueueContext,
  options: ConnectionOptions,
  name: string,
  id: string,
  onProgress: (progress: never) => void,
  finished: Promise<TResult>,
): Promise<TResult> {
  const registry = ctx.registry;
  const queue = getDefinition(registry, name).queue;
  const events = new QueueEvents<TypedQueueEvent<JobMap>>({
    ...options,
    queue,
    from: '0',
    jobs: registry,
  });
  let seenEnd = false;
  let wake: () => void = () => {};
  events.on('event', (e) => {
    if (e.jobId !== id || e.name !== name) return;
    // A callback that throws misses nothing later: its error is logged.
    if (e.progress !== undefined) {
      try {
        onProgress(e.progress as never);
      } catch (err) {
        ctx.logger.warn(
          `watchProgress callback for ${name} job ${id} threw: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    if (e.event === 'completed' || e.event === 'failed') {
      seenEnd = true;
      wake();
    }
  });
  events.on('error', () => {});
  try {
    const result = await finished;
    // The job's last event is in the log by now: report every value up to
    // it before resolving. Reaching the log's current end also ends the
    // wait, in case a flood of events trimmed the job's own away.
    const end = await logEnd(ctx, queue);
    while (!seenEnd && end !== undefined && !atOrAfter(events.offset, end)) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    return result;
  } finally {
    await events.close();
  }
}
