/**
 * Issue 12, defect 9 (lost replies): when a leasing call's reply times out
 * on the client, the script has still run on the server, and the jobs it
 * leased wait out their lease without ever starting. They were then charged
 * a stall they did not cause (with `maxStalls: 0`, failed at once).
 *
 * The documented limit (docs/guarantees.md, clause 7): the worker records a
 * lost reply in Redis, so a worker that cannot reach Redis for longer than
 * the lease cannot record it in time, and another worker's stall check
 * charges the stall.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';
import { queueKeys } from '../src/redis/keys.ts';
import { scripts } from '../src/redis/scripts/index.ts';
import { startForwarder } from './faults/harness/forwarder.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import { fastWorkerSettings, waitFor } from './helpers/wait.ts';

const redis = useRedis();

/**
 * Whether Redis holds a wait for work of the worker whose connections are
 * named `name`: its BZPOPMIN, blocked, with a leasing call queued behind it.
 */
async function waitingIn(raw: Redis, name: string): Promise<boolean> {
  return ((await raw.client('LIST')) as string)
    .split('\n')
    .some((c) => c.includes(` name=${name} `) && /\bflags=\w*b/.test(c));
}

/**
 * Pauses `worker` once its wait for work is blocked in Redis, and returns
 * once Redis has dropped that wait. pause() cuts the wait by closing its
 * connection; a job enqueued before Redis has seen the close would wake it,
 * and the lease queued behind it would take the job (a lost lease the test
 * did not plan, which uses up the job's one free re-queue).
 */
async function pauseSettled(
  raw: Redis,
  worker: { pause(): void },
  name: string,
): Promise<void> {
  await waitFor(
    () => waitingIn(raw, name),
    5000,
    'the worker to wait for work',
  );
  worker.pause();
  await waitFor(
    async () => !(await waitingIn(raw, name)),
    5000,
    "Redis to drop the worker's wait",
  );
}

describe('issue 12: a lost leasing reply charges no stall', () => {
  it('a job leased by a call whose reply timed out runs later with no stall counted', async () => {
    const q = uniqueQueue();
    const reg = defineJobs({
      work: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ n: z.number() }),
      }),
    });
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const name = `worker-${q}`;
    const runs: number[] = [];
    const worker = createWorker(
      reg,
      {
        work: (j) => {
          runs.push(j.data.n);
          return { n: j.data.n };
        },
      },
      {
        connection: `${redis.url}?connectionName=${name}`,
        ...fastWorkerSettings,
        // Its wait for work outlasts the test (a new wait is not started
        // while the test looks for the old one to end).
        blockTimeoutMs: 60_000,
        maxStalls: 0,
        commandTimeoutMs: 300,
      },
    );
    worker.on('error', () => {});
    try {
      await waitFor(() => worker.health().ready, 5000, 'the worker');
      await pauseSettled(raw, worker, name);
      const h = await queue.enqueue('work', { n: 1 });
      // Writes (scripts included) wait on the server meanwhile: the fetch
      // that resume() starts times out on the client, then runs when the
      // pause ends and leases the job for a reply nobody reads.
      await raw.call('CLIENT', 'PAUSE', '1500', 'WRITE');
      worker.resume();
      expect(await h.finished({ timeoutMs: 10_000 })).toEqual({ n: 1 });
      expect(runs).toEqual([1]);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info?.state).toBe('completed');
      expect(info?.stalls).toBe(0);
      // It was leased twice: by the lost call, then again after the check.
      expect(info?.deliveries).toBe(2);
    } finally {
      await worker.close();
      raw.disconnect();
      await queue.close();
    }
  });

  it('a lost reply is charged a stall when the worker cannot reach Redis for longer than the lease', async () => {
    const q = uniqueQueue();
    const k = queueKeys('jobwire', q);
    const reg = defineJobs({
      work: job({
        queue: q,
        payload: z.object({ n: z.number() }),
        result: z.object({ by: z.string() }),
      }),
    });
    const raw = new Redis(redis.url);
    const queue = createQueue(reg, { connection: redis.url });
    const forwarder = await startForwarder(redis.server.port);
    const runs: string[] = [];
    const handler = (by: string) => () => {
      runs.push(by);
      return { by };
    };
    const settings = {
      ...fastWorkerSettings,
      maxStalls: 1,
      commandTimeoutMs: 300,
      logger: { warn: () => {}, error: () => {} },
    };
    // Worker a reaches Redis only through the forwarder. Its wait for work
    // outlasts the test: one that timed out just as the test pauses a would
    // be followed by another, maybe still on its way to Redis when the
    // test looks (below).
    const aName = `worker-a-${q}`;
    const a = createWorker(
      reg,
      { work: handler('a') },
      {
        ...settings,
        blockTimeoutMs: 60_000,
        // Named, so that CLIENT LIST tells its connections apart.
        connection: `redis://127.0.0.1:${forwarder.port}?connectionName=${aName}`,
      },
    );
    a.on('error', () => {});
    let b: ReturnType<typeof createWorker<typeof reg.jobs>> | undefined;
    try {
      await waitFor(() => a.health().ready, 5000, 'worker a');
      // The job is enqueued only once Redis has dropped a's cut wait (here
      // one hop later, through the forwarder): otherwise the lease queued
      // behind that wait could take the job, and the cut below would fall
      // on a fetch that finds nothing.
      await pauseSettled(raw, a, aName);
      const h = await queue.enqueue('work', { n: 1 });
      // a's next leasing call reaches Redis and leases the job; then the
      // partition starts, before its reply, and lasts past the lease, so
      // a cannot record the lost reply in time.
      const moveToActive = scripts.get('moveToActive')!.lua;
      const sha = createHash('sha1').update(moveToActive).digest('hex');
      const cut = forwarder.cutAfter(sha);
      a.resume();
      await cut;
      await waitFor(
        async () =>
          (await queue.getJob(h.id, { queue: q }))?.state === 'active',
        5000,
        'the lost call to lease the job',
      );
      // Another worker's stall check finds the lapsed lease unrecorded.
      b = createWorker(
        reg,
        { work: handler('b') },
        { ...settings, connection: redis.url },
      );
      expect(await h.finished({ timeoutMs: 15_000 })).toEqual({ by: 'b' });
      expect(runs).toEqual(['b']);
      const info = await queue.getJob(h.id, { queue: q });
      expect(info).toMatchObject({
        state: 'completed',
        stalls: 1,
        deliveries: 2,
      });
      // Charged as a stall, not released as never started.
      const mine = (await raw.xrange(k.events, '-', '+'))
        .map(([, fields]) => fields)
        .filter(
          (f) => f[3] === h.id && (f[1] === 'stalled' || f[1] === 'waiting'),
        );
      expect(mine).toEqual([
        ['ev', 'waiting', 'id', h.id, 'n', 'work'],
        ['ev', 'stalled', 'id', h.id, 'n', 'work', 'sc', '1'],
      ]);
    } finally {
      forwarder.heal();
      await a.close({ deadlineMs: 1000 });
      await b?.close();
      await forwarder.close();
      raw.disconnect();
      await queue.close();
    }
  });
});
