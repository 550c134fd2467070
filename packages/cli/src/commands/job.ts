import type { Command } from 'commander';
import type { JobInfo } from '@jobwire/core';
import {
  CliError,
  common,
  queueArg,
  withQueue,
  type CommonOptions,
} from '../context.ts';
import { block, json, leaseRanOut, time } from '../format.ts';

function printJob(job: JobInfo): void {
  const lines = [
    `id:        ${job.id}`,
    `name:      ${job.name}`,
    `queue:     ${job.queue}`,
    `state:     ${job.state}`,
    `attempts:  ${String(job.attemptsMade)}/${String(job.attempts)} (stalls ${String(job.stalls)}, deliveries ${String(job.deliveries)})`,
    `priority:  ${String(job.priority)}`,
    `created:   ${time(job.createdAt)}`,
    `started:   ${time(job.startedAt)}`,
    `finished:  ${time(job.finishedAt)}`,
  ];
  if (job.dueAt !== undefined) lines.push(`due:       ${time(job.dueAt)}`);
  if (job.leaseExpiresAt !== undefined)
    lines.push(`lease:     ${leaseLine(job.leaseExpiresAt)}`);
  const cancel = cancelLine(job);
  if (cancel !== undefined) lines.push(`cancel:    ${cancel}`);
  lines.push(
    `version:   ${String(job.version)}${job.fingerprint ? ` (fingerprint ${job.fingerprint})` : ''}`,
    block(dataLabel(job), job.data),
    block('progress', job.progress),
    block('result', job.result),
  );
  if (job.upcastError !== undefined) {
    const e = job.upcastError;
    lines.push(`upcast:    failed, ${e.name} [${e.code}]: ${e.message}`);
  }
  if (job.errors.length === 0) lines.push('errors: none');
  else {
    lines.push('errors:');
    for (const e of job.errors) {
      const at = e.attempt === undefined ? '' : `attempt ${String(e.attempt)} `;
      const when = e.at === undefined ? '' : ` (${time(e.at)})`;
      lines.push(`  ${at}${e.name} [${e.code}]: ${e.message}${when}`);
    }
  }
  if (job.logs.length === 0) lines.push('logs: none');
  else {
    lines.push('logs:');
    for (const l of job.logs) lines.push(`  ${l}`);
  }
  console.log(lines.join('\n'));
}

/**
 * A requested cancel of an active job (it ends once its handler is
 * aborted), or a cancelled job's reason: what `jobs active` and the
 * dashboard show, and what an operator checks after `jobwire cancel`.
 */
function cancelLine(job: JobInfo): string | undefined {
  const reason =
    job.cancelReason === undefined ? '' : `, reason: ${job.cancelReason}`;
  if (job.state === 'cancelled')
    return job.cancelReason === undefined
      ? undefined
      : `reason: ${job.cancelReason}`;
  if (job.cancelRequestedAt === undefined) return undefined;
  return `requested ${time(job.cancelRequestedAt)}${reason}`;
}

/**
 * An active job's lease: a deadline in the past tells an operator the job
 * is orphaned (its worker died or froze), not running.
 */
function leaseLine(until: number): string {
  return leaseRanOut(until)
    ? `ran out ${time(until)}: its worker died or froze; the next stall check puts it back to waiting`
    : `until ${time(until)} (renewed by a live worker)`;
}

/** "data", or "data (as v2)" when `--upcast` brought an older job up to date. */
function dataLabel(job: JobInfo): string {
  return job.dataVersion !== undefined && job.dataVersion !== job.version
    ? `data (as v${String(job.dataVersion)})`
    : 'data';
}

/** `jobwire job <id>`: everything about one job. */
export function addJobCommand(program: Command): void {
  common(program.command('job'))
    .description('show one job: data, progress, logs, attempts, errors, result')
    .argument('<id>', 'job id')
    .option(
      '--upcast',
      "show an older contract version's data as the current version's handler gets it",
    )
    .action((id: string, opts: CommonOptions & { upcast?: true }) =>
      withQueue(opts, async (ctx) => {
        const job = await ctx.queue.getJob(id, {
          ...queueArg(ctx),
          ...(opts.upcast ? { upcast: true } : {}),
        });
        if (job === undefined) {
          throw new CliError(
            `job ${id} does not exist${ctx.only === undefined ? '' : ` in queue ${ctx.only}`}`,
          );
        }
        if (ctx.json) console.log(json(job));
        else printJob(job);
      }),
    );
}
