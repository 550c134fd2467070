#!/usr/bin/env node
/** The `jobwire` command line (see docs/cli.md). */
import { run } from './program.ts';

// A reader that stops early (`jobwire stats | head -1`) closes the pipe:
// the rest of the output has nowhere to go, which is no error. Any other
// write error is still one line, never a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') {
    console.error(`error: cannot write the output: ${err.message}`);
    process.exitCode = 1;
  }
  process.exit();
});

process.exitCode = await run(process.argv.slice(2));
