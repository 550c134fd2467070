/** The job type of the S15-S19 children: sleeps `ms`, then ok or throws. */
import { z } from 'zod';
import { defineJobs, job } from '../../../src/index.ts';

export const clockPayload = z.object({
  n: z.number().int(),
  ms: z.number().int().min(0).optional(),
  /** `throw`: a retryable error; `permanent`: a PermanentError. */
  mode: z.enum(['ok', 'throw', 'permanent']).optional(),
});

export type ClockPayload = z.infer<typeof clockPayload>;

export function clockRegistry(queue: string) {
  return defineJobs({
    t: job({
      queue,
      payload: clockPayload,
      result: z.object({ n: z.number().int() }),
    }),
  });
}
