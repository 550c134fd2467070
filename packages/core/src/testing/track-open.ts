/**
 * Lets the test suite find workers and connections left open. The registry
 * exists only when a test setup file created it; otherwise this is a no-op.
 */
const REGISTRY = Symbol.for('jobwire.test.resources');

interface TrackedResource {
  kind: string;
  describe: string;
  isOpen: () => boolean;
}

export function trackForTests(
  kind: string,
  describe: string,
  isOpen: () => boolean,
): void {
  const registry = (globalThis as Record<symbol, unknown>)[REGISTRY];
  if (Array.isArray(registry)) {
    (registry as TrackedResource[]).push({ kind, describe, isOpen });
  }
}
