/** The starter jobs.schema.ts that `jobwire init` writes. */
export const STARTER_SCHEMA = `/**
 * The job types of this project: the one place that says what each job
 * carries and returns. Producers and workers are typed from it.
 *
 * After an edit, run \`jobwire codegen\` (npm run codegen): it writes the
 * typed producer (enqueue functions) and consumer (handler types, worker
 * factory) next to the other generated files, and refuses a change that
 * would break jobs already queued. \`npm run codegen:check\` fails in CI when
 * the generated files are out of date.
 */
import { defineJobs, job } from '@jobwire/core';
import { z } from 'zod';

export const jobs = defineJobs({
  /** Sends the welcome email to a user who just signed up. */
  sendWelcomeEmail: job({
    queue: 'email',
    payload: z.object({
      /** Where the email goes. */
      to: z.email(),
      /** The name the email greets. */
      name: z.string().min(1),
    }),
    // What the handler returns, and what a producer awaiting it gets.
    result: z.object({ messageId: z.string() }),
    // Tried up to 5 times, waiting longer after each failure.
    attempts: 5,
    backoff: { type: 'exponential', delayMs: 1_000 },
  }),

  /** Makes a thumbnail of an uploaded image. */
  resizeImage: job({
    queue: 'media',
    payload: z.object({
      /** The image to resize. */
      url: z.url(),
      /** Width of the thumbnail in pixels; producers may leave it out. */
      width: z.number().int().positive().default(256),
    }),
  }),
});
`;
