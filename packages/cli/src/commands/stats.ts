import type { Command } from 'commander';
import type {
  FlowKeyStats,
  FlowStats,
  QueueCounts,
  StateCounts,
  TypeFlowStats,
  WaitingByVersion,
} from '@jobwire/core';
import {
  common,
  queueArg,
  STATES,
  withQueue,
  type CommonOptions,
  type Context,
} from '../context.ts';
import { duration, json, short, table } from '../format.ts';

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
  const flow = await ctx.queue.getFlowStats(queueArg(ctx));
  const layouts = await ctx.queue.getLayout(queueArg(ctx));
  if (ctx.json) {
    console.log(
      json({
        ...totals,
        byType,
        paused,
        waitingByVersion: versions,
        layouts,
        flow,
      }),
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
  printFlow(flow);
}

/** Keys listed per type in the human output (`--json` has up to 50). */
const FLOW_KEYS_SHOWN = 10;

/**
 * A flow key on one line: keys come from payloads, so control characters
 * (a terminal escape) are shown as `?`; an empty or blank key is the
 * per-type rule's.
 */
function keyText(key: string): string {
  if (key.trim() === '') return '(type)';
  // eslint-disable-next-line no-control-regex
  return short(key.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'), 40);
}

/** The rules of a type, e.g. `rate 100/1s per key; 2 active per key`. */
function rulesText(t: TypeFlowStats): string {
  const r = t.rules;
  const parts: string[] = [];
  if (r.rateLimit)
    parts.push(
      `rate ${r.rateLimit.limit}/${duration(r.rateLimit.perMs)}${r.rateLimit.keyed ? ' per key' : ''}`,
    );
  if (r.concurrency) parts.push(`${r.concurrency.limit} active per key`);
  if (r.throttle)
    parts.push(`throttle ${r.throttle.limit}/${duration(r.throttle.periodMs)}`);
  if (r.debounce) parts.push(`debounce ${duration(r.debounce.periodMs)}`);
  return parts.length === 0 ? '-' : parts.join('; ');
}

/** The type-wide rate window now, e.g. `100/100 (full, frees in 40ms)`. */
function windowText(t: TypeFlowStats): string {
  const w = t.rate;
  if (w === undefined) return '-';
  if (!w.capped) return `${w.used}/${w.limit}`;
  const frees =
    w.freesInMs === undefined ? '' : `, frees in ${duration(w.freesInMs)}`;
  return `${w.used}/${w.limit} (full${frees})`;
}

/** Why a key's jobs wait, in an operator's words. */
function whyText(t: TypeFlowStats, k: FlowKeyStats): string {
  if (k.why === 'concurrency')
    return `concurrency limit (${k.active}/${t.rules.concurrency?.limit ?? '?'} active)`;
  if (k.why === 'rate')
    return k.freesInMs === undefined
      ? 'rate limit'
      : `rate limit (frees in ${duration(k.freesInMs)})`;
  return t.rate?.capped ? 'turn (type-wide rate window full)' : 'turn';
}

/**
 * The flow control section: per type with flow rules or counts, its
 * rules, type-wide rate window, throttled and debounced jobs and waiting
 * keys; then per type its top keys and why each waits, and the keys the
 * throttle dropped most jobs of.
 */
function printFlow(flow: FlowStats): void {
  const types = Object.entries(flow);
  if (types.length === 0) return;
  console.log('\nflow control:');
  console.log(
    table(
      [
        'TYPE',
        'RULES',
        'RATE WINDOW',
        'KEYS WAITING',
        'THROTTLED',
        'DEBOUNCED',
      ],
      types.map(([name, t]) => [
        name,
        rulesText(t),
        windowText(t),
        `${t.keyCounts.exact ? '' : '<='}${t.keyCounts.total}`,
        String(t.throttled),
        String(t.debounced),
      ]),
    ),
  );
  for (const [name, t] of types) {
    if (t.keys.length > 0) {
      const shown = t.keys.slice(0, FLOW_KEYS_SHOWN);
      const of = t.keyCounts.exact
        ? `${t.keyCounts.total}`
        : `at most ${t.keyCounts.total}`;
      console.log(
        `\n${name}: top ${shown.length} of ${of} keys by waiting jobs`,
      );
      console.log(
        table(
          ['KEY', 'WAITING', 'ACTIVE', 'WHY'],
          shown.map((k) => [
            keyText(k.key),
            String(k.waiting),
            String(k.active),
            whyText(t, k),
          ]),
        ),
      );
    }
    if (t.throttledKeys.length > 0) {
      const top = t.throttledKeys
        .slice(0, FLOW_KEYS_SHOWN)
        .map((k) => `${keyText(k.key)} ${k.dropped}`)
        .join(', ');
      console.log(`\n${name}: most throttled keys: ${top}`);
    }
  }
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
    .description(
      'count jobs per state and per job type, and what waits on a flow limit',
    )
    .action((opts: CommonOptions) => withQueue(opts, stats));
}
