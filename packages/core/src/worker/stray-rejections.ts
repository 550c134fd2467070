/**
 * Workers running in this process. While any runs, a rejection nobody
 * observed (a handler that fired a promise and forgot it) is reported
 * through a worker's `error` event instead of crashing the process, which
 * would turn every job in flight into a stall (docs/reliability.md, S07).
 */
const runningWorkers = new Set<{
  reportError(err: unknown, c: string): void;
}>();

function onStrayRejection(reason: unknown): void {
  const [first] = runningWorkers;
  first?.reportError(
    reason,
    'unhandled promise rejection (left by a handler?)',
  );
}

export function trackRunning(
  worker: { reportError(err: unknown, c: string): void },
  running: boolean,
): void {
  const before = runningWorkers.size;
  if (running) runningWorkers.add(worker);
  else runningWorkers.delete(worker);
  if (before === 0 && runningWorkers.size > 0)
    process.on('unhandledRejection', onStrayRejection);
  if (before > 0 && runningWorkers.size === 0)
    process.off('unhandledRejection', onStrayRejection);
}
