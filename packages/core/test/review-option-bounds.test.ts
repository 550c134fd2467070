/**
 * Found by an outside review (2026-12-01): `bulkChunkSize: 0` was accepted
 * and enqueueBulk() then looped for ever against Redis; `maxEvents: -5`
 * failed each enqueue with a misleading CORRUPT_JOB; `maxStalls: -1`,
 * `concurrency: 1.5` and more were taken as given. Each is refused when
 * the queue or worker is created, with INVALID_OPTION naming it, before a
 * connection is opened.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  type JobwireError,
} from '../src/index.ts';
import { createTestQueue } from '../src/testing/test-queue.ts';

const jobs = defineJobs({ t: job({ queue: 'bounds', payload: z.object({}) }) });
// Never reached: every case throws before connecting.
const connection = 'redis://127.0.0.1:1';

function refusal(make: () => unknown): string {
  try {
    make();
  } catch (err) {
    expect((err as JobwireError).code).toBe('INVALID_OPTION');
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('numeric options out of range are refused up front', () => {
  it.each([
    ['bulkChunkSize', 0],
    ['bulkChunkSize', 2.5],
    ['maxEvents', -5],
    ['maxEvents', Number.NaN],
    ['maxPayloadBytes', -1],
    ['connectTimeoutMs', -1],
    ['commandTimeoutMs', 0],
    // Past a Node timer's range: it would fire after 1 ms.
    ['commandTimeoutMs', 2 ** 31],
  ])('createQueue: %s %s', (name, value) => {
    expect(
      refusal(() => createQueue(jobs, { connection, [name]: value })),
    ).toMatch(new RegExp(`^${name} must be`));
  });

  it.each([
    ['maxStalls', -1],
    ['maxStalls', 1.5],
    ['stallCheckIntervalMs', 0],
    ['stallCheckIntervalMs', -5],
    ['maxLogLines', 0],
    ['concurrency', 1.5],
    ['maxEvents', 0],
    ['stallCheckIntervalMs', 2 ** 32],
    ['leaseMs', 2 ** 31],
  ])('createWorker: %s %s', (name, value) => {
    expect(
      refusal(() =>
        createWorker(
          jobs,
          { t: async () => {} },
          { connection, [name]: value },
        ),
      ),
    ).toMatch(new RegExp(`^${name} must be`));
  });

  it('createTestQueue: maxPayloadBytes 0', () => {
    expect(
      refusal(() => createTestQueue(jobs, { maxPayloadBytes: 0 })),
    ).toMatch(/^maxPayloadBytes must be/);
  });
});
