/**
 * Version 2 of the rolling-deploy fixture: two breaking changes from
 * version 1, `src` renamed to `source` and `size` narrowed to 4096, with an
 * upcaster 1 -> 2 that renames and clamps.
 */
import { z } from 'zod';
import { defineJobs, job } from '../../../src/index.ts';
import { thumbnailV1 } from './contract-v1.ts';
import { MAX_SIZE, sizeOf, sourceOf } from './seed.ts';

export const VERSION = 2;

export const thumbnailV2 = z.strictObject({
  n: z.number().int(),
  source: z.string().min(1),
  size: z.number().int().min(1).max(MAX_SIZE),
});

/** The step 1 -> 2; version 3 keeps it. */
export const fromV1 = {
  from: thumbnailV1,
  to: (old: z.output<typeof thumbnailV1>): z.input<typeof thumbnailV2> => ({
    n: old.n,
    source: old.src,
    size: Math.min(old.size, MAX_SIZE),
  }),
};

/** What a version 2 producer enqueues for job `n`. */
export function payload(n: number): z.input<typeof thumbnailV2> {
  return { n, source: sourceOf(n), size: Math.min(sizeOf(n), MAX_SIZE) };
}

/** What a version 2 handler sees for job `n`, whichever version wrote it. */
export function view(n: number): z.output<typeof thumbnailV2> {
  return payload(n);
}

export function rollingJobs(queue: string) {
  return defineJobs({
    thumbnail: job({
      queue,
      version: 2,
      payload: thumbnailV2,
      attempts: 1,
      retention: { completed: true, failed: true },
      upcast: { 1: fromV1 },
    }),
  });
}
