import type { Command } from 'commander';

/**
 * `jobwire codegen …`: codegen's own command line (the same runCli as the
 * `jobwire-codegen` bin), so flags, output and exit codes are identical.
 * Everything after `codegen` goes to it untouched.
 */
export function addCodegenCommand(
  program: Command,
  argv: readonly string[],
  setExitCode: (code: number) => void,
): void {
  program
    .command('codegen')
    .description(
      'generate typed modules and the contract (see jobwire codegen --help)',
    )
    .argument('[args...]', 'passed to codegen')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async () => {
      // Imported here: ts-morph and prettier are slow to load, and only
      // this command needs them.
      const { runCli } = await import('@jobwire/codegen');
      setExitCode(await runCli(argv.slice(argv.indexOf('codegen') + 1)));
    });
}
