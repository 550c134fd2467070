import type { Command } from 'commander';
import type { QueueCounts, StateCounts, WaitingByVersion } from '@jobwire/core';
import {
  common,
  queueArg,
  STATES,
  withQueue,
  type CommonOptions,
  type Context,
} from '../context.ts';
import { json, table } from '../format.ts';

/** `record[key]` if it is the record's own, never an inherited member. */
function own<TValue>(
  record: Readonly<Record<string, TValue>>,
  key: string,
): TValue | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function zeroCounts(): StateCounts {
  return {
    waiting: 0,
    delayed: 0,
    active: 0,
    completed: 0,
    failed: 0,
    expired: 0,
    cancelled: 0,
  };
}

async function stats(ctx: Context): Promise<void> {
  const counts: QueueCounts = await ctx.queue.getCounts(queueArg(ctx));
  const queues = ctx.only === undefined ? ctx.registry.queues : [ctx.only];
  // Every job type of the selected queues, with zeros for those never used.
  // Null prototypes and own-key reads: a type may be named `constructor`.
  const byType = Object.create(null) as Record<string, StateCounts>;
  for (const name of ctx.registry.names) {
    const def = own(ctx.registry.jobs, name);
    if (def !== undefined && queues.includes(def.queue)) {
      byType[name] = own(counts.byType, name) ?? zeroCounts();
    }
  }
  for (const [name, c] of Object.entries(counts.byType)) byType[name] ??= c;
  const paused = Object.create(null) as Record<string, boolean>;
  for (const q of queues) paused[q] = await ctx.queue.isPaused(q);
  const totals: StateCounts = zeroCounts();
  for (const s of STATES) totals[s] = counts[s];
  const versions = await ctx.queue.getWaitingByVersion(queueArg(ctx));
  const layouts = await ctx.queue.getLayout(queueArg(ctx));
  if (ctx.json) {
    console.log(
      json({ ...totals, byType, paused, waitingByVersion: versions, layouts }),
    );
    return;
  }
  const rows = Object.entries(byType).map(([name, c]) => [
    name,
    own(ctx.registry.jobs, name)?.queue ?? '?',
    ...STATES.map((s) => String(c[s])),
  ]);
  rows.push(['total', '', ...STATES.map((s) => String(totals[s]))]);
  console.log(
    table(['TYPE', 'QUEUE', ...STATES.map((s) => s.toUpperCase())], rows),
  );
  const pausedQueues = queues.filter((q) => paused[q]);
  console.log(
    `\npaused: ${pausedQueues.length === 0 ? 'none' : pausedQueues.join(', ')}`,
  );
  console.log(
    `layout: ${layouts.map((l) => `${l.queue} ${l.layout === undefined ? 'none recorded' : String(l.layout)}`).join(', ')} (this jobwire supports up to ${String(layouts[0]?.supported ?? '?')})`,
  );
  printVersionLanes(versions);
}

/**
 * The waiting jobs per contract version, for the types with jobs above
 * version 1, and why a version waits when no live worker reads it.
 */
function printVersionLanes(versions: WaitingByVersion): void {
  const rows: string[][] = [];
  for (const [name, lanes] of Object.entries(versions)) {
    if (!lanes.some((l) => l.version > 1)) continue;
    for (const l of lanes) {
      let why = '';
      if (l.reason === 'no-reader') {
        why =
          l.newestReader === undefined
            ? `no worker reads v${l.version}`
            : `no worker reads v${l.version} (newest reads v${l.newestReader})`;
      }
      rows.push([name, `v${l.version}`, String(l.waiting), why]);
    }
  }
  if (rows.length === 0) return;
  console.log('\nwaiting by contract version:');
  console.log(table(['TYPE', 'VERSION', 'WAITING', 'WHY'], rows));
}

/** `jobwire stats`: counts per state and per job type. */
export function addStatsCommand(program: Command): void {
  common(program.command('stats'))
    .description('count jobs per state and per job type')
    .action((opts: CommonOptions) => withQueue(opts, stats));
}
