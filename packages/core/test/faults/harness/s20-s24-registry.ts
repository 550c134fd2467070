/**
 * The job types of S20-S24: `task` (sleeps, reports progress), `blob`
 * (a string and an untyped field, for payload sizes and types) and
 * `email` (the `{ to, subject }` contract S23's legacy job violates).
 */
import { z } from 'zod';
import { defineJobs, job } from '../../../src/index.ts';

export function s2xRegistry(queue: string) {
  return defineJobs({
    task: job({
      queue,
      payload: z.object({
        n: z.number().int(),
        ms: z.number().int().min(0).optional(),
        /** Progress values reported evenly over `ms`. */
        progress: z.array(z.number().min(0).max(100)).optional(),
      }),
      result: z.object({ n: z.number().int(), pid: z.number().int() }),
    }),
    blob: job({
      queue,
      payload: z.object({ data: z.string(), extra: z.unknown().optional() }),
      result: z.object({ sha256: z.string(), bytes: z.number().int() }),
    }),
    email: job({
      queue,
      payload: z.object({ to: z.string(), subject: z.string() }),
      result: z.object({ sent: z.literal(true) }),
      attempts: 3,
    }),
  });
}
