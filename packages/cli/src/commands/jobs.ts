import { Argument, type Command } from 'commander';
import type { JobInfo, JobState } from '@jobwire/core';
import {
  common,
  intParser,
  queueArg,
  STATES,
  withQueue,
  type CommonOptions,
} from '../context.ts';
import { json, leaseRanOut, short, table, time } from '../format.ts';
import { UsageError } from '../registry.ts';

function detail(job: JobInfo): string {
  switch (job.state) {
    case 'delayed':
      return `due ${time(job.dueAt)}`;
    case 'failed':
    case 'expired': {
      const last = job.errors[job.errors.length - 1];
      return last === undefined ? '' : short(`${last.name}: ${last.message}`);
    }
    case 'completed':
      return `finished ${time(job.finishedAt)}`;
    case 'cancelled':
      return short(
        `cancelled ${time(job.finishedAt)}${job.cancelReason === undefined ? '' : `: ${job.cancelReason}`}`,
      );
    case 'active': {
      const orphaned = leaseRanOut(job.leaseExpiresAt) ? ', lease ran out' : '';
      return job.cancelRequestedAt === undefined
        ? `started ${time(job.startedAt)}${orphaned}`
        : `started ${time(job.startedAt)}, cancel requested${orphaned}`;
    }
    case 'waiting':
      return '';
  }
}

/** `jobwire jobs <state>`: one page of jobs in a state, oldest first. */
export function addJobsCommand(program: Command): void {
  common(program.command('jobs'))
    .description('list jobs in one state, oldest first')
    .addArgument(new Argument('<state>', 'job state').choices(STATES))
    .option('--name <type>', 'only jobs of this type')
    .option('--offset <n>', 'jobs to skip', intParser('--offset', 0), 0)
    .option(
      '--limit <n>',
      'jobs to show (max 1000)',
      // The library shows 1000 at most: more would be cut without a word.
      intParser('--limit', 1, 1000),
      50,
    )
    .option(
      '--upcast',
      "show older contract versions' data as the current version's handler gets it",
    )
    .action(
      (
        state: JobState,
        opts: CommonOptions & {
          name?: string;
          offset: number;
          limit: number;
          upcast?: true;
        },
      ) =>
        withQueue(opts, async (ctx) => {
          if (
            opts.name !== undefined &&
            !ctx.registry.names.includes(opts.name)
          ) {
            throw new UsageError(
              `unknown job type '${opts.name}' (the registry has ${ctx.registry.names.join(', ')})`,
            );
          }
          const jobs = await ctx.queue.getJobs(state, {
            ...queueArg(ctx),
            ...(opts.name === undefined ? {} : { name: opts.name }),
            offset: opts.offset,
            limit: opts.limit,
            ...(opts.upcast ? { upcast: true } : {}),
          });
          if (ctx.json) {
            console.log(json(jobs));
            return;
          }
          if (jobs.length === 0) {
            console.log(`no ${state} jobs`);
            return;
          }
          console.log(
            table(
              ['ID', 'NAME', 'QUEUE', 'ATTEMPTS', 'CREATED', 'DETAIL'],
              jobs.map((j) => [
                j.id,
                j.name,
                j.queue,
                `${String(j.attemptsMade)}/${String(j.attempts)}`,
                time(j.createdAt),
                j.upcastError === undefined
                  ? detail(j)
                  : short(`upcast failed: ${j.upcastError.code}`),
              ]),
            ),
          );
          const from = opts.offset + 1;
          console.log(
            `\n${state} jobs ${String(from)}-${String(opts.offset + jobs.length)}`,
          );
        }),
    );
}
