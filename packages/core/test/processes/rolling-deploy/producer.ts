/**
 * A rolling-deploy producer process on one contract version of the
 * `thumbnail` job: node producer.ts '<json config>' (bundled: test-kit's nodeEntry).
 *
 * It enqueues job numbers `tag * 1e6 + i` at a steady rate, with at most
 * `inFlight` enqueues outstanding, every `holdEvery`-th one delayed by an
 * hour (the parent promotes those at the end, so that the last workers read
 * jobs every version wrote). Each enqueue that resolves is appended to the
 * ack file. It says `ready` after its first acknowledged enqueue; on IPC
 * `{ cmd: 'stop' }` it stops, lets the outstanding enqueues settle, closes,
 * answers `{ type: 'done', issued, acked, rejected }` and exits 0.
 */
import fs from 'node:fs';
import { createQueue, JobwireError } from '../../../src/index.ts';
import type { AckEntry } from './ledger.ts';

export interface RollingProducerConfig {
  url: string;
  queue: string;
  version: 1 | 2 | 3;
  ackFile: string;
  tag: number;
  ratePerSec: number;
  inFlight: number;
  holdEvery: number;
  /** The queue's commandTimeoutMs (default 5000). */
  commandTimeoutMs?: number;
}

export interface ProducerDone {
  type: 'done';
  issued: number;
  acked: number;
  /** Rejected enqueues by error class (not acknowledged, so not owed). */
  rejected: Record<string, number>;
}

const HOLD_MS = 3_600_000;

type Enqueue = (n: number, held: boolean) => Promise<{ id: string }>;

/** One branch per version, so that each producer loads only its own module. */
async function connect(
  c: RollingProducerConfig,
): Promise<{ enqueue: Enqueue; close(): Promise<void> }> {
  const options = {
    connection: c.url,
    commandTimeoutMs: c.commandTimeoutMs,
    logger: { warn: () => {}, error: () => {} },
  };
  const delay = (held: boolean) => (held ? { delayMs: HOLD_MS } : {});
  if (c.version === 1) {
    const m = await import('./contract-v1.ts');
    const q = createQueue(m.rollingJobs(c.queue), options);
    return {
      enqueue: (n, held) => q.enqueue('thumbnail', m.payload(n), delay(held)),
      close: () => q.close(),
    };
  }
  if (c.version === 2) {
    const m = await import('./contract-v2.ts');
    const q = createQueue(m.rollingJobs(c.queue), options);
    return {
      enqueue: (n, held) => q.enqueue('thumbnail', m.payload(n), delay(held)),
      close: () => q.close(),
    };
  }
  const m = await import('./contract-v3.ts');
  const q = createQueue(m.rollingJobs(c.queue), options);
  return {
    enqueue: (n, held) => q.enqueue('thumbnail', m.payload(n), delay(held)),
    close: () => q.close(),
  };
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]!) as RollingProducerConfig;
  const q = await connect(c);
  const rejected: Record<string, number> = {};
  let issued = 0;
  let acked = 0;
  let inFlight = 0;
  let stopping = false;
  let saidReady = false;
  const t0 = Date.now();
  const one = async (i: number): Promise<void> => {
    const n = c.tag * 1_000_000 + i;
    const held = i % c.holdEvery === c.holdEvery - 1;
    inFlight++;
    try {
      const h = await q.enqueue(n, held);
      const line: AckEntry = { id: h.id, n, v: c.version, held };
      fs.appendFileSync(c.ackFile, `${JSON.stringify(line)}\n`);
      acked++;
      if (!saidReady) {
        saidReady = true;
        process.send?.({ type: 'ready' });
      }
    } catch (err) {
      const name =
        err instanceof JobwireError
          ? err.constructor.name
          : `untyped:${String(err)}`;
      rejected[name] = (rejected[name] ?? 0) + 1;
    } finally {
      inFlight--;
    }
  };
  const pending = new Set<Promise<void>>();
  const tick = setInterval(() => {
    if (stopping) return;
    const due = Math.floor(((Date.now() - t0) * c.ratePerSec) / 1000);
    while (issued < due && inFlight < c.inFlight) {
      const p = one(issued++);
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
  }, 10);
  process.on('message', (m: unknown) => {
    if ((m as { cmd?: string } | null)?.cmd !== 'stop' || stopping) return;
    stopping = true;
    clearInterval(tick);
    void (async () => {
      await Promise.all([...pending]);
      await q.close();
      const done: ProducerDone = { type: 'done', issued, acked, rejected };
      process.send?.(done, () => process.exit(0));
    })();
  });
  process.on('disconnect', () => process.exit(2));
}

main().catch((err: unknown) => {
  process.stderr.write(`rolling-deploy producer failed: ${String(err)}\n`);
  process.exit(1);
});
