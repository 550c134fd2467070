/**
 * A producer process for S08: enqueues `count` jobs with at most
 * `inFlight` outstanding, records each id that resolved (acknowledged) and
 * each rejection with its error name and how long it took to settle, then
 * reports `{ type: 'done', acked, rejected, slowestMs }` over IPC.
 */
import fs from 'node:fs';
import { createQueue, JobwireError } from '../../../src/index.ts';
import { faultRegistry } from './registry.ts';

interface ProducerConfig {
  url: string;
  queue: string;
  count: number;
  inFlight: number;
  /** Acknowledged ids are appended here, one per line, as they resolve. */
  ackFile: string;
  tag: number;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as ProducerConfig;
  const quiet = { warn: () => {}, error: () => {} };
  const queue = createQueue(faultRegistry(c.queue), {
    connection: c.url,
    logger: quiet,
  });
  process.send?.({ type: 'ready' });
  const rejected: Record<string, number> = {};
  let slowestMs = 0;
  let acked = 0;
  let nextN = 0;
  const one = async (): Promise<void> => {
    while (nextN < c.count) {
      const n = c.tag * 1_000_000 + nextN++;
      const t0 = Date.now();
      try {
        const h = await queue.enqueue('task', { n });
        fs.appendFileSync(c.ackFile, `${h.id}\n`);
        acked++;
      } catch (err) {
        const name =
          err instanceof JobwireError
            ? err.constructor.name
            : `untyped:${String(err)}`;
        rejected[name] = (rejected[name] ?? 0) + 1;
        // Back off a little so a down Redis is not hammered.
        await new Promise((r) => setTimeout(r, 50));
      }
      slowestMs = Math.max(slowestMs, Date.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: c.inFlight }, one));
  await queue.close();
  process.send?.({ type: 'done', acked, rejected, slowestMs }, () =>
    process.exit(0),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`producer-child failed: ${String(err)}\n`);
  process.exit(1);
});
