/**
 * A rate limit charges a start at the lease, so a worker must not lease a
 * rate-limited type ahead of its free slots (prefetch): the job would start
 * later than it was counted, and a window of handler starts could exceed
 * the limit (docs/rate-limits.md, "What counts as a start").
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineJobs, job } from '../src/index.ts';
import { slotBookFor } from '../src/worker/worker-settings.ts';
import type { LeasedJob } from '../src/redis/transitions/lease.ts';

const payload = z.object({ n: z.number() });
const registry = defineJobs({
  limited: job({ payload, rateLimit: { limit: 10, perMs: 1000 } }),
  plain: job({ payload }),
});

describe('prefetch and rate limits', () => {
  // Prefetching depends on measured handler time: a frozen clock keeps a
  // descheduled test process from measuring a slow handler.
  afterEach(() => vi.useRealTimers());

  it('reserves only free slots for a rate-limited type, and free slots plus prefetch for others', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const book = slotBookFor(registry, { prefetch: 8 }, 2);
    // Prefetching switches on once a handler is known to be short.
    const done = { name: 'plain' } as LeasedJob;
    expect(book.tryOccupy(done)).toBe(true);
    expect(book.release(done)).toBe(true);
    const r = book.reserve(['limited', 'plain']);
    const quota = new Map(r.quotas);
    expect(quota.get('limited')).toBe(2);
    expect(quota.get('plain')).toBe(10);
    expect(r.immediate).toBe(2);
  });
});
