export { runCodegen } from './generate.ts';
export type { CodegenOptions, CodegenResult } from './generate.ts';
export { CodegenError } from './errors.ts';
export type * from './contract-types.ts';
