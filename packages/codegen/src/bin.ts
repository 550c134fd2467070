#!/usr/bin/env node
/**
 * The `jobwire-codegen` bin. Until codegen exports `runCli`, importing cli.ts
 * runs it with this process's argv.
 */
import './cli.ts';
