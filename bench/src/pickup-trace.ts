/**
 * `pnpm --filter @jobwire/bench pickup-trace [gapMs] [jobs]`: takes one
 * job's pickup apart, one job at a time (each awaited through `finished()`
 * before the next, `gapMs` apart), on a private redis-server. Per job it
 * notes when the producer's socket write of the enqueue happens, when the
 * lease's reply reaches the worker's blocking connection, and when the
 * handler starts, and prints the medians of the three segments.
 */
import net from 'node:net';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '@jobwire/core';
import { startRedis } from './redis.ts';

const gapMs = Number(process.argv[2] ?? 2);
const jobs = Number(process.argv[3] ?? 1000);

/** The job being traced (-1: none), and when its enqueue was called. */
let current = -1;
let calledAt = 0;
const written: number[] = [];
const replied: number[] = [];
const started: number[] = [];
let blockingPort = -1;
/** The producer's connection: the one the warm-up's enqueue is written on. */
let producerPort = -1;
const WARM_UP = -2;

// Socket-level hooks: the only place the write and the reply can be seen.
const write = net.Socket.prototype.write;
net.Socket.prototype.write = function (
  this: net.Socket,
  ...args: Parameters<typeof write>
) {
  const text = String(args[0]);
  if (text.includes('bzpopmin')) blockingPort = this.localPort ?? -1;
  else if (producerPort < 0 && current === WARM_UP && text.includes('evalsha'))
    producerPort = this.localPort ?? -1;
  else if (current >= 0 && this.localPort === producerPort)
    written[current] ??= performance.now() - calledAt;
  return write.apply(this, args);
} as typeof write;
const push = net.Socket.prototype.push;
net.Socket.prototype.push = function (
  this: net.Socket,
  ...args: Parameters<typeof push>
) {
  if (current >= 0 && args[0] && this.localPort === blockingPort)
    replied[current] ??= performance.now() - calledAt;
  return push.apply(this, args);
};

const redis = await startRedis();
const registry = defineJobs({
  trace: job({
    queue: 'trace',
    payload: z.object({ n: z.number() }),
    retention: { completed: false },
  }),
});
const connection = { host: redis.host, port: redis.port };
const queue = createQueue(registry, { connection });
const worker = createWorker(
  registry,
  {
    trace: (j) => {
      if (j.data.n === current) started[current] = performance.now() - calledAt;
    },
  },
  { connection, concurrency: 10 },
);
try {
  await (await queue.enqueue('trace', { n: -1 })).finished();
  // The worker is idle and blocked now: the next script call written is
  // the producer's.
  current = WARM_UP;
  await queue.enqueue('trace', { n: WARM_UP });
  current = -1;
  if (producerPort < 0) throw new Error("did not see the producer's socket");
  for (let i = 0; i < jobs; i++) {
    await new Promise((r) => setTimeout(r, gapMs));
    current = i;
    calledAt = performance.now();
    await (await queue.enqueue('trace', { n: i })).finished();
  }
  current = -1;
  const median = (xs: number[]) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return (s[s.length >> 1] ?? NaN).toFixed(3);
  };
  const minus = (a: number[], b: number[]) => a.map((x, i) => x - b[i]!);
  const complete = started.filter((s, i) =>
    Number.isFinite(s - replied[i]! - written[i]!),
  ).length;
  console.log(
    `${jobs} jobs (${complete} with all three marks), ${gapMs} ms apart, medians (ms): call to write ${median(written)}, ` +
      `write to the lease's reply ${median(minus(replied, written))}, ` +
      `reply to handler ${median(minus(started, replied))}; pickup ${median(started)}`,
  );
} finally {
  await worker.close();
  await queue.close();
  await redis.stop();
}
