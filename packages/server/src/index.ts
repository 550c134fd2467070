/**
 * The HTTP/JSON API over a registry's queues, and the web dashboard.
 *
 * @packageDocumentation
 * @module @jobwire/server
 */
export { buildApi, createApi, DEFAULT_BODY_LIMIT_BYTES } from './api.ts';
export type { ApiOptions, BuiltApi } from './api.ts';
export { isLoopback, startServer } from './server.ts';
export type { RunningServer, ServerOptions } from './server.ts';
export { HttpCode } from './http-errors.ts';
export type { ErrorBody, HttpIssue } from './http-errors.ts';
export { MAX_JSON_DEPTH } from './body.ts';
