import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorCode, job, JobwireError, ValidationError } from '../src/index.ts';

// job({...}) checks its flow rules at declaration (issue 16): nothing
// wrong reaches a producer or a worker.
const payload = z.object({ tenantId: z.string(), userId: z.number() });
type P = z.output<typeof payload>;
const byTenant = (p: P) => p.tenantId;

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** job() with flow options the types would refuse, to reach the runtime check. */
const untyped = (flow: Record<string, unknown>) =>
  job({ payload, ...(flow as object) });

describe('job() flow rules', () => {
  it('refuses different key functions for rateLimit and concurrency (INVALID_OPTION)', () => {
    const err = thrownBy(() =>
      job({
        payload,
        rateLimit: { limit: 10, perMs: 1000, key: byTenant },
        // Same text, another function: the rules could not share queues.
        concurrency: { limit: 2, key: (p) => p.tenantId },
      }),
    );
    expect(err).toBeInstanceOf(JobwireError);
    expect(err).not.toBeInstanceOf(ValidationError);
    expect((err as JobwireError).code).toBe(ErrorCode.INVALID_OPTION);
    expect((err as Error).message).toMatch(
      /rateLimit\.key and concurrency\.key must be the same function/,
    );
  });

  it('accepts one function for both and groups by it', () => {
    const def = job({
      payload,
      rateLimit: { limit: 10, perMs: 1000, key: byTenant },
      concurrency: { limit: 2, key: byTenant },
    });
    expect(def.flow.groupKey).toBe(byTenant);
    expect(def.flow.rateLimit).toEqual({ limit: 10, perMs: 1000, keyed: true });
    expect(def.flow.concurrency).toEqual({ limit: 2 });
    expect(job({ payload }).flow).toEqual({});
  });

  it.each([
    ['rateLimit.limit', { rateLimit: { limit: 0, perMs: 1000 } }],
    ['rateLimit.perMs', { rateLimit: { limit: 5, perMs: 1.5 } }],
    ['concurrency.limit', { concurrency: { limit: -1, key: byTenant } }],
    ['concurrency.key', { concurrency: { limit: 1, key: 'tenantId' } }],
    ['debounce.periodMs', { debounce: { periodMs: 31 * 24 * 3600 * 1000 } }],
    ['throttle.limit', { throttle: { limit: '5', periodMs: 1000 } }],
    ['throttle.periodMs', { throttle: { limit: 5, periodMs: Number.NaN } }],
  ])('names the field of a bad value: %s', (field, flow) => {
    const err = thrownBy(() => untyped(flow));
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.code).toBe(ErrorCode.VALIDATION_FAILED);
    expect(v.issues.map((i) => i.path)).toEqual([field]);
    expect(v.message).toContain(`${field}: `);
  });

  it('refuses an option a rule does not have', () => {
    const err = thrownBy(() =>
      untyped({ rateLimit: { limit: 5, perMs: 1000, burst: 10 } }),
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain('burst');
  });
});
