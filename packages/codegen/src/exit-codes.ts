import { CodegenError } from './errors.ts';

/**
 * Exit codes of `jobwire-codegen` (documented in
 * docs/codegen-and-contracts.md): CI can tell "regenerate and commit" (1)
 * from "this edit breaks queued jobs or running workers" (3).
 */
export const EXIT_CODES = {
  /** Written, or up to date under `--check`. */
  ok: 0,
  /** `--check`: generated files are stale; also any other codegen error. */
  stale: 1,
  /** A mistake on the command line. */
  usage: 2,
  /** An incompatible contract change was refused. */
  incompatible: 3,
} as const;

/** A refusal of incompatible contract changes (exit code 3). */
export class IncompatibleChangeError extends CodegenError {
  readonly exitCode = EXIT_CODES.incompatible;
  /** The run's notes and warnings, printed with the refusal. */
  notes: readonly string[] = [];
}

/** The exit code for an error `runCodegen` threw. */
export function exitCodeFor(err: CodegenError): number {
  return err instanceof IncompatibleChangeError
    ? EXIT_CODES.incompatible
    : EXIT_CODES.stale;
}
