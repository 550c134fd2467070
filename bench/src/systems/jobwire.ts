/**
 * jobwire with its defaults: validation on both sides, leases, events,
 * bounded retention. Processing scenarios set `retention: { completed: false }`
 * on the job type; the validation scenario's "off" side uses `z.any()`.
 */
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type Queue,
  type Worker,
} from '@jobwire/core';
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

export const jobwireVersion = packageVersion(
  new URL('../../../packages/core/package.json', import.meta.url),
);

/** The payload contract: what a real producer would declare. */
const payloadSchema = z.object({
  ref: z.string().length(8),
  userId: z.string().min(1).max(64),
  email: z.email(),
  subject: z.string().min(1).max(200),
  locale: z.string().min(2).max(10),
  tags: z.array(z.string().max(32)).max(20),
  amount: z.number().nonnegative(),
  body: z.string().max(10_000),
});

function registry(o: AdapterOptions) {
  return defineJobs({
    bench: job({
      queue: 'bench',
      payload: o.validate === false ? z.any() : payloadSchema,
      ...(o.removeCompleted ? { retention: { completed: false } } : {}),
    }),
  });
}

type Jobs = ReturnType<typeof registry>['jobs'];

export function createJobwire(o: AdapterOptions): SystemAdapter {
  const jobs = registry(o);
  const connection = { host: o.host, port: o.port };
  const queue: Queue<Jobs> = createQueue(jobs, { connection });
  const workers = new Set<Worker<Jobs>>();

  const newWorker = (
    concurrency: number,
    onStart: (data: Payload) => void,
  ): Worker<Jobs> => {
    const w = createWorker(
      jobs,
      {
        bench: (j) => {
          onStart(j.data as Payload);
        },
      },
      { connection, concurrency, autorun: false },
    );
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
      await queue.enqueue('bench', payload(0));
    },

    async enqueueSeq(n) {
      for (let i = 0; i < n; i++) await queue.enqueue('bench', payload(i));
    },

    async enqueueConcurrent(n, inFlight) {
      await pool(n, inFlight, (i) => queue.enqueue('bench', payload(i)));
    },

    async enqueueBulk(n, chunk) {
      for (const [a, b] of chunks(n, chunk)) {
        const items = [];
        for (let i = a; i < b; i++)
          items.push({ name: 'bench' as const, payload: payload(i) });
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
          items.push({ name: 'bench' as const, payload: payload(i) });
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
        const warm = await queue.enqueue('bench', payload(99_999_999));
        await warm.finished({ timeoutMs: 10_000 });
        const pending: Promise<void>[] = [];
        await paced(n, ratePerSec, (i) => {
          sentAt[i] = performance.now();
          pending.push(
            queue
              .enqueue('bench', payload(i))
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

    async close() {
      await Promise.all([...workers].map((w) => closeWorker(w)));
      await queue.close();
    },
  };
}
