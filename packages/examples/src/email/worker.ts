/**
 * Email example, worker side: serves only `sendEmail`, explicitly.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 tsx packages/examples/src/email/worker.ts
 */
import { pathToFileURL } from 'node:url';
import { closeOnSignals, type WorkerOptions } from '@jobwire/core';
import {
  createJobsWorkerFor,
  type SendEmailHandler,
} from '../generated/consumer.ts';

/** Stands in for a mail provider: returns a message id. */
export const sendEmail: SendEmailHandler = async (job) => {
  await job.log(`to=${job.data.to} tags=${job.data.tags.join(',')}`);
  return { messageId: `msg-${job.id}` };
};

/** Starts the email worker. */
export function startEmailWorker(options: WorkerOptions) {
  return createJobsWorkerFor(['sendEmail'], { sendEmail }, options);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const worker = startEmailWorker({
    connection: process.env.REDIS_URL,
    prefix: process.env.JOBWIRE_PREFIX || undefined,
    concurrency: 10,
  });
  closeOnSignals(worker);
}
