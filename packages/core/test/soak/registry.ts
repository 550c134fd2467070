/** The job type of the soak run: keeps every finished job, so none is "lost" to retention. */
import { z } from 'zod';
import { defineJobs, job } from '../../src/index.ts';

export function soakRegistry(queue: string) {
  return defineJobs({
    work: job({
      queue,
      payload: z.object({ n: z.number().int(), ms: z.number().int().min(0) }),
      result: z.object({ n: z.number().int() }),
      retention: { completed: true, failed: true },
    }),
  });
}
