/**
 * The schema and helpers the codegen CLI tests share (cli.test.ts,
 * cli-errors.test.ts, cli-watch.test.ts).
 */

/** Two job types: the starting point every CLI test edits. */
export const BASE = `import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';

export const jobs = defineJobs({
  /** Sends a transactional email. */
  sendEmail: job({
    queue: 'email',
    payload: z.object({
      /** Recipient address. */
      to: z.email(),
      /** Subject line, if any. */
      subject: z.string().optional(),
      kind: z.enum(['plain', 'html']),
    }),
    result: z.object({ messageId: z.string() }),
  }),

  /** Resizes an image. */
  resize: job({
    queue: 'media',
    compatibility: 'full',
    payload: z.object({
      url: z.url(),
      format: z.enum(['png', 'jpeg']),
    }),
  }),
});
`;

/** `s` with the RegExp metacharacters escaped. */
export const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
