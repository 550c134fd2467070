/**
 * Issue 14: `getJobs(state, { upcast: true })` lists jobs as a handler of
 * this code's contract would get them, and a job that cannot be upcast is
 * listed with its stored payload and the reason, never dropped or thrown.
 */
import { describe, expect, it } from 'vitest';
import { createQueue, type JobInfo } from '../src/index.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { versionedRegistries } from './helpers/versioned-jobs.ts';

const redis = useRedis();

const contracts = (queue: string) =>
  versionedRegistries(queue, { looseV1: true });

const byData = (jobs: JobInfo[]) =>
  new Map(jobs.map((j) => [JSON.stringify(j.data), j]));

describe('getJobs({ upcast: true }) (issue 14)', () => {
  it('gives version 1 jobs in the version 2 shape, keeping their stored version', async () => {
    const queue = uniqueQueue('list-up');
    const { one, two } = contracts(queue);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    try {
      await p1.enqueue('send', { to: 'a@example.com' });
      await p1.enqueue('send', { to: 'b@example.com' });
      await p2.enqueue('send', { to: ['c@example.com'], subject: 'hi' });

      const up = await p2.getJobs('waiting', { upcast: true });
      expect(up.map((j) => j.data)).toEqual([
        { to: ['a@example.com'], subject: '(none)' },
        { to: ['b@example.com'], subject: '(none)' },
        { to: ['c@example.com'], subject: 'hi' },
      ]);
      expect(up.map((j) => j.version)).toEqual([1, 1, 2]);
      expect(up.map((j) => j.dataVersion)).toEqual([2, 2, 2]);
      expect(up.every((j) => j.upcastError === undefined)).toBe(true);

      // A state other than waiting, with a type filter, is upcast too.
      const d = await p1.enqueue(
        'send',
        { to: 'later@example.com' },
        { delayMs: 600_000 },
      );
      const delayed = await p2.getJobs('delayed', {
        name: 'send',
        upcast: true,
      });
      expect(delayed).toHaveLength(1);
      expect(delayed[0]).toMatchObject({
        id: d.id,
        version: 1,
        dataVersion: 2,
        data: { to: ['later@example.com'], subject: '(none)' },
      });
    } finally {
      await p1.close();
      await p2.close();
    }
  });

  it('without the option, lists the stored payloads as they are', async () => {
    const queue = uniqueQueue('list-up');
    const { one, two } = contracts(queue);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    try {
      await p1.enqueue('send', { to: 'a@example.com' });
      await p2.enqueue('send', { to: ['c@example.com'] });
      for (const options of [{}, { upcast: false }]) {
        const plain = await p2.getJobs('waiting', options);
        expect(plain.map((j) => j.data)).toEqual([
          { to: 'a@example.com' },
          // Stored before defaults: no subject.
          { to: ['c@example.com'] },
        ]);
        expect(plain.map((j) => j.version)).toEqual([1, 2]);
        for (const j of plain) {
          expect(j).not.toHaveProperty('dataVersion');
          expect(j).not.toHaveProperty('upcastError');
        }
      }
    } finally {
      await p1.close();
      await p2.close();
    }
  });

  it('lists a job whose upcast fails with its stored payload and the error, and upcasts the rest', async () => {
    const queue = uniqueQueue('list-up');
    const { one, two } = contracts(queue);
    const p1 = createQueue(one, { connection: redis.url });
    const p2 = createQueue(two, { connection: redis.url });
    try {
      await p1.enqueue('send', { to: 'a@example.com' });
      const threw = await p1.enqueue('send', { to: 'throw@example.com' });
      // Valid for the loose version 1 producer, not for the kept `from`.
      const invalid = await p1.enqueue('send', { to: 'not an address' });
      await p1.enqueue('send', { to: 'z@example.com' });

      const up = await p2.getJobs('waiting', { upcast: true });
      expect(up).toHaveLength(4);
      const jobs = byData(up);

      const t = jobs.get(JSON.stringify({ to: 'throw@example.com' }));
      expect(t?.id).toBe(threw.id);
      expect(t?.version).toBe(1);
      expect(t?.dataVersion).toBe(1);
      expect(t?.upcastError?.code).toBe('UPCAST_FAILED');
      expect(t?.upcastError?.message).toMatch(
        /upcaster from version 1 to 2 threw on payload of send job .*: no address book entry/,
      );

      const i = jobs.get(JSON.stringify({ to: 'not an address' }));
      expect(i?.id).toBe(invalid.id);
      expect(i?.dataVersion).toBe(1);
      expect(i?.upcastError?.code).toBe('VALIDATION_FAILED');
      expect(i?.upcastError?.message).toMatch(/version 1/);

      for (const to of ['a@example.com', 'z@example.com']) {
        const ok = jobs.get(JSON.stringify({ to: [to], subject: '(none)' }));
        expect(ok?.dataVersion).toBe(2);
        expect(ok?.upcastError).toBeUndefined();
      }
    } finally {
      await p1.close();
      await p2.close();
    }
  });
});
