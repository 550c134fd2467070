import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  jobFingerprint,
} from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

/** What jobFingerprint gave for the regex case below before flags counted. */
const PLAIN_REGEX_FINGERPRINT = 'd996b6fdcab4a426';

const registry = (queue: string, subject: z.ZodType) =>
  defineJobs({
    mail: job({ queue, payload: z.object({ to: z.string(), subject }) }),
  });

describe('contract fingerprints', () => {
  it('changes with the schema, not with unrelated code', () => {
    const q = uniqueQueue();
    const a = jobFingerprint(registry(q, z.string()).jobs.mail);
    const same = jobFingerprint(registry(q, z.string()).jobs.mail);
    const narrowed = jobFingerprint(registry(q, z.string().max(5)).jobs.mail);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(same).toBe(a);
    expect(narrowed).not.toBe(a);
  });

  // Found by an outside review (2026-12-01): JSON Schema's `pattern` drops
  // a regex's flags, so /^ab$/ and /^ab$/i gave one fingerprint, and a
  // worker called a job from the other "this contract".
  it("changes with a regex's flags; a schema without flagged regexes keeps its value", () => {
    const q = 'fp-fixed';
    const plain = jobFingerprint(
      registry(q, z.string().regex(/^ab$/)).jobs.mail,
    );
    const caseless = jobFingerprint(
      registry(q, z.string().regex(/^ab$/i)).jobs.mail,
    );
    const multiline = jobFingerprint(
      registry(q, z.string().regex(/^ab$/m)).jobs.mail,
    );
    expect(new Set([plain, caseless, multiline]).size).toBe(3);
    // A format's own pattern, too.
    const email = (pattern: RegExp) =>
      jobFingerprint(registry(q, z.email({ pattern })).jobs.mail);
    expect(email(/^a@b$/)).not.toBe(email(/^a@b$/i));
    // The value every release computed for this schema, unchanged.
    expect(plain).toBe(PLAIN_REGEX_FINGERPRINT);
  });

  it('is stored on each job and shown to the worker and the maintenance API', async () => {
    const queue = uniqueQueue();
    const oldJobs = registry(queue, z.string());
    const newJobs = registry(queue, z.string().min(3));
    const producer = createQueue(oldJobs, { connection: redis.url });
    const seen: string[] = [];
    const errors: string[] = [];
    // The new worker refuses the old job, and says which contract wrote it.
    const worker = createWorker(
      newJobs,
      {
        mail: (j) => {
          seen.push(j.fingerprint);
        },
      },
      { connection: redis.url, ...fastWorkerSettings },
    );
    worker.on('failed', ({ error }) => errors.push(error.message));
    try {
      const ok = await producer.enqueue('mail', { to: 'a', subject: 'long' });
      const bad = await producer.enqueue('mail', { to: 'a', subject: 'x' });
      await waitFor(
        () => seen.length === 1 && errors.length === 1,
        5000,
        'both jobs',
      );
      const oldFp = jobFingerprint(oldJobs.jobs.mail);
      expect(seen).toEqual([oldFp]);
      expect((await producer.getJob(ok.id))?.fingerprint).toBe(oldFp);
      expect(errors[0]).toContain(`written by contract ${oldFp}`);
      expect(errors[0]).toContain(jobFingerprint(newJobs.jobs.mail));
      expect((await producer.getJob(bad.id))?.state).toBe('failed');
    } finally {
      await worker.close();
      await producer.close();
    }
  });
});
