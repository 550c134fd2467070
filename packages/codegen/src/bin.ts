#!/usr/bin/env node
/** The `jobwire-codegen` command (`jobwire codegen` runs the same runCli). */
import { runCli } from './cli.ts';

process.exitCode = await runCli(process.argv.slice(2));
