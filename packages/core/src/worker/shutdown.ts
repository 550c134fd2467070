/** Anything with a graceful close, such as a Worker. @public */
export interface Closable {
  close(options?: { deadlineMs?: number | undefined }): Promise<void>;
}

/**
 * Closes the workers gracefully on SIGTERM or SIGINT: no new jobs, running
 * ones get until `deadlineMs`, then the process exits. Returns a function
 * that removes the handlers.
 * @public
 */
export function closeOnSignals(
  workers: readonly Closable[] | Closable,
  options: {
    deadlineMs?: number | undefined;
    signals?: NodeJS.Signals[] | undefined;
    exit?: boolean | undefined;
  } = {},
): () => void {
  const list: readonly Closable[] = Array.isArray(workers)
    ? workers
    : [workers as Closable];
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let closing = false;
  const onSignal = () => {
    if (closing) return;
    closing = true;
    void Promise.all(
      list.map((w) => w.close({ deadlineMs: options.deadlineMs })),
    )
      .then(() => {
        if (options.exit !== false) process.exit(0);
      })
      .catch(() => {
        if (options.exit !== false) process.exit(1);
      });
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
