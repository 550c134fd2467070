/**
 * Version 3 of the rolling-deploy fixture: `size` becomes a `box` of width
 * and height, and a `format` with a default appears. It keeps the step
 * 1 -> 2 and adds 2 -> 3, so a version 1 job is read through both.
 */
import { z } from 'zod';
import { defineJobs, job } from '../../../src/index.ts';
import { fromV1, thumbnailV2 } from './contract-v2.ts';
import { MAX_SIZE, sizeOf, sourceOf } from './seed.ts';

export const VERSION = 3;

const side = z.number().int().min(1).max(MAX_SIZE);

export const thumbnailV3 = z.strictObject({
  n: z.number().int(),
  source: z.string().min(1),
  box: z.strictObject({ w: side, h: side }),
  format: z.enum(['webp', 'png']).default('webp'),
});

/** What a version 3 producer enqueues for job `n` (format left to its default). */
export function payload(n: number): z.input<typeof thumbnailV3> {
  const s = Math.min(sizeOf(n), MAX_SIZE);
  return { n, source: sourceOf(n), box: { w: s, h: s } };
}

/** What a version 3 handler sees for job `n`, whichever version wrote it. */
export function view(n: number): z.output<typeof thumbnailV3> {
  return { ...payload(n), box: { ...payload(n).box }, format: 'webp' };
}

export function rollingJobs(queue: string) {
  return defineJobs({
    thumbnail: job({
      queue,
      version: 3,
      payload: thumbnailV3,
      attempts: 1,
      retention: { completed: true, failed: true },
      upcast: {
        1: fromV1,
        2: {
          from: thumbnailV2,
          to: (old) => ({
            n: old.n,
            source: old.source,
            box: { w: old.size, h: old.size },
          }),
        },
      },
    }),
  });
}
