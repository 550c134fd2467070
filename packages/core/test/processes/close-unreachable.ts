/**
 * A worker that closes while Redis is unreachable, in its own process, so
 * that a test can see whether anything it left keeps Node alive.
 *
 * Run: node close-unreachable.ts '<redis url>' (bundled: test-kit's nodeEntry)
 *
 * It starts a worker on the URL (nothing listens there), closes it after
 * `openMs`, and writes one JSON line per event to stdout: `{ ev: 'closed',
 * ms }` when close() resolves, `{ ev: 'log', level, message, afterClose }`
 * for every logger line, `{ ev: 'error', message, afterClose }` for every
 * 'error' event. It never calls process.exit: it ends when nothing keeps
 * the event loop alive.
 */
import { z } from 'zod';
import { createWorker, defineJobs, job } from '../../src/index.ts';

const url = process.argv[2];
const openMs = Number(process.argv[3] ?? '300');
if (url === undefined) throw new Error('close-unreachable: pass a Redis URL');

let closed = false;
const out = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const registry = defineJobs({
  task: job({ queue: 'close-unreachable', payload: z.object({}) }),
});
const worker = createWorker(
  registry,
  { task: () => undefined },
  {
    connection: url,
    logger: {
      warn: (message) =>
        out({ ev: 'log', level: 'warn', message, afterClose: closed }),
      error: (message) =>
        out({ ev: 'log', level: 'error', message, afterClose: closed }),
    },
  },
);
// No 'error' listener: errors go to the logger, as in an app that adds none.
const started = Date.now();
setTimeout(() => {
  const closing = Date.now();
  void worker.close().then(() => {
    closed = true;
    out({ ev: 'closed', ms: Date.now() - closing, openMs: closing - started });
  });
}, openMs);
