/**
 * BullMQ with its defaults. Processing scenarios add jobs with
 * `removeOnComplete: true` (the queue's `defaultJobOptions`). Completion as
 * the producer sees it comes from a `QueueEvents` reader (what
 * `job.waitUntilFinished` listens to).
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import {
  chunks,
  deferred,
  packageVersion,
  paced,
  payload,
  pool,
  type AdapterOptions,
  type LatencyResult,
  type Payload,
  type PreparedWorker,
  type SystemAdapter,
} from './types.ts';

export const bullmqVersion = packageVersion(
  new URL('../../node_modules/bullmq/package.json', import.meta.url),
);

const QUEUE = 'bench';

export function createBullmq(o: AdapterOptions): SystemAdapter {
  const connection = { host: o.host, port: o.port };
  const queue = new Queue<Payload, number>(QUEUE, {
    connection,
    ...(o.removeCompleted
      ? { defaultJobOptions: { removeOnComplete: true } }
      : {}),
  });
  queue.on('error', (err) => console.error(`[bullmq queue] ${err.message}`));
  const closers = new Set<() => Promise<void>>();

  const newWorker = (
    concurrency: number,
    onStart: (data: Payload) => void,
  ): { w: Worker<Payload, number>; close: () => Promise<void> } => {
    const w = new Worker<Payload, number>(
      QUEUE,
      async (j) => {
        onStart(j.data);
        return Number(j.data.ref);
      },
      { connection, concurrency, autorun: false },
    );
    w.on('error', (err) => console.error(`[bullmq worker] ${err.message}`));
    const close = async () => {
      closers.delete(close);
      await w.close();
    };
    closers.add(close);
    return { w, close };
  };

  const run = (w: Worker<Payload, number>) => {
    w.run().catch((err: unknown) =>
      console.error(`[bullmq worker] ${String(err)}`),
    );
  };

  const bulk = (a: number, b: number) => {
    const jobs = [];
    for (let i = a; i < b; i++) jobs.push({ name: QUEUE, data: payload(i) });
    return queue.addBulk(jobs);
  };

  return {
    name: 'bullmq',
    version: bullmqVersion,

    async warmUp() {
      await queue.waitUntilReady();
      await queue.add(QUEUE, payload(0));
    },

    async enqueueSeq(n) {
      for (let i = 0; i < n; i++) await queue.add(QUEUE, payload(i));
    },

    async enqueueConcurrent(n, inFlight) {
      await pool(n, inFlight, (i) => queue.add(QUEUE, payload(i)));
    },

    async enqueueBulk(n, chunk) {
      for (const [a, b] of chunks(n, chunk)) await bulk(a, b);
    },

    async fill(n) {
      const all = [...chunks(n, 1000)];
      await pool(all.length, 4, (k) => bulk(...all[k]!));
    },

    async worker(concurrency, stopAfter): Promise<PreparedWorker> {
      const done = deferred();
      let completed = 0;
      const { w, close } = newWorker(concurrency, () => {});
      w.on('completed', () => {
        if (++completed === stopAfter) done.resolve();
      });
      await w.waitUntilReady();
      return { start: () => run(w), finished: done.promise, close };
    },

    async latency(n, ratePerSec, concurrency): Promise<LatencyResult> {
      const sentAt = new Array<number>(n).fill(NaN);
      const pickup = new Array<number>(n).fill(NaN);
      const completion = new Array<number>(n).fill(NaN);
      const events = new QueueEvents(QUEUE, { connection });
      events.on('error', (err) =>
        console.error(`[bullmq events] ${err.message}`),
      );
      const closeEvents = async () => {
        closers.delete(closeEvents);
        await events.close();
      };
      closers.add(closeEvents);
      const { w, close: closeWorker } = newWorker(concurrency, (data) => {
        const i = Number(data.ref);
        if (i >= 0 && i < n) pickup[i] = performance.now() - sentAt[i]!;
      });
      let left = n;
      const all = deferred();
      const warm = deferred();
      events.on('completed', ({ returnvalue }) => {
        const raw: unknown = returnvalue;
        const i = Number(typeof raw === 'string' ? JSON.parse(raw) : raw);
        if (i === 99_999_999) warm.resolve();
        if (i >= 0 && i < n && Number.isNaN(completion[i])) {
          completion[i] = performance.now() - sentAt[i]!;
          if (--left === 0) all.resolve();
        }
      });
      try {
        await Promise.all([events.waitUntilReady(), w.waitUntilReady()]);
        run(w);
        await queue.add(QUEUE, payload(99_999_999));
        await warm.promise;
        const pending: Promise<unknown>[] = [];
        await paced(n, ratePerSec, (i) => {
          sentAt[i] = performance.now();
          pending.push(queue.add(QUEUE, payload(i)));
        });
        await Promise.all(pending);
        await all.promise;
      } finally {
        await closeWorker();
        await closeEvents();
      }
      return { pickup, completion };
    },

    async close() {
      await Promise.all([...closers].map((c) => c()));
      await queue.close();
    },
  };
}
