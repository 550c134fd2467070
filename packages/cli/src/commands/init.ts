import type { Command } from 'commander';

/** `jobwire init`: starter schema, codegen config, tsconfig and package scripts, never overwriting a file. */
export function addInitCommand(
  program: Command,
  setExitCode: (code: number) => void,
): void {
  program
    .command('init')
    .description(
      'set up jobwire here: a starter jobs.schema.ts, jobwire.config.json, tsconfig.json, codegen scripts and "type": "module" (never overwrites a file)',
    )
    .action(async () => {
      // Imported here: it loads codegen (ts-morph), which only init needs.
      const { formatInitReport, initProject, InitError } =
        await import('../init/index.ts');
      try {
        console.log(formatInitReport(initProject(process.cwd())));
      } catch (err) {
        if (!(err instanceof InitError)) throw err;
        console.error(err.message);
        setExitCode(1);
      }
    });
}
