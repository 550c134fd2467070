/**
 * BullMQ with its defaults. Processing scenarios add jobs with
 * `removeOnComplete: true` (the queue's `defaultJobOptions`). Completion as
 * the producer sees it comes from a `QueueEvents` reader (what
 * `job.waitUntilFinished` listens to). With `types` > 1 (`types50`), the
 * types are job names in the one queue and one worker processes them all.
 * `roundTrip` (the `events` scenario) keeps the last 1,000 completed jobs
 * instead (`removeOnComplete: 1000`): `waitUntilFinished` checks the job's
 * state after subscribing and rejects a job already removed.
 */
import { Queue, QueueEvents, Worker } from 'bullmq';
import {
  chunks,
  deferred,
  packageVersion,
  paced,
  payloadMaker,
  pool,
  typeName,
  type AdapterOptions,
  type LatencyResult,
  type Payload,
  type PreparedWorker,
  type RunningWorker,
  type SystemAdapter,
} from './types.ts';

export const bullmqVersion = packageVersion(
  new URL('../../node_modules/bullmq/package.json', import.meta.url),
);

const QUEUE = 'bench';

export function createBullmq(o: AdapterOptions): SystemAdapter {
  const connection = { host: o.host, port: o.port };
  const types = o.types ?? 1;
  const payload = payloadMaker(o.payloadBytes);
  const name = (i: number) => (types <= 1 ? QUEUE : typeName(i, types));
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
      {
        connection,
        concurrency,
        autorun: false,
        ...(o.limiter ? { limiter: o.limiter } : {}),
      },
    );
    w.on('error', (err) => console.error(`[bullmq worker] ${err.message}`));
    const close = async () => {
      closers.delete(close);
      await w.close();
    };
    closers.add(close);
    return { w, close };
  };

  // One QueueEvents reader for every roundTrip, opened on first use.
  let shared: Promise<QueueEvents> | undefined;
  const roundTripEvents = (): Promise<QueueEvents> =>
    (shared ??= (async () => {
      const events = new QueueEvents(QUEUE, { connection });
      events.on('error', (err) =>
        console.error(`[bullmq events] ${err.message}`),
      );
      // Each waiting job listens on the queue's 'closing' and on the reader.
      events.setMaxListeners(0);
      queue.setMaxListeners(0);
      const closeShared = async () => {
        closers.delete(closeShared);
        shared = undefined;
        await events.close();
      };
      closers.add(closeShared);
      await events.waitUntilReady();
      return events;
    })());

  const run = (w: Worker<Payload, number>) => {
    w.run().catch((err: unknown) =>
      console.error(`[bullmq worker] ${String(err)}`),
    );
  };

  const bulk = (a: number, b: number) => {
    const jobs = [];
    for (let i = a; i < b; i++) jobs.push({ name: name(i), data: payload(i) });
    return queue.addBulk(jobs);
  };

  return {
    name: 'bullmq',
    version: bullmqVersion,

    async warmUp() {
      await queue.waitUntilReady();
      await queue.add(name(0), payload(0));
    },

    async enqueueSeq(n) {
      for (let i = 0; i < n; i++) await queue.add(name(i), payload(i));
    },

    async enqueueConcurrent(n, inFlight) {
      await pool(n, inFlight, (i) => queue.add(name(i), payload(i)));
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
        await queue.add(name(0), payload(99_999_999));
        await warm.promise;
        const pending: Promise<unknown>[] = [];
        await paced(n, ratePerSec, (i) => {
          sentAt[i] = performance.now();
          pending.push(queue.add(name(i), payload(i)));
        });
        await Promise.all(pending);
        await all.promise;
      } finally {
        await closeWorker();
        await closeEvents();
      }
      return { pickup, completion };
    },

    async consume(concurrency, onStart): Promise<RunningWorker> {
      const { w, close } = newWorker(concurrency, (data) =>
        onStart(Number(data.ref)),
      );
      await w.waitUntilReady();
      run(w);
      return { close };
    },

    async enqueueOne(i) {
      await queue.add(name(i), payload(i));
    },

    async roundTrip(i) {
      const events = await roundTripEvents();
      const job = await queue.add(name(i), payload(i), {
        removeOnComplete: 1000,
      });
      await job.waitUntilFinished(events);
    },

    async close() {
      await Promise.all([...closers].map((c) => c()));
      await queue.close();
    },
  };
}
