/**
 * Codegen as a library: reads `jobs.schema.ts`, writes the typed producer,
 * consumer and test-mode modules and `contract.json`, and checks every schema
 * change against the contract lock.
 *
 * @packageDocumentation
 * @module @jobwire/codegen
 */
export { runCodegen } from './generate.ts';
export type { CodegenOptions, CodegenResult } from './generate.ts';
export { CodegenError } from './errors.ts';
export type * from './contract-types.ts';
