#!/usr/bin/env node
/** The `jobwire` command line (see docs/cli.md). */
import { run } from './program.ts';

process.exitCode = await run(process.argv.slice(2));
