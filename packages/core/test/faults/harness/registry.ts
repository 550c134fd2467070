/** The job type the scenario workers serve. */
import { z } from 'zod';
import { defineJobs, job } from '../../../src/index.ts';

export function faultRegistry(queue: string) {
  return defineJobs({
    task: job({
      queue,
      payload: z.object({
        n: z.number().int(),
        ms: z.number().int().min(0).optional(),
        kill: z.boolean().optional(),
      }),
      result: z.object({ n: z.number().int(), pid: z.number().int() }),
    }),
  });
}

/** S07: one job type whose handler misbehaves as `mode` says. */
export const failureModes = [
  'never',
  'throwString',
  'throwNull',
  'rejectUndefined',
  'circularCause',
  'badResult',
  'unhandledRejection',
] as const;

export function failureRegistry(queue: string) {
  return defineJobs({
    h: job({
      queue,
      payload: z.object({ mode: z.enum(failureModes) }),
      result: z.object({ ok: z.literal(true) }),
    }),
  });
}
