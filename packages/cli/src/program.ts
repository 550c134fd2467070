import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  Argument,
  Command,
  CommanderError,
  InvalidArgumentError,
  Option,
} from 'commander';
import {
  createQueue,
  JobwireError,
  type ConnectionInput,
  type JobInfo,
  type JobRegistry,
  type JobState,
  type Logger,
  type Queue,
  type QueueCounts,
  type StateCounts,
} from '@jobwire/core';
import { block, json, short, table, time } from './format.ts';
import { loadRegistry, UsageError } from './registry.ts';

const STATES = [
  'waiting',
  'delayed',
  'active',
  'completed',
  'failed',
  'expired',
] as const satisfies readonly JobState[];
const CLEANABLE = ['completed', 'failed', 'expired'] as const;

/** Options every queue command takes. */
interface CommonOptions {
  schema: string;
  prefix?: string;
  json: boolean;
  queue?: string;
}

interface Context {
  queue: Queue<JobRegistry['jobs']>;
  registry: JobRegistry;
  json: boolean;
  /** The queue named by --queue, checked against the registry. */
  only?: string;
}

/** A runtime failure reported as one line with exit code 1. */
class CliError extends Error {
  override readonly name = 'CliError';
}

function intParser(what: string, min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(
        `${what} must be an integer >= ${String(min)}.`,
      );
    }
    return Number(value);
  };
}

function common(cmd: Command, withQueue = true): Command {
  cmd
    .option(
      '--schema <file>',
      'schema module exporting the job registry',
      'jobs.schema.ts',
    )
    .option('--prefix <prefix>', 'Redis key prefix (env JOBWIRE_PREFIX)')
    .option('--json', 'machine-readable output', false);
  if (withQueue) cmd.option('--queue <queue>', 'limit to one queue');
  return cmd;
}

function connection(): ConnectionInput | undefined {
  const url = process.env.REDIS_URL;
  return url === undefined || url === '' ? undefined : url;
}

function prefixOf(opts: CommonOptions): string | undefined {
  const env = process.env.JOBWIRE_PREFIX;
  return opts.prefix ?? (env === undefined || env === '' ? undefined : env);
}

function checkQueue(registry: JobRegistry, queue: string | undefined): void {
  if (queue !== undefined && !registry.queues.includes(queue)) {
    throw new UsageError(
      `unknown queue '${queue}' (the registry has ${registry.queues.join(', ')})`,
    );
  }
}

/**
 * Warnings go to stderr, except connection errors: a command that cannot
 * reach Redis reports that itself, in one line.
 */
const logger: Logger = {
  warn(message) {
    if (!message.startsWith('redis connection error')) {
      console.error(`warning: ${message}`);
    }
  },
  error(message) {
    console.error(`error: ${message}`);
  },
};

/** Loads the registry, opens a queue, runs `fn`, and always closes it. */
async function withQueue(
  opts: CommonOptions,
  fn: (ctx: Context) => Promise<void>,
): Promise<void> {
  const registry = await loadRegistry(opts.schema);
  checkQueue(registry, opts.queue);
  const queue = createQueue(registry, {
    connection: connection(),
    prefix: prefixOf(opts),
    logger,
  });
  try {
    await fn({
      queue,
      registry,
      json: opts.json,
      ...(opts.queue === undefined ? {} : { only: opts.queue }),
    });
  } finally {
    await queue.close();
  }
}

function queueArg(ctx: Context): { queue?: string } {
  return ctx.only === undefined ? {} : { queue: ctx.only };
}

function zeroCounts(): StateCounts {
  return {
    waiting: 0,
    delayed: 0,
    active: 0,
    completed: 0,
    failed: 0,
    expired: 0,
  };
}

async function stats(ctx: Context): Promise<void> {
  const counts: QueueCounts = await ctx.queue.getCounts(queueArg(ctx));
  const queues = ctx.only === undefined ? ctx.registry.queues : [ctx.only];
  // Every job type of the selected queues, with zeros for those never used.
  const byType: Record<string, StateCounts> = {};
  for (const name of ctx.registry.names) {
    const def = ctx.registry.jobs[name];
    if (def !== undefined && queues.includes(def.queue)) {
      byType[name] = counts.byType[name] ?? zeroCounts();
    }
  }
  for (const [name, c] of Object.entries(counts.byType)) byType[name] ??= c;
  const paused: Record<string, boolean> = {};
  for (const q of queues) paused[q] = await ctx.queue.isPaused(q);
  const totals: StateCounts = zeroCounts();
  for (const s of STATES) totals[s] = counts[s];
  if (ctx.json) {
    console.log(json({ ...totals, byType, paused }));
    return;
  }
  const rows = Object.entries(byType).map(([name, c]) => [
    name,
    ctx.registry.jobs[name]?.queue ?? '?',
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
}

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
    case 'active':
      return `started ${time(job.startedAt)}`;
    case 'waiting':
      return '';
  }
}

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
  lines.push(
    `version:   ${String(job.version)}${job.fingerprint ? ` (fingerprint ${job.fingerprint})` : ''}`,
    block('data', job.data),
    block('progress', job.progress),
    block('result', job.result),
  );
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

type Action = 'retry' | 'remove' | 'promote';
const PAST: Record<Action, string> = {
  retry: 'retried',
  remove: 'removed',
  promote: 'promoted',
};

/** Runs codegen's own CLI module in this process, with its argv. */
async function codegen(args: string[]): Promise<number> {
  const index = fileURLToPath(import.meta.resolve('@jobwire/codegen'));
  const cli = join(dirname(index), 'cli.ts');
  process.argv = [process.argv[0] ?? process.execPath, cli, ...args];
  await import(pathToFileURL(cli).href);
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

async function serve(
  opts: CommonOptions & { port?: number; host?: string; insecure: boolean },
): Promise<void> {
  const registry = await loadRegistry(opts.schema);
  // Imported here so the other commands do not load the HTTP stack.
  const { startServer } = await import('@jobwire/server');
  const token = process.env.JOBWIRE_TOKEN;
  const server = await startServer({
    registry,
    connection: connection(),
    prefix: prefixOf(opts),
    token: token === '' ? undefined : token,
    insecure: opts.insecure,
    host: opts.host,
    port: opts.port,
  });
  const dashboard = `${server.url}/`;
  if (opts.json) console.log(json({ url: server.url, dashboard }));
  else {
    console.log(`jobwire: serving ${server.url} (Ctrl-C to stop)`);
    console.log(
      `jobwire: dashboard at ${dashboard}${token ? ' (it asks for JOBWIRE_TOKEN)' : ''}`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
}

export function buildProgram(argv: string[]): {
  program: Command;
  exitCode: () => number;
} {
  let exitCode = 0;
  const program = new Command('jobwire')
    .description('Inspect and operate jobwire queues.')
    .exitOverride()
    .showHelpAfterError('(run jobwire --help for usage)');

  program
    .command('codegen')
    .description(
      'generate typed modules and the contract (see jobwire codegen --help)',
    )
    .argument('[args...]', 'passed to jobwire-codegen')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async () => {
      exitCode = await codegen(argv.slice(argv.indexOf('codegen') + 1));
    });

  common(program.command('stats'))
    .description('count jobs per state and per job type')
    .action((opts: CommonOptions) => withQueue(opts, stats));

  common(program.command('jobs'))
    .description('list jobs in one state, oldest first')
    .addArgument(new Argument('<state>', 'job state').choices(STATES))
    .option('--name <type>', 'only jobs of this type')
    .option('--offset <n>', 'jobs to skip', intParser('--offset', 0), 0)
    .option(
      '--limit <n>',
      'jobs to show (max 1000)',
      intParser('--limit', 1),
      50,
    )
    .action(
      (
        state: JobState,
        opts: CommonOptions & { name?: string; offset: number; limit: number },
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
                detail(j),
              ]),
            ),
          );
          const from = opts.offset + 1;
          console.log(
            `\n${state} jobs ${String(from)}-${String(opts.offset + jobs.length)}`,
          );
        }),
    );

  common(program.command('job'))
    .description('show one job: data, progress, logs, attempts, errors, result')
    .argument('<id>', 'job id')
    .action((id: string, opts: CommonOptions) =>
      withQueue(opts, async (ctx) => {
        const job = await ctx.queue.getJob(id, queueArg(ctx));
        if (job === undefined) {
          throw new CliError(
            `job ${id} not found${ctx.only === undefined ? '' : ` in queue ${ctx.only}`}`,
          );
        }
        if (ctx.json) console.log(json(job));
        else printJob(job);
      }),
    );

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

  common(program.command('serve'), false)
    .description(
      'serve the HTTP API and the web dashboard (needs JOBWIRE_TOKEN unless --insecure)',
    )
    .option('--port <port>', 'port to listen on', intParser('--port', 0))
    .option('--host <host>', 'interface to bind')
    .addOption(new Option('--insecure', 'serve without a token').default(false))
    .action(
      (
        opts: CommonOptions & {
          port?: number;
          host?: string;
          insecure: boolean;
        },
      ) => serve(opts),
    );

  return { program, exitCode: () => exitCode };
}

/** Runs the CLI; returns the exit code. Never throws. */
export async function run(argv: string[]): Promise<number> {
  const { program, exitCode } = buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    const message =
      err instanceof JobwireError || err instanceof CliError
        ? err.message
        : err instanceof Error
          ? err.message
          : String(err);
    console.error(`error: ${message.split('\n')[0] ?? ''}`);
    return 1;
  }
}
