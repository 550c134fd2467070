/** Timing helpers shared by the test files. */

/** Short lease, stall-check and block settings so tests notice stalls quickly. */
export const fastWorkerSettings = {
  leaseMs: 1000,
  stallCheckIntervalMs: 500,
  blockTimeoutMs: 1000,
} as const;

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
