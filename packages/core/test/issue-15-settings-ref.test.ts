/**
 * Issue 15, layout 3: a job hash names its options and fingerprint by a
 * settings ref (JobField.settingsRef) into the queue's settings hash
 * instead of holding them, unless its options are per-call. Jobs stored
 * the layout 2 way (options and fingerprint inline) still run, retry,
 * fail, stall, cancel and show as before; a layout 2 build meets layout 3
 * as a refusal.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createQueue,
  createWorker,
  defineJobs,
  job,
  LAYOUT_VERSION,
} from '../src/index.ts';
import { jobFingerprint } from '../src/contract/fingerprint.ts';
import { toStoredOptions } from '../src/contract/options.ts';
import { settingsRefOf } from '../src/redis/settings-ref.ts';
import { JobField } from '../src/redis/job-fields.ts';
import { queueKeys, type QueueKeys } from '../src/redis/keys.ts';
import { runScript } from '../src/redis/scripts/index.ts';
import { recoverStalled } from '../src/redis/transitions/lease.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();
let raw: Redis;
beforeAll(() => {
  raw = new Redis(redis.url);
});
afterAll(async () => {
  await raw.quit();
});

function registry(queue: string) {
  return defineJobs({
    task: job({
      queue,
      payload: z.object({ n: z.number() }),
      attempts: 3,
      backoff: { type: 'fixed', delayMs: 10 },
      retention: { failed: { count: 5 } },
    }),
    // Keeps no failed (so no cancelled) job: a cancel deletes it at once.
    gone: job({
      queue,
      payload: z.object({ n: z.number() }),
      retention: { failed: { count: 0 } },
    }),
  });
}

/** The settings entry value of a type's defaults: `<fingerprint>|<options>`. */
function defaultsValue(
  reg: ReturnType<typeof registry>,
  name: 'task' | 'gone',
) {
  const def = reg.jobs[name];
  return `${jobFingerprint(def)}|${JSON.stringify(toStoredOptions(def.options))}`;
}

/** The ref of a settings value `<fp>|<options>`, as the producer derives it. */
function refOf(value: string): string {
  const bar = value.indexOf('|');
  return settingsRefOf(value.slice(0, bar), value.slice(bar + 1));
}

/**
 * Rewrites a job stored by this build into what a layout 2 build stored:
 * options and fingerprint in the hash, no settings ref.
 */
async function toLayout2(k: QueueKeys, id: string): Promise<void> {
  const ref = await raw.hget(k.job(id), JobField.settingsRef);
  expect(ref).not.toBeNull();
  const value = (await raw.hget(k.settings, ref!))!;
  const bar = value.indexOf('|');
  await raw.hset(
    k.job(id),
    JobField.options,
    value.slice(bar + 1),
    JobField.fingerprint,
    value.slice(0, bar),
  );
  await raw.hdel(k.job(id), JobField.settingsRef);
}

describe('layout 3: settings by ref', () => {
  it('stores a type default settings once per queue; per-call options stay inline; getJob shows both', async () => {
    const q = uniqueQueue('settings');
    const k = queueKeys('jobwire', q);
    const reg = registry(q);
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const plain = await queue.enqueueBulk([
        ...Array.from({ length: 10 }, (_, n) => ({
          name: 'task' as const,
          payload: { n },
        })),
        // Options that leave the stored options as the defaults share them.
        { name: 'task', payload: { n: 10 }, options: { priority: 5 } },
        { name: 'task', payload: { n: 11 }, options: { delayMs: 60_000 } },
        { name: 'gone', payload: { n: 12 } },
      ]);
      const own = await queue.enqueue('task', { n: 13 }, { attempts: 7 });
      const fp = jobFingerprint(reg.jobs.task);

      expect(await raw.hgetall(k.settings)).toEqual({
        [refOf(defaultsValue(reg, 'task'))]: defaultsValue(reg, 'task'),
        [refOf(defaultsValue(reg, 'gone'))]: defaultsValue(reg, 'gone'),
      });
      for (const { id } of plain) {
        const h = await raw.hgetall(k.job(id));
        expect(h[JobField.settingsRef], id).toMatch(/^[\w-]{6}$/);
        expect(h[JobField.options], id).toBeUndefined();
        expect(h[JobField.fingerprint], id).toBeUndefined();
      }
      const h = await raw.hgetall(k.job(own.id));
      expect(h[JobField.settingsRef]).toBeUndefined();
      expect(JSON.parse(h[JobField.options]!)).toMatchObject({ at: 7 });
      expect(h[JobField.fingerprint]).toBe(fp);

      expect(await queue.getJob(plain[0]!.id)).toMatchObject({
        attempts: 3,
        fingerprint: fp,
        version: 1,
      });
      expect(await queue.getJob(plain[11]!.id)).toMatchObject({
        state: 'delayed',
        attempts: 3,
        fingerprint: fp,
      });
      expect(await queue.getJob(own.id)).toMatchObject({
        attempts: 7,
        fingerprint: fp,
      });

      // Repeat occurrences name their schedule's settings by ref too.
      const r = await queue.repeat(
        'task',
        { n: 14 },
        { key: 'r', everyMs: 3_600_000 },
      );
      const rh = await raw.hgetall(k.job(r.id));
      expect(rh[JobField.options]).toBeUndefined();
      expect(rh[JobField.fingerprint]).toBeUndefined();
      const repeatValue = await raw.hget(k.settings, rh[JobField.settingsRef]!);
      expect(repeatValue).toMatch(new RegExp(`^${fp}\\|`));
      // The script derives a repeat's ref itself: the same way as the producer.
      expect(rh[JobField.settingsRef]).toBe(refOf(repeatValue!));
      expect(await queue.getJob(r.id)).toMatchObject({
        attempts: 3,
        fingerprint: fp,
      });
    } finally {
      await queue.close();
    }
  });

  it('a ref another value holds (a hash collision) leaves the settings inline', async () => {
    const q = uniqueQueue('settings-c');
    const k = queueKeys('jobwire', q);
    const reg = registry(q);
    const ref = refOf(defaultsValue(reg, 'task'));
    await raw.hset(k.settings, ref, 'other|{"at":9}');
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const { id } = await queue.enqueue('task', { n: 1 });
      const h = await raw.hgetall(k.job(id));
      expect(h[JobField.settingsRef]).toBeUndefined();
      expect(h[JobField.options]).toBe(
        JSON.stringify(toStoredOptions(reg.jobs.task.options)),
      );
      expect(await raw.hget(k.settings, ref)).toBe('other|{"at":9}');
      expect(await queue.getJob(id)).toMatchObject({
        attempts: 3,
        fingerprint: jobFingerprint(reg.jobs.task),
      });
    } finally {
      await queue.close();
    }
  });

  it('a layout 2 build refuses a layout 3 queue; a layout 2 queue becomes layout 3 with nothing to rewrite', async () => {
    const q = uniqueQueue('settings-l');
    const k = queueKeys('jobwire', q);
    const reg = registry(q);
    expect(LAYOUT_VERSION).toBe(3);
    const queue = createQueue(reg, { connection: redis.url });
    try {
      const { id } = await queue.enqueue('task', { n: 1 });
      expect(await raw.hget(k.meta, 'layout')).toBe('3');
      // The layout check of a build that knows layouts up to 2 (the same
      // script): it is told 3 and writes nothing, so it throws
      // LayoutUnsupportedError (issue-15-layout.test.ts).
      const meta = await raw.hgetall(k.meta);
      expect(
        await runScript(raw, 'checkLayout', [k.meta, k.counts], [2, '1']),
      ).toBe(3);
      expect(await raw.hgetall(k.meta)).toEqual(meta);

      // A queue a layout 2 build wrote.
      await toLayout2(k, id);
      await raw.hset(k.meta, 'layout', '2');
      const [report] = await queue.migrateLayout({ queue: q });
      expect(report).toMatchObject({
        layoutBefore: 2,
        layout: 3,
        payloads: 0,
        logs: 0,
        complete: true,
      });
      expect(await raw.hget(k.job(id), JobField.options)).not.toBeNull();
      expect(await queue.getJob(id)).toMatchObject({
        attempts: 3,
        fingerprint: jobFingerprint(reg.jobs.task),
      });
    } finally {
      await queue.close();
    }
  });

  for (const layout of [2, 3] as const) {
    it(`layout ${String(layout)} jobs are leased, retried, failed, recovered from a stall, cancelled and shown as stored`, async () => {
      const q = uniqueQueue(`settings-${String(layout)}`);
      const k = queueKeys('jobwire', q);
      const reg = registry(q);
      const queue = createQueue(reg, { connection: redis.url });
      try {
        const ids: Record<string, string> = {};
        for (const [name, n, jobId] of [
          ['task', 1, 'retried'],
          ['task', 2, 'failing'],
          ['task', 3, 'stalled'],
          ['task', 4, 'cancelled'],
          ['gone', 5, 'gone'],
        ] as const) {
          ids[jobId] = (await queue.enqueue(name, { n }, { jobId })).id;
          if (layout === 2) await toLayout2(k, jobId);
        }
        for (const id of Object.values(ids)) {
          const h = await raw.hgetall(k.job(id));
          expect(h[JobField.options] !== undefined, id).toBe(layout === 2);
          expect(h[JobField.settingsRef] !== undefined, id).toBe(layout === 3);
        }
        const fp = jobFingerprint(reg.jobs.task);
        expect(await queue.getJob('failing')).toMatchObject({
          attempts: 3,
          fingerprint: fp,
        });

        // Cancelled while waiting: `task` keeps it, `gone` keeps none.
        expect(await queue.cancel('cancelled')).toBe('cancelled');
        expect((await queue.getJob('cancelled'))?.state).toBe('cancelled');
        expect(await queue.cancel('gone')).toBe('cancelled');
        expect(await queue.getJob('gone')).toBeUndefined();

        // `stalled` was leased by a worker that died: its lease ran out.
        await raw.zrem(k.wait('task'), 'stalled');
        await raw.zadd(k.active, 1, 'stalled');
        await raw.hset(k.job('stalled'), 's', 'a', 'tk', 'dead:1');
        await raw.hincrby(k.counts, 'task|w', -1);
        await raw.hincrby(k.counts, 'task|a', 1);
        expect(await recoverStalled(raw, k, 1000, 5, 1)).toEqual({
          requeued: 1,
          failed: 0,
          cancelled: 0,
        });

        const runs: Record<string, number> = {};
        const worker = createWorker(
          reg,
          {
            task: (j) => {
              runs[j.id] = (runs[j.id] ?? 0) + 1;
              if (j.id === 'failing') throw new Error('always');
              if (j.id === 'retried' && runs[j.id] === 1)
                throw new Error('once');
            },
            gone: () => undefined,
          },
          { connection: redis.url, ...fastWorkerSettings },
        );
        try {
          await waitFor(
            async () => {
              const c = await queue.getCounts({ queue: q });
              return c.completed === 2 && c.failed === 1;
            },
            15_000,
            'two completions and one failure',
          );
        } finally {
          await worker.close();
        }
        // Attempts come from the stored options: 3 for `failing`.
        expect(runs).toEqual({ retried: 2, failing: 3, stalled: 1 });
        expect(await queue.getJob('failing')).toMatchObject({
          state: 'failed',
          attemptsMade: 3,
          attempts: 3,
          fingerprint: fp,
        });
        expect(await queue.getJob('retried')).toMatchObject({
          state: 'completed',
          attemptsMade: 2,
        });
        expect(await queue.getJob('stalled')).toMatchObject({
          state: 'completed',
          stalls: 1,
          fingerprint: fp,
        });
      } finally {
        await queue.close();
      }
    });
  }
});
