/**
 * The demo's worker process: one process serving every job type of the
 * jobs.schema.ts, closed gracefully on SIGTERM.
 */
import { closeOnSignals } from '@jobwire/core';
import { createJobsWorker } from './generated/consumer.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const webhookCalls = new Map<string, number>();

// The generated factory only accepts a complete, correctly typed handler map.
const worker = createJobsWorker(
  {
    sendEmail: async (job) => {
      await sleep(80);
      await job.log(`sent "${job.data.subject}" to ${job.data.to}`);
      return { messageId: `msg-${job.id}` };
    },
    renderSlideshow: async (job) => {
      const { slides } = job.data;
      for (let i = 0; i < slides.length; i++) {
        await sleep(120); // stands in for rendering one slide
        await job.progress({
          percent: Math.round(((i + 1) / slides.length) * 100),
          slide: i + 1,
        });
      }
      return { pages: slides.length, bytes: slides.length * 48_213 };
    },
    deliverWebhook: async (job) => {
      const calls = (webhookCalls.get(job.id) ?? 0) + 1;
      webhookCalls.set(job.id, calls);
      // The receiver is "down" for the first two attempts.
      if (calls < 3) throw new Error(`${job.data.url} answered 503`);
    },
  },
  {
    connection: process.env.REDIS_URL,
    prefix: process.env.JOBWIRE_PREFIX,
    concurrency: 4,
  },
);
worker.on('failed', ({ name, id, error, willRetry }) => {
  console.log(
    `  worker: ${name}#${id} attempt failed (${error.message})${willRetry ? ', will retry' : ''}`,
  );
});
closeOnSignals(worker, { deadlineMs: 5000 });
console.log(`  worker: pid ${process.pid} serving every job type`);
