/**
 * The worker daemon from the Japanese seed post: one process serves every
 * job type, with per-type concurrency, and SIGTERM lets active jobs finish
 * ("Worker の再起動時に Active が残る" no longer happens).
 *
 *   REDIS_URL=... [JOBWIRE_PREFIX=myapp] tsx packages/examples/src/daemon/worker.ts
 */
import { closeOnSignals } from '@jobwire/core';
import { createJobsWorker } from '../generated/consumer.ts';
import { sendEmail } from '../email/worker.ts';
import { renderSlideshow } from '../slideshow/render.ts';

const worker = createJobsWorker(
  {
    sendEmail,
    renderSlideshow,
    deliverWebhook: async (job) => {
      const res = await fetch(job.data.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: job.data.event, ...job.data.body }),
        signal: job.signal,
      }).catch((err: unknown) => {
        throw new Error(
          `POST ${job.data.url} failed: ${(err as Error).message}`,
        );
      });
      // Drain the body so the connection can be reused.
      await res.arrayBuffer();
      if (!res.ok) {
        throw new Error(`POST ${job.data.url} answered ${res.status}`);
      }
    },
  },
  {
    connection: process.env.REDIS_URL,
    prefix: process.env.JOBWIRE_PREFIX || undefined,
    concurrency: Number(process.env.CONCURRENCY ?? 8),
    typeConcurrency: { renderSlideshow: 2 },
  },
);
closeOnSignals(worker, {
  deadlineMs: Number(process.env.SHUTDOWN_DEADLINE_MS ?? 10_000),
});
console.log(`daemon ${process.pid}: serving every job type`);
