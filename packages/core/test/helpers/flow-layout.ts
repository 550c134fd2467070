/**
 * Writes flow-control state straight into Redis, in the layout of
 * docs/flow-control.md (FLOW.md's table), so the read side (getFlowStats,
 * `jobwire stats`, `/flow`, the dashboard) is tested without the runtime
 * that normally writes it.
 */
import { Redis, type Cluster } from 'ioredis';
import { laneName, queueKeys } from '../../src/redis/keys.ts';

/** One key of a seeded type, and what it waits on. */
export interface SeedKey {
  /** Waiting jobs in lane 1. */
  waiting: number;
  /** Waiting jobs in the version 2 lane. */
  waitingV2?: number;
  /** Active jobs holding a slot. */
  active?: number;
  /** Where the key sits: the ring, rate-held (gd) or parked (gp). */
  state: 'turn' | 'rate' | 'concurrency';
  /** With `rate`: ms from now until its window frees. */
  freesInMs?: number;
  /** Starts in its per-key rate window, that many ms ago each. */
  rateStarts?: number[];
}

export interface SeedType {
  type: string;
  /** The `flow` hash value (a raw string is written as is). */
  rules?: object | string;
  keys?: Record<string, SeedKey>;
  /** Starts in the type-wide window `rl:<type>`, that many ms ago each. */
  typeStarts?: number[];
  throttled?: number;
  debounced?: number;
  /** `tk:<type>`: per-key throttled drops. */
  throttledKeys?: Record<string, number>;
}

/** Redis's clock in ms, as the scripts and the reader see it. */
export async function redisNow(raw: Redis | Cluster): Promise<number> {
  const [s, us] = await raw.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/**
 * Seeds one job type's flow state in `queue` (prefix `jobwire`), over a
 * connection (a Cluster too) or a Redis URL (for packages without
 * ioredis). Returns the
 * Redis time the scores are relative to.
 */
export async function seedFlowType(
  redis: Redis | Cluster | string,
  queue: string,
  seed: SeedType,
  prefix = 'jobwire',
): Promise<number> {
  if (typeof redis === 'string') {
    const raw = new Redis(redis);
    try {
      return await seedFlowType(raw, queue, seed, prefix);
    } finally {
      await raw.quit();
    }
  }
  const raw = redis;
  const base = queueKeys(prefix, queue).base;
  const { type } = seed;
  const now = await redisNow(raw);
  const p = raw.pipeline();
  if (seed.rules !== undefined)
    p.hset(
      `${base}flow`,
      type,
      typeof seed.rules === 'string' ? seed.rules : JSON.stringify(seed.rules),
    );
  let turn = 0;
  let job = 0;
  for (const [key, k] of Object.entries(seed.keys ?? {})) {
    const lanes: [string, number][] = [[laneName(type, 1), k.waiting]];
    if (k.waitingV2 !== undefined) {
      lanes.push([laneName(type, 2), k.waitingV2]);
      p.sadd(`${base}lanes`, laneName(type, 2));
    }
    for (const [lane, n] of lanes) {
      for (let i = 0; i < n; i++)
        p.zadd(`${base}g:${lane}:${key}`, i, `j${job++}`);
      if (n === 0) continue;
      if (k.state === 'turn') p.zadd(`${base}gr:${lane}`, turn++, key);
      if (k.state === 'rate')
        p.zadd(`${base}gd:${lane}`, now + (k.freesInMs ?? 0), key);
    }
    if (k.state === 'concurrency')
      p.hset(`${base}gp:${type}`, key, lanes.map(([l]) => l).join(','));
    for (let i = 0; i < (k.active ?? 0); i++)
      p.zadd(`${base}ga:${type}:${key}`, now, `a${job++}`);
    for (const ago of k.rateStarts ?? [])
      p.zadd(`${base}rk:${type}:${key}`, now - ago, `t${job++}`);
  }
  for (const ago of seed.typeStarts ?? [])
    p.zadd(`${base}rl:${type}`, now - ago, `t${job++}`);
  if (seed.throttled !== undefined)
    p.hset(`${base}flow-stats`, `${type}|throttled`, seed.throttled);
  if (seed.debounced !== undefined)
    p.hset(`${base}flow-stats`, `${type}|debounced`, seed.debounced);
  for (const [key, n] of Object.entries(seed.throttledKeys ?? {}))
    p.zadd(`${base}tk:${type}`, n, key);
  await p.exec();
  return now;
}

/**
 * The state the read-side tests share: `send` keyed by tenant (2 per key
 * concurrency, 5 per second per key), with one key of each kind, a second
 * version lane, and throttle and debounce counts.
 */
export const tenantSeed: SeedType = {
  type: 'send',
  rules: {
    rateLimit: { limit: 5, perMs: 1000, keyed: true },
    concurrency: { limit: 2 },
  },
  keys: {
    // At its concurrency limit: 2 active, 40 waiting (30 + 10 at v2).
    acme: { waiting: 30, waitingV2: 10, active: 2, state: 'concurrency' },
    // Its rate window is full for a minute more (so slow CLI spawns
    // still see it held).
    globex: {
      waiting: 7,
      active: 1,
      state: 'rate',
      freesInMs: 60_000,
      rateStarts: [10, 20, 30, 40, 50],
    },
    initech: { waiting: 3, state: 'turn', rateStarts: [100, 5000] },
  },
  throttled: 12,
  debounced: 4,
  throttledKeys: { acme: 9, globex: 3 },
};
