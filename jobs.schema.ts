/**
 * The repository's job types live with the examples, which use them as a
 * user's project would (packages/examples/src/jobs.schema.ts, generated
 * code next to it). This re-export keeps the root path working for the
 * CLI's default `--schema jobs.schema.ts`, the server scripts and tests.
 */
export * from './packages/examples/src/jobs.schema.ts';
