/**
 * The job contracts of the examples and the demo: the single source of
 * truth that producers, workers and codegen read. `pnpm codegen` (the root
 * jobwire.config.json) writes ./generated/ from it.
 */
import { z } from 'zod';
import { defineJobs, job } from '@jobwire/core';

/**
 * An http(s) URL on a domain name, `localhost` or an IPv4 address (no user
 * info, no IPv6 literal), as
 * a regex, so contract.json carries the whole check: zod's URL check runs
 * the WHATWG parser, which JSON Schema validators in other languages do
 * not. Every string it matches also parses as a URL; the path, query and
 * fragment use RFC 3986 characters. The regex runs first: z.url()
 * trims the string, so a regex after it would let "https://a.io\n" pass.
 */
const HTTP_URL =
  /^https?:\/\/(?=[^/?#:]{1,253}(?:[:/?#]|$))(?:(?:(?![xX][nN]--)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?![xX][nN]--)[A-Za-z]{2,63}|localhost|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?(?:[/?#](?:[A-Za-z0-9\-._~:/?#@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)?$/;

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
      /** Where to POST the event: an http(s) URL. */
      url: z
        .string()
        .regex(HTTP_URL)
        .pipe(z.url({ protocol: /^https?$/ })),
      event: z.enum(['user.created', 'invoice.paid']),
      body: z.record(z.string(), z.unknown()),
    }),
    attempts: 4,
    backoff: { type: 'exponential', delayMs: 100 },
    // At most two deliveries to one receiving host at a time, so a burst of
    // events for one customer cannot flood their server or starve others'.
    concurrency: { limit: 2, key: (p) => new URL(p.url).hostname },
    // Keep delivered webhooks for an hour (at most 100) for inspection.
    retention: { completed: { count: 100, ageMs: 3_600_000 } },
  }),
});

export type Jobs = typeof jobs.jobs;
