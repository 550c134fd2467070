/** Timing helpers shared by the test files. */

/** Short lease, stall-check and block settings so tests notice stalls quickly. */
export const fastWorkerSettings = {
  leaseMs: 1000,
  stallCheckIntervalMs: 500,
  blockTimeoutMs: 1000,
} as const;

/**
 * How long a test waits for a process it spawned (`node --import tsx …`, a
 * worker child, a CLI) to report that it is ready. tsx compiles the sources
 * at start-up: a second or two on an idle machine, 20 s and more on a loaded
 * two-core one (CI beside other jobs; `pnpm test:stress`). A deadline for a
 * hang, never a speed the test asserts.
 */
export const PROCESS_START_MS = 60_000;

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every 20 ms; throws `timed out waiting for ${what}` after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
