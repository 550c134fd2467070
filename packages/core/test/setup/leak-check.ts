import { afterAll, afterEach, beforeEach, expect } from 'vitest';

/**
 * Leak check: tests fail when a worker, queue or Redis connection is left
 * open. Runtime code registers its resources too: when
 * `globalThis[Symbol.for('jobwire.test.resources')]` is an array it pushes
 * `{ kind, describe, isOpen }` entries into it. `isOpen()` is checked lazily.
 */
export interface TrackedResource {
  kind: string;
  describe: string;
  isOpen: () => boolean;
}

export const RESOURCES_KEY = Symbol.for('jobwire.test.resources');

const GRACE_MS = 500;
const POLL_MS = 10;

type ResourceGlobal = { [RESOURCES_KEY]?: TrackedResource[] };

function registry(): TrackedResource[] {
  const g = globalThis as ResourceGlobal;
  let list = g[RESOURCES_KEY];
  if (!Array.isArray(list)) {
    list = [];
    g[RESOURCES_KEY] = list;
  }
  return list;
}

// Create the registry as soon as the setup file loads, before any test code.
registry();

export function trackResource(
  kind: string,
  describe: string,
  isOpen: () => boolean,
): void {
  registry().push({ kind, describe, isOpen });
}

function stillOpen(r: TrackedResource): boolean {
  try {
    return r.isOpen();
  } catch {
    return false;
  }
}

async function openAfterGrace(
  entries: TrackedResource[],
): Promise<TrackedResource[]> {
  const deadline = Date.now() + GRACE_MS;
  let open = entries.filter(stillOpen);
  while (open.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    open = open.filter(stillOpen);
  }
  return open;
}

function leakMessage(scope: string, open: TrackedResource[]): string {
  const list = open.map((r) => `${r.kind}(${r.describe})`).join(', ');
  return (
    `${scope} left ${open.length} resource${open.length === 1 ? '' : 's'} ` +
    `open: ${list}. Close workers and queues with await x.close()`
  );
}

// Resources registered before a test starts (file scope, beforeAll) belong
// to the file and are checked in afterAll; those registered during a test
// (including its beforeEach hooks) are checked right after it.
let mark = 0;

beforeEach(() => {
  mark = registry().length;
});

afterEach(async () => {
  // Remove this test's entries (open or not) so one leak doesn't cascade.
  const mine = registry().splice(mark);
  const open = await openAfterGrace(mine);
  if (open.length > 0) {
    expect.fail(leakMessage('Current test', open));
  }
});

afterAll(async () => {
  const rest = registry().splice(0);
  mark = 0;
  const open = await openAfterGrace(rest);
  if (open.length > 0) {
    expect.fail(leakMessage('Test file (beforeAll/top-level)', open));
  }
});
