/**
 * Version 1 of the rolling-deploy fixture's `thumbnail` job: a source URL
 * (`src`) and one size up to 10000.
 */
import { z } from 'zod';
import { defineJobs, job } from '../../../src/index.ts';
import { sizeOf, sourceOf } from './seed.ts';

export const VERSION = 1;

export const thumbnailV1 = z.strictObject({
  n: z.number().int(),
  src: z.string().min(1),
  size: z.number().int().min(1).max(10_000),
});

/** What a version 1 producer enqueues for job `n`. */
export function payload(n: number): z.input<typeof thumbnailV1> {
  return { n, src: sourceOf(n), size: sizeOf(n) };
}

/** What a version 1 handler sees for job `n`. */
export function view(n: number): z.output<typeof thumbnailV1> {
  return payload(n);
}

/** Attempts 1: any failure is final and visible; every outcome is kept. */
export function rollingJobs(queue: string) {
  return defineJobs({
    thumbnail: job({
      queue,
      payload: thumbnailV1,
      attempts: 1,
      retention: { completed: true, failed: true },
    }),
  });
}
