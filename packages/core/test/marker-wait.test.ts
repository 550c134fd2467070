/**
 * A worker's wait for work (BZPOPMIN with its lease queued behind) must not
 * start once the worker is paused or closing. pause() and close() end a wait
 * under way by cutting its connection; one that came while the loop, having
 * chosen to wait, still awaited something else (a layout recheck, once a
 * minute) was dropped, since the wait cleared the interrupt as it began: the
 * wait and its lease were sent anyway, a job that came was leased and handed
 * back, and close() waited up to `blockTimeoutMs` for the wait to end.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MarkerWait } from '../src/worker/marker-wait.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';

const redis = useRedis();
let client: Redis;
let admin: Redis;
beforeAll(async () => {
  client = new Redis(redis.url);
  admin = new Redis(redis.url);
  await Promise.all([client.ping(), admin.ping()]);
});
afterAll(() => {
  client.disconnect();
  admin.disconnect();
});

/** BZPOPMIN calls Redis has run so far. */
async function bzpopminCalls(): Promise<number> {
  const info = await admin.info('commandstats');
  return Number(/cmdstat_bzpopmin:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

describe('MarkerWait', () => {
  it.each([
    ['paused', { paused: true, stopping: false }],
    ['stopping', { paused: false, stopping: true }],
  ])('sends no wait and no lease once the worker is %s', async (_, state) => {
    const wait = new MarkerWait(
      {
        isStopping: () => state.stopping,
        isPaused: () => state.paused,
        reportError: () => {},
        replied: () => {},
        rearm: () => {},
      },
      { client, owned: false },
      uniqueQueue('wait'),
    );
    const before = await bzpopminCalls();
    let leased = false;
    const t0 = Date.now();
    const reply = await wait.blockThen(['m'], 2000, () => {
      leased = true;
      return Promise.resolve('leased');
    });
    expect(reply).toBeUndefined();
    expect(leased).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    await wait.block(['m'], 2000);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await bzpopminCalls()).toBe(before);
  });

  it('waits, and runs its lease after the wait, while the worker runs', async () => {
    const wait = new MarkerWait(
      {
        isStopping: () => false,
        isPaused: () => false,
        reportError: () => {},
        replied: () => {},
        rearm: () => {},
      },
      { client, owned: false },
      uniqueQueue('wait'),
    );
    const marker = `${uniqueQueue('marker')}:m`;
    const before = await bzpopminCalls();
    const reply = wait.blockThen([marker], 2000, (c) => c.zcard(marker));
    await admin.zadd(marker, 0, '0');
    // The lease runs right behind the wait, which popped the marker.
    expect(await reply).toBe(0);
    expect(await bzpopminCalls()).toBe(before + 1);
  });
});
