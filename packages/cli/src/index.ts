/**
 * The `jobwire` command line as a function, for tools that run it in-process
 * (the bin is dist/main.js).
 */
export { run } from './program.ts';
