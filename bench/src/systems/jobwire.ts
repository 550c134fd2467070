/**
 * jobwire with its defaults: validation on both sides, leases, events,
 * bounded retention. Processing scenarios set `retention: { completed: false }`
 * on the job type; the validation scenario's "off" side uses `z.any()`.
 * With `types` > 1 (`types50`), that many job types share the one queue and
 * one worker has a handler for each. The `flow` scenario adds one flow
 * control rule to the type (`flowOptions`).
 */
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type HandlerMap,
  type JobMap,
  type Queue,
  type Worker,
} from '@jobwire/core';
import {
  chunks,
  deferred,
  packageVersion,
  paced,
  payloadMaker,
  pool,
  typeName,
  type AdapterOptions,
  type FlowVariant,
  type LatencyResult,
  type Payload,
  type PreparedWorker,
  type RunningWorker,
  type SystemAdapter,
} from './types.ts';

export const jobwireVersion = packageVersion(
  new URL('../../../packages/core/package.json', import.meta.url),
);

/** The payload contract: what a real producer would declare. */
function payloadSchema(bodyMax: number) {
  return z.object({
    ref: z.string().length(8),
    userId: z.string().min(1).max(64),
    email: z.email(),
    subject: z.string().min(1).max(200),
    locale: z.string().min(2).max(10),
    tags: z.array(z.string().max(32)).max(20),
    amount: z.number().nonnegative(),
    body: z.string().max(bodyMax),
  });
}

/** The flow scenario's key: 100 keys, from the last two digits of `ref`. */
const flowKey = (p: { ref: string }): string => p.ref.slice(-2);

/**
 * The job type's flow rule for a `flow` variant, set high enough never to
 * bind (a million per second, a thousand per key at once): the bench
 * measures what each rule costs per job, not its limit. Debounce keys on
 * the whole `ref` with a 1 ms period, so each job waits 1 ms in delayed
 * and none replaces another.
 */
function flowOptions(variant: FlowVariant | undefined) {
  switch (variant) {
    case undefined:
    case 'none':
      return {};
    case 'rate':
      return { rateLimit: { limit: 1_000_000, perMs: 1000 } };
    case 'keyed':
      return { concurrency: { limit: 1000, key: flowKey } };
    case 'keyrate':
      return { rateLimit: { limit: 1_000_000, perMs: 1000, key: flowKey } };
    case 'debounce':
      return { debounce: { periodMs: 1, key: (p: { ref: string }) => p.ref } };
    case 'throttle':
      return {
        throttle: { limit: 1_000_000, periodMs: 1000, key: flowKey },
      };
  }
}

function registry(o: AdapterOptions) {
  const types = o.types ?? 1;
  const schema = payloadSchema(Math.max(10_000, o.payloadBytes ?? 0));
  const jobs: JobMap = {};
  for (let t = 0; t < types; t++) {
    jobs[typeName(t, types)] = job({
      queue: 'bench',
      payload: o.validate === false ? z.any() : schema,
      ...(o.removeCompleted ? { retention: { completed: false } } : {}),
      ...flowOptions(o.flow),
    });
  }
  return defineJobs(jobs);
}

type Jobs = JobMap;

export function createJobwire(o: AdapterOptions): SystemAdapter {
  const jobs = registry(o);
  const types = o.types ?? 1;
  const payload = payloadMaker(o.payloadBytes);
  const connection = { host: o.host, port: o.port };
  const queue: Queue<Jobs> = createQueue(jobs, { connection });
  const workers = new Set<Worker<Jobs>>();
  const enqueue = (i: number) => queue.enqueue(typeName(i, types), payload(i));

  const newWorker = (
    concurrency: number,
    onStart: (data: Payload) => void,
  ): Worker<Jobs> => {
    const handlers: HandlerMap<Jobs> = {};
    for (const name of jobs.names) {
      handlers[name] = (j) => {
        onStart(j.data as Payload);
      };
    }
    const w = createWorker(jobs, handlers, {
      connection,
      concurrency,
      autorun: false,
    });
    w.on('error', (err) => console.error(`[jobwire worker] ${err.message}`));
    workers.add(w);
    return w;
  };

  const ready = async (w: Worker<Jobs>): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!w.health().ready) {
      if (Date.now() > deadline) throw new Error('jobwire worker not ready');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  const closeWorker = async (w: Worker<Jobs>): Promise<void> => {
    workers.delete(w);
    await w.close({ deadlineMs: 5000 });
  };

  return {
    name: 'jobwire',
    version: jobwireVersion,

    async warmUp() {
      // Debounce keys on `ref`: the warm-up job must not share job 0's
      // key, or job 0 would replace it.
      await enqueue(o.flow === 'debounce' ? 99_999_999 : 0);
    },

    async enqueueSeq(n) {
      for (let i = 0; i < n; i++) await enqueue(i);
    },

    async enqueueConcurrent(n, inFlight) {
      await pool(n, inFlight, enqueue);
    },

    async enqueueBulk(n, chunk) {
      for (const [a, b] of chunks(n, chunk)) {
        const items = [];
        for (let i = a; i < b; i++)
          items.push({ name: typeName(i, types), payload: payload(i) });
        await queue.enqueueBulk(items);
      }
    },

    async fill(n) {
      // Several bulk calls in flight: loading is not what is measured.
      const all = [...chunks(n, 1000)];
      await pool(all.length, 4, async (k) => {
        const [a, b] = all[k]!;
        const items = [];
        for (let i = a; i < b; i++)
          items.push({ name: typeName(i, types), payload: payload(i) });
        await queue.enqueueBulk(items);
      });
    },

    async worker(concurrency, stopAfter): Promise<PreparedWorker> {
      const done = deferred();
      let completed = 0;
      const w = newWorker(concurrency, () => {});
      w.on('completed', () => {
        if (++completed === stopAfter) done.resolve();
      });
      await ready(w);
      return {
        start: () => w.run(),
        finished: done.promise,
        close: () => closeWorker(w),
      };
    },

    async latency(n, ratePerSec, concurrency): Promise<LatencyResult> {
      const sentAt = new Array<number>(n).fill(NaN);
      const pickup = new Array<number>(n).fill(NaN);
      const completion = new Array<number>(n).fill(NaN);
      const w = newWorker(concurrency, (data) => {
        const i = Number(data.ref);
        if (i >= 0 && i < n) pickup[i] = performance.now() - sentAt[i]!;
      });
      await ready(w);
      w.run();
      try {
        // Warm-up: the result follower and the worker's first fetch.
        const warm = await enqueue(99_999_999);
        await warm.finished({ timeoutMs: 10_000 });
        const pending: Promise<void>[] = [];
        await paced(n, ratePerSec, (i) => {
          sentAt[i] = performance.now();
          pending.push(
            enqueue(i)
              .then((h) => h.finished())
              .then(() => {
                completion[i] = performance.now() - sentAt[i]!;
              }),
          );
        });
        await Promise.all(pending);
      } finally {
        await closeWorker(w);
      }
      return { pickup, completion };
    },

    async consume(concurrency, onStart): Promise<RunningWorker> {
      const w = newWorker(concurrency, (data) => onStart(Number(data.ref)));
      await ready(w);
      w.run();
      return { close: () => closeWorker(w) };
    },

    async enqueueOne(i) {
      await enqueue(i);
    },

    async roundTrip(i) {
      await (await enqueue(i)).finished();
    },

    async close() {
      await Promise.all([...workers].map((w) => closeWorker(w)));
      await queue.close();
    },
  };
}
