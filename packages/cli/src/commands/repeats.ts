import type { Command } from 'commander';
import type { JobRegistry, RepeatSpec } from '@jobwire/core';
import {
  CliError,
  common,
  withQueue,
  type CommonOptions,
  type Context,
} from '../context.ts';
import { json, table, time, timeFromNow } from '../format.ts';
import { UsageError } from '../registry.ts';

/**
 * A repeat key as `repeat()` takes it. Checked before Redis is asked: a
 * key is a field of the queue's schedule hash beside each schedule's
 * internals (`<key>:next`, …), so another string could name one of those.
 */
const REPEAT_KEY = /^[A-Za-z0-9_-]{1,64}$/;

function checkType(registry: JobRegistry, name: string): void {
  if (!registry.names.includes(name) || !Object.hasOwn(registry.jobs, name)) {
    throw new UsageError(
      `unknown job type '${name}' (the registry has ${registry.names.join(', ')})`,
    );
  }
}

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** An interval exactly: `30s`, `5m`, `1d`, `1.5s`, `250ms`. */
export function interval(ms: number): string {
  for (const [unit, size] of UNITS) {
    if (ms >= size && ms % size === 0) return `${String(ms / size)}${unit}`;
  }
  return ms >= 1000 ? `${String(ms / 1000)}s` : `${String(ms)}ms`;
}

/** `cron 0 8 * * * (Europe/Paris)` or `every 30s`. */
export function scheduleText(r: RepeatSpec): string {
  if (r.cron !== undefined) return `cron ${r.cron} (${r.tz ?? 'UTC'})`;
  if (r.everyMs !== undefined) return `every ${interval(r.everyMs)}`;
  return '-';
}

/** `from <time>, until <time>, limit 5`, or `-` for an unbounded schedule. */
export function boundsText(r: RepeatSpec): string {
  const parts: string[] = [];
  if (r.startAtMs !== undefined) parts.push(`from ${time(r.startAtMs)}`);
  if (r.endAtMs !== undefined) parts.push(`until ${time(r.endAtMs)}`);
  if (r.limit !== undefined) parts.push(`limit ${String(r.limit)}`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

/**
 * What the schedule's pending occurrence is doing: `delayed` (its slot is
 * ahead), `waiting` (due, for a worker), `ended`, or `none pending` (a
 * worker's repair pass recreates a lost occurrence).
 */
export function stateText(r: RepeatSpec): string {
  if (r.ended) return 'ended';
  return r.next?.state ?? 'none pending';
}

async function repeats(
  ctx: Context,
  opts: CommonOptions & { name?: string },
): Promise<void> {
  if (opts.name !== undefined) checkType(ctx.registry, opts.name);
  const shown: RepeatSpec[] = (await ctx.queue.getRepeats()).filter(
    (r) =>
      (ctx.only === undefined || r.queue === ctx.only) &&
      (opts.name === undefined || r.name === opts.name),
  );
  if (ctx.json) {
    console.log(json(shown));
    return;
  }
  if (shown.length === 0) {
    const where = [
      ...(opts.name === undefined ? [] : [`of type ${opts.name}`]),
      ...(ctx.only === undefined ? [] : [`in queue ${ctx.only}`]),
    ];
    console.log(['no repeat schedules', ...where].join(' '));
    return;
  }
  const now = Date.now();
  console.log(
    table(
      ['KEY', 'TYPE', 'QUEUE', 'SCHEDULE', 'BOUNDS', 'NEXT RUN', 'STATE'],
      shown.map((r) => [
        r.key,
        r.name,
        r.queue ?? '?',
        scheduleText(r),
        boundsText(r),
        timeFromNow(r.next?.runAt, now),
        stateText(r),
      ]),
    ),
  );
  const ended = shown.filter((r) => r.ended).length;
  console.log(
    `\n${String(shown.length)} repeat schedule${shown.length === 1 ? '' : 's'}${ended > 0 ? `, ${String(ended)} ended` : ''}`,
  );
}

/** `jobwire repeats`: the repeat schedules and when each runs next. */
export function addRepeatsCommand(program: Command): void {
  common(program.command('repeats'))
    .description(
      'list repeat schedules: cron or interval, bounds, next run, ended',
    )
    .option('--name <type>', 'only schedules of this job type')
    .action((opts: CommonOptions & { name?: string }) =>
      withQueue(opts, (ctx) => repeats(ctx, opts)),
    );
}

/** `jobwire remove-repeat <type> <key>`: stops a schedule. */
export function addRemoveRepeatCommand(program: Command): void {
  common(program.command('remove-repeat'), false)
    .description(
      'stop a repeat schedule and remove its pending occurrence (an ended one too)',
    )
    .argument('<type>', 'job type')
    .argument('<key>', 'repeat key')
    .action((name: string, key: string, opts: CommonOptions) => {
      // Bad input, refused before Redis is asked.
      if (!REPEAT_KEY.test(key))
        throw new UsageError(
          `invalid repeat key '${key}': 1 to 64 letters, digits, _ or -`,
        );
      return withQueue(opts, async (ctx) => {
        checkType(ctx.registry, name);
        const removed = await ctx.queue.removeRepeat(name, key);
        if (!removed)
          throw new CliError(
            `repeat schedule ${key} of ${name} does not exist`,
          );
        if (ctx.json)
          console.log(json({ ok: true, action: 'remove-repeat', name, key }));
        else console.log(`removed repeat schedule ${key} of ${name}`);
      });
    });
}
