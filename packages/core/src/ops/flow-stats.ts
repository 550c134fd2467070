/**
 * The read side of flow control (issue 16): per job type, the rules its
 * workers enforce, how full its type-wide rate window is, how many jobs the
 * producers' throttle dropped or debounce replaced, and per key how many
 * jobs wait, how many run, and what each key waits on. Reads the layout of
 * docs/flow-control.md (FLOW.md) directly; never writes, and tolerates any
 * of its keys being missing (a type whose workers never ran, an old
 * runtime).
 *
 * Bounded work per call, whatever the number of keys: four pipelined round
 * trips per queue, at most FLOW_KEY_SAMPLE keys read per type, never a SCAN
 * of the keyspace.
 */
import { parseLane, type QueueKeys } from '../redis/keys.ts';
import type { RedisClient } from '../redis/scripts/index.ts';

/** Most keys of one type read to rank them (the head of each structure). */
export const FLOW_KEY_SAMPLE = 1000;
/** Keys listed per type by default: the ones with the most waiting jobs. */
export const FLOW_TOP_KEYS = 50;
/** Keys listed in `throttledKeys`: the most dropped. */
export const FLOW_TOP_THROTTLED = 20;

/**
 * What a key's waiting jobs wait on: `concurrency` (the key has `limit`
 * jobs active: parked until one ends), `rate` (the key's rate window is
 * full: held until `freesInMs`), `turn` (eligible: keys take turns, one job
 * per turn). @public
 */
export type FlowWaitReason = 'concurrency' | 'rate' | 'turn';

/** One key of a job type with flow rules. @public */
export interface FlowKeyStats {
  key: string;
  /** Its waiting jobs, over every version lane of the type. */
  waiting: number;
  /** Its active jobs holding a concurrency slot. */
  active: number;
  why: FlowWaitReason;
  /** With `why: 'rate'`: ms until its window lets the next job start. */
  freesInMs?: number | undefined;
  /** With a per-key rate limit: starts of this key in the current window. */
  rateUsed?: number | undefined;
}

/** The flow rules a type's workers enforce, as they recorded them. @public */
export interface FlowRuleSummary {
  rateLimit?: { limit: number; perMs: number; keyed: boolean } | undefined;
  concurrency?: { limit: number } | undefined;
  debounce?: { periodMs: number } | undefined;
  throttle?: { limit: number; periodMs: number } | undefined;
}

/** The type-wide rate window now (a rate limit that is not per key). @public */
export interface FlowRateWindow {
  /** Starts within the last `perMs`. */
  used: number;
  limit: number;
  perMs: number;
  /** `used >= limit`: no job of the type starts until the window frees. */
  capped: boolean;
  /** With `capped`: ms until the oldest start leaves the window. */
  freesInMs?: number | undefined;
}

/**
 * How many keys of a type wait, and on what. With `exact: false` (more
 * keys than FLOW_KEY_SAMPLE in one structure) the counts are the sizes of
 * the structures: upper bounds. @public
 */
export interface FlowKeyCounts {
  /** Keys with waiting jobs. */
  total: number;
  concurrency: number;
  rate: number;
  turn: number;
  exact: boolean;
}

/** Flow control state of one job type. @public */
export interface TypeFlowStats {
  queue: string;
  /** From the `flow` hash; `{}` for a type seen only in the counters. */
  rules: FlowRuleSummary;
  /** With a type-wide rate limit. */
  rate?: FlowRateWindow | undefined;
  /** Jobs the producers' throttle dropped, ever. */
  throttled: number;
  /** Jobs a later job of the same debounce key replaced, ever. */
  debounced: number;
  keyCounts: FlowKeyCounts;
  /** The keys with the most waiting jobs (ties: by key), at most `keys`. */
  keys: FlowKeyStats[];
  /** The keys the throttle dropped most jobs of (`''` or `' '`: the whole type). */
  throttledKeys: { key: string; dropped: number }[];
}

/** Per job type with flow rules or flow counters. @public */
export type FlowStats = Record<string, TypeFlowStats>;

/** Options of `getFlowStats`. @public */
export interface FlowStatsOptions {
  /** One queue; without it, every queue of the registry. */
  queue?: string | undefined;
  /** One job type only. */
  type?: string | undefined;
  /** How many keys to list per type (1 to 1000). @defaultValue 50 */
  keys?: number | undefined;
}

/** The flow keys of the layout (FLOW.md), all under the queue's base. */
const flowKey = {
  flow: (k: QueueKeys) => `${k.base}flow`,
  stats: (k: QueueKeys) => `${k.base}flow-stats`,
  group: (k: QueueKeys, lane: string, key: string) =>
    `${k.base}g:${lane}:${key}`,
  ring: (k: QueueKeys, lane: string) => `${k.base}gr:${lane}`,
  rateHeld: (k: QueueKeys, lane: string) => `${k.base}gd:${lane}`,
  parked: (k: QueueKeys, type: string) => `${k.base}gp:${type}`,
  active: (k: QueueKeys, type: string, key: string) =>
    `${k.base}ga:${type}:${key}`,
  typeRate: (k: QueueKeys, type: string) => `${k.base}rl:${type}`,
  keyRate: (k: QueueKeys, type: string, key: string) =>
    `${k.base}rk:${type}:${key}`,
  throttledKeys: (k: QueueKeys, type: string) => `${k.base}tk:${type}`,
};

type Reply = [Error | null, unknown];

/**
 * Runs `fill`'s commands in one pipeline and returns each reply; a reply
 * error about the key's type (a key of another shape than this reader
 * expects) reads as missing, any other error is thrown.
 */
async function pipelined(
  client: RedisClient,
  fill: (p: ReturnType<RedisClient['pipeline']>) => void,
): Promise<unknown[]> {
  const p = client.pipeline();
  fill(p);
  if (p.length === 0) return [];
  const replies = ((await p.exec()) ?? []) as Reply[];
  return replies.map(([err, value]) => {
    if (err === null) return value;
    if (err.message.startsWith('WRONGTYPE')) return undefined;
    throw err;
  });
}

const num = (v: unknown): number => {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
};
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.map(String) : [];
const hash = (v: unknown): Record<string, string> =>
  v !== null && typeof v === 'object' ? (v as Record<string, string>) : {};
/** `[member, score, member, score…]` as pairs. */
function scored(v: unknown): [string, number][] {
  const flat = strings(v);
  const out: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    out.push([flat[i]!, num(flat[i + 1])]);
  return out;
}

const positive = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;

/**
 * The rules of a `flow` hash value; unknown or malformed parts are left
 * out (a newer worker may record more), never thrown.
 */
export function parseFlowRules(json: string | undefined): FlowRuleSummary {
  let raw: unknown;
  try {
    raw = json === undefined ? {} : JSON.parse(json);
  } catch {
    return {};
  }
  if (raw === null || typeof raw !== 'object') return {};
  const r = raw as Record<string, Record<string, unknown> | undefined>;
  const out: FlowRuleSummary = {};
  const rate = r.rateLimit;
  const limit = positive(rate?.limit);
  const perMs = positive(rate?.perMs);
  if (limit !== undefined && perMs !== undefined)
    out.rateLimit = { limit, perMs, keyed: rate?.keyed === true };
  const conc = positive(r.concurrency?.limit);
  if (conc !== undefined) out.concurrency = { limit: conc };
  const debounce = positive(r.debounce?.periodMs);
  if (debounce !== undefined) out.debounce = { periodMs: debounce };
  const tLimit = positive(r.throttle?.limit);
  const tPeriod = positive(r.throttle?.periodMs);
  if (tLimit !== undefined && tPeriod !== undefined)
    out.throttle = { limit: tLimit, periodMs: tPeriod };
  return out;
}

/** What one round trip learned about a type's keys. */
interface TypeRead {
  type: string;
  lanes: string[];
  rules: FlowRuleSummary;
  stats: TypeFlowStats;
  /** Candidate keys (first met first) and their state. */
  candidates: Map<
    string,
    {
      parked: boolean;
      freesAt?: number | undefined;
      inRing: boolean;
      waiting: number;
    }
  >;
}

/**
 * Reads one queue's flow state into `out`: four pipelined round trips
 * (rules, counters and lanes; per type the window, the heads of the rings,
 * rate-held and parked keys; per candidate key its waiting jobs; per listed
 * key its active jobs and rate window).
 */
export async function readFlowStats(
  client: RedisClient,
  k: QueueKeys,
  out: FlowStats,
  options: { type?: string | undefined; keys?: number | undefined } = {},
): Promise<void> {
  const top = Math.max(1, Math.min(options.keys ?? FLOW_TOP_KEYS, 1000));
  const [flowRaw, countersRaw, laneMembers, time] = await pipelined(
    client,
    (p) =>
      p
        .hgetall(flowKey.flow(k))
        .hgetall(flowKey.stats(k))
        .smembers(k.lanes)
        .time(),
  );
  const t = strings(time);
  const now = num(t[0]) * 1000 + Math.floor(num(t[1]) / 1000);
  const flow = hash(flowRaw);
  const counters = hash(countersRaw);
  // The types: those with recorded rules, and those a producer counted
  // throttled or debounced jobs of (throttle and debounce need no worker).
  const types = new Set(Object.keys(flow));
  for (const field of Object.keys(counters)) {
    const sep = field.lastIndexOf('|');
    if (sep > 0 && num(counters[field]) > 0) types.add(field.slice(0, sep));
  }
  if (options.type !== undefined) {
    const only = options.type;
    for (const t of [...types]) if (t !== only) types.delete(t);
  }
  if (types.size === 0) return;
  const lanesOf = new Map<string, string[]>();
  for (const type of types) lanesOf.set(type, [type]);
  for (const member of strings(laneMembers)) {
    const lane = parseLane(member);
    if (lane !== undefined) lanesOf.get(lane.type)?.push(member);
  }

  const reads: TypeRead[] = [...types].map((type) => {
    const rules = parseFlowRules(
      Object.hasOwn(flow, type) ? flow[type] : undefined,
    );
    const counter = (name: string): number => {
      const field = `${type}|${name}`;
      return Object.hasOwn(counters, field) ? num(counters[field]) : 0;
    };
    return {
      type,
      lanes: lanesOf.get(type)!,
      rules,
      candidates: new Map(),
      stats: {
        queue: k.queue,
        rules,
        throttled: counter('throttled'),
        debounced: counter('debounced'),
        keyCounts: { total: 0, concurrency: 0, rate: 0, turn: 0, exact: true },
        keys: [],
        throttledKeys: [],
      },
    };
  });

  // Round trip 2: per type its window and the heads of its key structures.
  const sample = FLOW_KEY_SAMPLE;
  const last = String(sample - 1);
  const second = await pipelined(client, (p) => {
    for (const r of reads) {
      const rate = r.rules.rateLimit;
      const since = rate === undefined ? now : now - rate.perMs;
      const rl = flowKey.typeRate(k, r.type);
      p.zcount(rl, `(${since}`, '+inf');
      p.zrangebyscore(rl, `(${since}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1);
      p.hlen(flowKey.parked(k, r.type));
      p.hscan(flowKey.parked(k, r.type), '0', 'COUNT', sample);
      p.zrevrange(
        flowKey.throttledKeys(k, r.type),
        0,
        FLOW_TOP_THROTTLED - 1,
        'WITHSCORES',
      );
      for (const lane of r.lanes) {
        p.zcard(flowKey.rateHeld(k, lane));
        p.zrange(flowKey.rateHeld(k, lane), 0, last, 'WITHSCORES');
        p.zcard(flowKey.ring(k, lane));
        p.zrange(flowKey.ring(k, lane), 0, last);
      }
    }
  });
  let i = 0;
  for (const r of reads) {
    const used = num(second[i++]);
    const oldest = scored(second[i++])[0];
    const parkedCount = num(second[i++]);
    const scan = second[i++] as [string, string[]] | undefined;
    const throttled = scored(second[i++]);
    const rate = r.rules.rateLimit;
    if (rate !== undefined && !rate.keyed) {
      const window: FlowRateWindow = {
        used,
        limit: rate.limit,
        perMs: rate.perMs,
        capped: used >= rate.limit,
      };
      if (window.capped && oldest !== undefined)
        window.freesInMs = Math.max(0, oldest[1] + rate.perMs - now);
      r.stats.rate = window;
    }
    r.stats.throttledKeys = throttled.map(([key, n]) => ({ key, dropped: n }));
    let exact = scan === undefined || scan[0] === '0';
    const counts = r.stats.keyCounts;
    counts.concurrency = parkedCount;
    const candidate = (key: string) => {
      let c = r.candidates.get(key);
      if (c !== undefined) return c;
      // Past the sample, keys are not ranked: the counts become bounds.
      if (r.candidates.size >= sample) {
        exact = false;
        return undefined;
      }
      c = { parked: false, inRing: false, waiting: 0 };
      r.candidates.set(key, c);
      return c;
    };
    const parked = strings(scan?.[1]);
    for (let j = 0; j < parked.length; j += 2) {
      const c = candidate(parked[j]!);
      if (c) c.parked = true;
    }
    const rings: string[][] = [];
    for (let l = 0; l < r.lanes.length; l++) {
      const heldCount = num(second[i++]);
      const held = scored(second[i++]);
      const ringCount = num(second[i++]);
      const ring = strings(second[i++]);
      rings.push(ring);
      counts.rate += heldCount;
      counts.turn += ringCount;
      if (heldCount > held.length || ringCount > ring.length) exact = false;
      for (const [key, freesAt] of held) {
        const c = candidate(key);
        if (c) c.freesAt = Math.min(c.freesAt ?? freesAt, freesAt);
      }
    }
    // Ring keys last: parked and rate-held keys are the ones to explain.
    for (const ring of rings)
      for (const key of ring) {
        const c = candidate(key);
        if (c) c.inRing = true;
      }
    counts.exact = exact;
  }

  // Round trip 3: the waiting jobs of every candidate key, over its lanes.
  const third = await pipelined(client, (p) => {
    for (const r of reads)
      for (const key of r.candidates.keys())
        for (const lane of r.lanes) p.zcard(flowKey.group(k, lane, key));
  });
  i = 0;
  for (const r of reads) {
    for (const c of r.candidates.values())
      for (let l = 0; l < r.lanes.length; l++) c.waiting += num(third[i++]);
    const waiting = [...r.candidates.entries()].filter(
      ([, c]) => c.waiting > 0,
    );
    if (r.stats.keyCounts.exact) {
      // Every key was read: count the keys that really wait, each once,
      // by what it waits on first.
      const counts = r.stats.keyCounts;
      counts.total = waiting.length;
      counts.concurrency = waiting.filter(([, c]) => c.parked).length;
      counts.rate = waiting.filter(
        ([, c]) => !c.parked && c.freesAt !== undefined,
      ).length;
      counts.turn = counts.total - counts.concurrency - counts.rate;
    } else {
      const counts = r.stats.keyCounts;
      counts.total = counts.concurrency + counts.rate + counts.turn;
    }
    waiting.sort(([ka, a], [kb, b]) =>
      b.waiting !== a.waiting ? b.waiting - a.waiting : ka < kb ? -1 : 1,
    );
    r.stats.keys = waiting.slice(0, top).map(([key, c]) => {
      const entry: FlowKeyStats = {
        key,
        waiting: c.waiting,
        active: 0,
        why: c.parked
          ? 'concurrency'
          : c.freesAt !== undefined
            ? 'rate'
            : 'turn',
      };
      if (entry.why === 'rate')
        entry.freesInMs = Math.max(0, (c.freesAt ?? now) - now);
      return entry;
    });
  }

  // Round trip 4: the listed keys' active jobs and per-key rate windows.
  const fourth = await pipelined(client, (p) => {
    for (const r of reads) {
      const rate = r.rules.rateLimit;
      for (const entry of r.stats.keys) {
        p.zcard(flowKey.active(k, r.type, entry.key));
        if (rate?.keyed)
          p.zcount(
            flowKey.keyRate(k, r.type, entry.key),
            `(${now - rate.perMs}`,
            '+inf',
          );
      }
    }
  });
  i = 0;
  for (const r of reads) {
    for (const entry of r.stats.keys) {
      entry.active = num(fourth[i++]);
      if (r.rules.rateLimit?.keyed) entry.rateUsed = num(fourth[i++]);
    }
    out[r.type] = r.stats;
  }
}
