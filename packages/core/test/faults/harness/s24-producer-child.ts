/**
 * S24's producer process (run by children.ts). Mode `enqueue`: enqueues a
 * `task` with progress, reports `{ type: 'enqueued', id }` and awaits its
 * result (the test SIGKILLs it meanwhile). Mode `wait`: a fresh process
 * that only knows the id calls `waitForResult('task', id)` and reports
 * `{ type: 'result', result, at }` or `{ type: 'error', code, message }`.
 */
import { createQueue, JobwireError } from '../../../src/index.ts';
import { s2xRegistry } from './s20-s24-registry.ts';

interface Config {
  url: string;
  queue: string;
  mode: 'enqueue' | 'wait';
  id?: string;
  ms?: number;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as Config;
  const queue = createQueue(s2xRegistry(c.queue), {
    connection: c.url,
    logger: { warn: () => {}, error: () => {} },
  });
  process.on('disconnect', () => process.exit(2));
  process.send?.({ type: 'ready' });
  try {
    if (c.mode === 'enqueue') {
      const h = await queue.enqueue('task', {
        n: 24,
        ms: c.ms ?? 3000,
        progress: [10, 50, 90],
      });
      process.send?.({ type: 'enqueued', id: h.id, at: Date.now() });
      const result = await h.finished();
      process.send?.({ type: 'result', result, at: Date.now() });
    } else {
      const result = await queue.waitForResult('task', c.id!, {
        timeoutMs: 15_000,
      });
      // The typed result: its fields are read as the schema's types.
      const typed: { n: number; pid: number } = result;
      process.send?.({ type: 'result', result: typed, at: Date.now() });
    }
  } catch (err) {
    process.send?.({
      type: 'error',
      code: err instanceof JobwireError ? err.code : 'untyped',
      message: String(err),
    });
  }
  await queue.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`s24-producer-child failed: ${String(err)}\n`);
  process.exit(1);
});
