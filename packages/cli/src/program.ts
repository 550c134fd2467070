import { Command, CommanderError } from 'commander';
import { JobwireError } from '@jobwire/core';
import {
  addCancelCommand,
  addCleanCommand,
  addJobActionCommands,
  addPauseCommands,
} from './commands/admin.ts';
import { addCodegenCommand } from './commands/codegen.ts';
import { addInitCommand } from './commands/init.ts';
import { addJobCommand } from './commands/job.ts';
import { addJobsCommand } from './commands/jobs.ts';
import { addMigrateCommand } from './commands/migrate.ts';
import { addMigrateLayoutCommand } from './commands/migrate-layout.ts';
import {
  addRemoveRepeatCommand,
  addRepeatsCommand,
} from './commands/repeats.ts';
import { addServeCommand } from './commands/serve.ts';
import { addStatsCommand } from './commands/stats.ts';
import { CliError } from './context.ts';
import { cliMessage } from './messages.ts';
import { UsageError } from './registry.ts';

/** The `jobwire` program; `exitCode` is what a command that sets one (codegen, init) returned. */
export function buildProgram(argv: string[]): {
  program: Command;
  exitCode: () => number;
} {
  let exitCode = 0;
  const setExitCode = (code: number) => {
    exitCode = code;
  };
  const program = new Command('jobwire')
    .description('Inspect and operate jobwire queues.')
    .exitOverride()
    .showHelpAfterError('(run jobwire --help for usage)');

  addInitCommand(program, setExitCode);
  addCodegenCommand(program, argv, setExitCode);
  addStatsCommand(program);
  addJobsCommand(program);
  addJobCommand(program);
  addJobActionCommands(program);
  addCleanCommand(program);
  addCancelCommand(program);
  addPauseCommands(program);
  addRepeatsCommand(program);
  addRemoveRepeatCommand(program);
  addMigrateCommand(program);
  addMigrateLayoutCommand(program);
  addServeCommand(program);

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
    // Ours are written for the terminal, whole; a foreign error (a driver's,
    // with a dump after its first line) keeps only its first line.
    const message = cliMessage(err);
    const ours = err instanceof JobwireError || err instanceof CliError;
    console.error(`error: ${ours ? message : (message.split('\n')[0] ?? '')}`);
    return 1;
  }
}
