import { Argument, type Command } from 'commander';
import {
  common,
  intParser,
  MAX_CANCEL_REASON,
  queueArg,
  withQueue,
  type CommonOptions,
} from '../context.ts';
import { json } from '../format.ts';
import { UsageError } from '../registry.ts';

const CLEANABLE = ['completed', 'failed', 'expired', 'cancelled'] as const;

type Action = 'retry' | 'remove' | 'promote';
const PAST: Record<Action, string> = {
  retry: 'retried',
  remove: 'removed',
  promote: 'promoted',
};

/** `jobwire retry|remove|promote <id>`: one job's admin actions. */
export function addJobActionCommands(program: Command): void {
  const actions: [Action, string][] = [
    ['retry', 'send a failed or expired job back to waiting'],
    ['remove', 'remove a job that is not active'],
    ['promote', 'make a delayed job runnable now'],
  ];
  for (const [action, description] of actions) {
    common(program.command(action))
      .description(description)
      .argument('<id>', 'job id')
      .action((id: string, opts: CommonOptions) =>
        withQueue(opts, async (ctx) => {
          await ctx.queue[action](id, queueArg(ctx));
          if (ctx.json) console.log(json({ ok: true, action, id }));
          else console.log(`${PAST[action]} job ${id}`);
        }),
      );
  }
}

/**
 * `jobwire cancel <id> [--reason r]`: a waiting or delayed job ends as
 * cancelled at once; an active one's handler is aborted at its worker's
 * next lease renewal, and the job then ends as cancelled.
 */
export function addCancelCommand(program: Command): void {
  common(program.command('cancel'))
    .description(
      'cancel a waiting, delayed or active job (an active one ends once its handler is aborted)',
    )
    .argument('<id>', 'job id')
    .option('--reason <text>', 'why: stored on the job and sent to its handler')
    .action((id: string, opts: CommonOptions & { reason?: string }) => {
      // Bad input, refused before the schema loads or Redis is asked.
      if (opts.reason !== undefined && opts.reason.length > MAX_CANCEL_REASON)
        throw new UsageError(
          `--reason must be at most ${String(MAX_CANCEL_REASON)} characters, got ${String(opts.reason.length)}`,
        );
      return withQueue(opts, async (ctx) => {
        const outcome = await ctx.queue.cancel(id, {
          ...queueArg(ctx),
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        });
        if (ctx.json)
          console.log(json({ ok: true, action: 'cancel', id, outcome }));
        else if (outcome === 'cancelled') console.log(`cancelled job ${id}`);
        else
          console.log(
            `cancel of active job ${id} requested: its handler is aborted at the next lease renewal, then it ends as cancelled`,
          );
      });
    });
}

/** `jobwire clean <state>`: removes old finished jobs. */
export function addCleanCommand(program: Command): void {
  common(program.command('clean'))
    .description('remove finished jobs older than --older-than')
    .addArgument(new Argument('<state>', 'job state').choices(CLEANABLE))
    .option(
      '--older-than <ms>',
      'only jobs finished at least this long ago',
      intParser('--older-than', 0),
      0,
    )
    .option(
      '--limit <n>',
      'jobs to remove at most',
      intParser('--limit', 1),
      1000,
    )
    .action(
      (
        state: (typeof CLEANABLE)[number],
        opts: CommonOptions & { olderThan: number; limit: number },
      ) =>
        withQueue(opts, async (ctx) => {
          const removed = await ctx.queue.clean(
            state,
            opts.olderThan,
            opts.limit,
            queueArg(ctx),
          );
          if (ctx.json) console.log(json({ removed }));
          else
            console.log(
              `removed ${String(removed.length)} ${state} job${removed.length === 1 ? '' : 's'}`,
            );
        }),
    );
}

/** `jobwire pause|resume`: stops or restarts job taking on queues. */
export function addPauseCommands(program: Command): void {
  for (const action of ['pause', 'resume'] as const) {
    common(program.command(action))
      .description(
        action === 'pause'
          ? 'stop workers from taking jobs (all queues without --queue)'
          : 'let workers take jobs again',
      )
      .action((opts: CommonOptions) =>
        withQueue(opts, async (ctx) => {
          await ctx.queue[action](queueArg(ctx));
          const queues =
            ctx.only === undefined ? [...ctx.registry.queues] : [ctx.only];
          if (ctx.json)
            console.log(
              json({ [action === 'pause' ? 'paused' : 'resumed']: queues }),
            );
          else
            console.log(
              `${action === 'pause' ? 'paused' : 'resumed'} ${queues.join(', ')}`,
            );
        }),
      );
  }
}
