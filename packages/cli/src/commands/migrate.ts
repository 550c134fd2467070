import type { Command } from 'commander';
import type { MigrateReport, VersionCounts } from '@jobwire/core';
import {
  CliError,
  common,
  intParser,
  MAX_BATCH,
  withQueue,
  type CommonOptions,
  type Context,
} from '../context.ts';
import { json, short, table } from '../format.ts';
import { UsageError } from '../registry.ts';

interface MigrateFlags extends CommonOptions {
  dryRun: boolean;
  batch?: number;
  sample?: number;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function counts(rows: VersionCounts[]): string {
  if (rows.length === 0) return '  no waiting or delayed jobs';
  return indent(
    table(
      ['VERSION', 'WAITING', 'DELAYED'],
      rows.map((r) => [
        String(r.version),
        String(r.waiting),
        String(r.delayed),
      ]),
    ),
  );
}

function plural(n: number, what: string): string {
  return `${String(n)} ${what}${n === 1 ? '' : 's'}`;
}

/** The report as text: counts before and after, the outcome, failures, the sample. */
export function formatReport(r: MigrateReport): string {
  const out: string[] = [
    `${r.name} in queue ${r.queue}: current version ${String(r.version)}${r.dryRun ? ' (dry run: nothing written)' : ''}`,
    '',
    'before:',
    counts(r.before),
    r.dryRun ? 'after (if run):' : 'after:',
    counts(r.after),
    '',
    r.dryRun
      ? `would migrate ${plural(r.migrated, 'job')}, ${String(r.failed)} failed`
      : `migrated ${plural(r.migrated, 'job')}, ${String(r.skipped)} skipped (changed meanwhile), ${String(r.failed)} failed`,
  ];
  const rp = r.repeats;
  if (rp.migrated + rp.skipped + rp.failed > 0)
    out.push(
      r.dryRun
        ? `would migrate ${plural(rp.migrated, 'repeat schedule')}, ${String(rp.failed)} failed`
        : `migrated ${plural(rp.migrated, 'repeat schedule')}, ${String(rp.skipped)} skipped (changed meanwhile), ${String(rp.failed)} failed`,
    );
  if (r.failed > 0) {
    out.push(
      '',
      `failed, left as they were${r.failures.length < r.failed ? ` (the first ${String(r.failures.length)})` : ''}:`,
      indent(
        table(
          ['ID', 'STATE', 'VERSION', 'ERROR'],
          r.failures.map((f) => [
            f.id,
            f.state,
            String(f.version),
            short(`${f.error.code}: ${f.error.message}`, 100),
          ]),
        ),
      ),
    );
  }
  if (rp.failed > 0) {
    out.push(
      '',
      `repeat schedules failed, left as they were${rp.failures.length < rp.failed ? ` (the first ${String(rp.failures.length)})` : ''}:`,
      indent(
        table(
          ['REPEAT', 'VERSION', 'ERROR'],
          rp.failures.map((f) => [
            f.key,
            String(f.version),
            short(`${f.error.code}: ${f.error.message}`, 100),
          ]),
        ),
      ),
    );
  }
  if (r.sample.length > 0) {
    out.push('', 'sample:');
    for (const s of r.sample)
      out.push(
        `  ${s.id} (${s.state}, version ${String(s.fromVersion)} -> ${String(r.version)})`,
        `    before: ${JSON.stringify(s.before)}`,
        `    after:  ${JSON.stringify(s.after)}`,
      );
  }
  return out.join('\n');
}

async function migrate(
  ctx: Context,
  name: string,
  opts: MigrateFlags,
): Promise<void> {
  if (!ctx.registry.names.includes(name)) {
    throw new UsageError(
      `unknown job type '${name}' (the registry has ${ctx.registry.names.join(', ')})`,
    );
  }
  const report = await ctx.queue.migrate(name, {
    dryRun: opts.dryRun,
    ...(ctx.only === undefined ? {} : { queue: ctx.only }),
    ...(opts.batch === undefined ? {} : { batchSize: opts.batch }),
    ...(opts.sample === undefined ? {} : { sample: opts.sample }),
  });
  console.log(ctx.json ? json(report) : formatReport(report));
  // Exit 1, as any command that could not do all it was asked: the jobs
  // are still queued, and a worker would fail them.
  if (report.failed > 0 || report.repeats.failed > 0) {
    const what = [
      ...(report.failed > 0 ? [plural(report.failed, 'job')] : []),
      ...(report.repeats.failed > 0
        ? [plural(report.repeats.failed, 'repeat schedule')]
        : []),
    ].join(' and ');
    throw new CliError(
      `${what} of ${name} could not be ${report.dryRun ? 'upcast' : 'migrated'}; left as they were`,
    );
  }
}

/** `jobwire migrate <type>`: rewrites queued jobs of older versions to the current one. */
export function addMigrateCommand(program: Command): void {
  common(program.command('migrate'))
    .description(
      "rewrite a type's waiting and delayed jobs and repeat schedules of older contract versions to its current version",
    )
    .argument('<type>', 'job type')
    .option('--dry-run', 'count and show a sample; write nothing', false)
    .option(
      '--batch <n>',
      'jobs per atomic batch (default 500, max 10000)',
      intParser('--batch', 1, MAX_BATCH),
    )
    .option(
      '--sample <n>',
      'jobs a dry run shows (default 3)',
      intParser('--sample', 0),
    )
    .action((name: string, opts: MigrateFlags) =>
      withQueue(opts, (ctx) => migrate(ctx, name, opts)),
    );
}
