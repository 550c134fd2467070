/**
 * Codegen as a library: reads `jobs.schema.ts`, writes the typed producer,
 * consumer and test-mode modules and `contract.json`, and checks every schema
 * change against the contract lock.
 *
 * @packageDocumentation
 * @module @jobwire/codegen
 */
export { runCli, type CliIO } from './cli.ts';
export { runCodegen } from './generate.ts';
export type { CodegenOptions, CodegenResult } from './generate.ts';
export { CodegenError, type ErrorLocation } from './errors.ts';
export {
  CONFIG_FILE,
  readConfig,
  type FileConfig,
  type ImportExtension,
} from './config.ts';
export {
  detectImportExtension,
  findTsconfig,
  readTsSettings,
  type TsSettings,
} from './tsconfig.ts';
export { importTypeScript } from './load-schema.ts';
export type * from './contract-types.ts';
