/**
 * Bee-Queue with its defaults (events, stored jobs, stall checks).
 * Processing scenarios set `removeOnSuccess: true`. Completion as the
 * producer sees it is the job object's `succeeded` event (pub/sub). Bee-Queue
 * jobs have no name: with `types` > 1 (`types50`) the type travels in the
 * payload's `type` field and the one `process` handler reads it.
 */
import BeeQueue from 'bee-queue';
import {
  chunks,
  deferred,
  packageVersion,
  paced,
  payloadMaker,
  pool,
  type AdapterOptions,
  type LatencyResult,
  type Payload,
  type PreparedWorker,
  type RunningWorker,
  type SystemAdapter,
} from './types.ts';

export const beequeueVersion = packageVersion(
  new URL('../../node_modules/bee-queue/package.json', import.meta.url),
);

const QUEUE = 'bench';
const CLOSE_TIMEOUT_MS = 5000;

export function createBeeQueue(o: AdapterOptions): SystemAdapter {
  const settings: BeeQueue.QueueSettings = {
    redis: { host: o.host, port: o.port },
    ...(o.removeCompleted ? { removeOnSuccess: true } : {}),
  };
  const open = new Set<BeeQueue<Payload>>();
  const newQueue = (): BeeQueue<Payload> => {
    const q = new BeeQueue<Payload>(QUEUE, settings);
    q.on('error', (err) => console.error(`[bee-queue] ${err.message}`));
    open.add(q);
    return q;
  };
  const closeQueue = async (q: BeeQueue<Payload>): Promise<void> => {
    open.delete(q);
    await q.close(CLOSE_TIMEOUT_MS);
  };
  // Before any connection opens: a throw here must leave nothing behind.
  const payload = payloadMaker(o.payloadBytes, o.types);
  const producer = newQueue();
  const typesSeen = new Set<string>();
  /** The handler's work: note the job's type, as a dispatch would read it. */
  const dispatch = (data: Payload): void => {
    if (data.type !== undefined) typesSeen.add(data.type);
  };

  const bulk = async (a: number, b: number): Promise<void> => {
    const jobs = [];
    for (let i = a; i < b; i++) jobs.push(producer.createJob(payload(i)));
    const errors = await producer.saveAll(jobs);
    if (errors.size > 0) {
      throw new Error(`saveAll: ${errors.size} jobs failed`);
    }
  };

  return {
    name: 'beequeue',
    version: beequeueVersion,

    async warmUp() {
      await producer.ready();
      await producer.createJob(payload(0)).save();
    },

    async enqueueSeq(n) {
      for (let i = 0; i < n; i++) await producer.createJob(payload(i)).save();
    },

    async enqueueConcurrent(n, inFlight) {
      await pool(n, inFlight, (i) => producer.createJob(payload(i)).save());
    },

    async enqueueBulk(n, chunk) {
      for (const [a, b] of chunks(n, chunk)) await bulk(a, b);
    },

    async fill(n) {
      await producer.ready();
      const all = [...chunks(n, 1000)];
      await pool(all.length, 4, (k) => bulk(...all[k]!));
    },

    async worker(concurrency, stopAfter): Promise<PreparedWorker> {
      const done = deferred();
      let completed = 0;
      const w = newQueue();
      w.on('succeeded', () => {
        if (++completed === stopAfter) done.resolve();
      });
      await w.ready();
      return {
        start: () => {
          w.process(concurrency, async (job) => {
            dispatch(job.data);
          });
        },
        finished: done.promise,
        close: () => closeQueue(w),
      };
    },

    async latency(n, ratePerSec, concurrency): Promise<LatencyResult> {
      const sentAt = new Array<number>(n).fill(NaN);
      const pickup = new Array<number>(n).fill(NaN);
      const completion = new Array<number>(n).fill(NaN);
      const w = newQueue();
      try {
        await Promise.all([producer.ready(), w.ready()]);
        w.process(concurrency, async (job) => {
          const i = Number(job.data.ref);
          if (i >= 0 && i < n) pickup[i] = performance.now() - sentAt[i]!;
        });
        const warm = deferred();
        const warmJob = producer.createJob(payload(99_999_999));
        warmJob.on('succeeded', () => warm.resolve());
        await warmJob.save();
        await warm.promise;
        let left = n;
        const all = deferred();
        const saves: Promise<unknown>[] = [];
        await paced(n, ratePerSec, (i) => {
          sentAt[i] = performance.now();
          const job = producer.createJob(payload(i));
          job.on('succeeded', () => {
            completion[i] = performance.now() - sentAt[i]!;
            if (--left === 0) all.resolve();
          });
          saves.push(job.save());
        });
        await Promise.all(saves);
        await all.promise;
      } finally {
        await closeQueue(w);
      }
      return { pickup, completion };
    },

    async consume(concurrency, onStart): Promise<RunningWorker> {
      const w = newQueue();
      await w.ready();
      w.process(concurrency, async (job) => {
        dispatch(job.data);
        onStart(Number(job.data.ref));
      });
      return { close: () => closeQueue(w) };
    },

    async enqueueOne(i) {
      await producer.createJob(payload(i)).save();
    },

    async roundTrip(i) {
      await producer.ready();
      const done = deferred();
      const job = producer.createJob(payload(i));
      job.on('succeeded', () => done.resolve());
      job.on('failed', (err) => done.reject(err));
      await job.save();
      await done.promise;
    },

    async close() {
      await Promise.all([...open].map((q) => closeQueue(q)));
    },
  };
}
