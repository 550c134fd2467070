/**
 * The job contracts of the examples and the demo: the single source of
 * truth that producers, workers and codegen read. `pnpm codegen` (the root
 * jobwire.config.json) writes ./generated/ from it.
 */
import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';

export const jobs = defineJobs({
  /** Sends a transactional email. */
  sendEmail: job({
    queue: 'email',
    payload: z.object({
      /** Recipient address. */
      to: z.email(),
      /** Subject line. */
      subject: z.string().min(1).max(200),
      /** Plain-text body. */
      body: z.string().max(10_000),
      /** Template tags; defaults to none. */
      tags: z.array(z.string()).default([]),
    }),
    result: z.object({ messageId: z.string() }),
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 200, jitter: 0.2 },
    timeoutMs: 10_000,
  }),

  /** Renders a slideshow to PDF, reporting progress per slide (Kue's example). */
  renderSlideshow: job({
    queue: 'media',
    payload: z.object({
      title: z.string(),
      /** Slide ids to render, in order. */
      slides: z.array(z.string()).min(1).max(500),
    }),
    result: z.object({ pages: z.number().int(), bytes: z.number().int() }),
    progress: z.object({
      percent: z.number().min(0).max(100),
      slide: z.number().int(),
    }),
    priority: 'normal',
    timeoutMs: 60_000,
  }),

  /** Delivers a webhook; retried with backoff when the receiver fails. */
  deliverWebhook: job({
    queue: 'email',
    payload: z.object({
      url: z.url(),
      event: z.enum(['user.created', 'invoice.paid']),
      body: z.record(z.string(), z.unknown()),
    }),
    attempts: 4,
    backoff: { type: 'exponential', delayMs: 100 },
    // Keep delivered webhooks for an hour (at most 100) for inspection.
    retention: { completed: { count: 100, ageMs: 3_600_000 } },
  }),
});

export type Jobs = typeof jobs.jobs;
