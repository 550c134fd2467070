import type { Command } from 'commander';
import type { LayoutMigrateReport } from '@jobwire/core';
import {
  CliError,
  common,
  intParser,
  MAX_BATCH,
  queueArg,
  withQueue,
  type CommonOptions,
  type Context,
} from '../context.ts';
import { json } from '../format.ts';

interface LayoutFlags extends CommonOptions {
  dryRun: boolean;
  batch?: number;
}

function layoutName(layout: number | undefined): string {
  return layout === undefined ? 'none recorded' : String(layout);
}

/** `n thing` or `n things`. */
function count(n: number, thing: string, things: string): string {
  return `${String(n)} ${n === 1 ? thing : things}`;
}

/** One queue's report as a line of text. */
export function formatLayoutReport(r: LayoutMigrateReport): string {
  const moved = `${count(r.payloads, 'payload', 'payloads')} and ${count(r.logs, 'log list', 'log lists')}`;
  if (r.dryRun)
    return `${r.queue}: layout ${layoutName(r.layoutBefore)}; would move ${moved} to the current form (dry run: nothing written)`;
  return `${r.queue}: layout ${layoutName(r.layoutBefore)} -> ${layoutName(r.layout)}; moved ${moved} in ${count(r.passes, 'pass', 'passes')}${r.complete ? '' : '; jobs kept moving: run it again'}`;
}

async function migrateLayout(ctx: Context, opts: LayoutFlags): Promise<void> {
  const reports = await ctx.queue.migrateLayout({
    ...queueArg(ctx),
    dryRun: opts.dryRun,
    ...(opts.batch === undefined ? {} : { batchSize: opts.batch }),
  });
  console.log(
    ctx.json ? json(reports) : reports.map(formatLayoutReport).join('\n'),
  );
  const incomplete = reports.filter((r) => !r.dryRun && !r.complete);
  if (incomplete.length > 0)
    throw new CliError(
      `jobs of ${incomplete.map((r) => r.queue).join(', ')} kept moving through every pass; run migrate-layout again`,
    );
}

/** `jobwire migrate-layout`: rewrites jobs stored by an older layout into the current one. */
export function addMigrateLayoutCommand(program: Command): void {
  common(program.command('migrate-layout'))
    .description(
      'rewrite jobs stored in an older storage layout (payload in the job hash, logs at j:<id>:log) into the current one, and record it',
    )
    .option('--dry-run', 'count what would move; write nothing', false)
    .option(
      '--batch <n>',
      'jobs per atomic batch (default 500, max 10000)',
      intParser('--batch', 1, MAX_BATCH),
    )
    .action((opts: LayoutFlags) =>
      withQueue(opts, (ctx) => migrateLayout(ctx, opts)),
    );
}
