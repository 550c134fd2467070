/**
 * Found by a review (2026-12-01): once options accepted `undefined`, an
 * enqueue's `{ replicas: undefined }` replaced the queue's `replicas: 2`
 * in the merge, silently weakening the wait. Undefined means "not set".
 */
import { describe, expect, it } from 'vitest';
import { resolveDurability } from '../src/producer/durability.ts';

describe('durability merge', () => {
  it("an enqueue's undefined fields keep the queue's", () => {
    const queue = { durability: { replicas: 2, timeoutMs: 500 } };
    expect(
      resolveDurability(queue, {
        aof: true,
        replicas: undefined,
        timeoutMs: undefined,
      }),
    ).toEqual({ aof: true, replicas: 2, timeoutMs: 500 });
    expect(resolveDurability(queue, { replicas: 1 })).toEqual({
      aof: false,
      replicas: 1,
      timeoutMs: 500,
    });
  });
});
