/**
 * Every Redis key jobwire uses is built here. All keys of one queue share the
 * hash tag `{<queue>}`, so a queue lives in one Redis Cluster slot and every
 * Lua script touches a single slot.
 */

/** Queue-level key suffixes, one per structure. */
export const KeySuffix = {
  /**
   * string: counter for FIFO sequence numbers. It only orders: job ids come
   * from the producer (producer/job-id.ts), and a counter lost with its
   * queue's data restarts with the queue's (also lost) waiting sets.
   */
  id: 'id',
  /** zset: delayed and retrying jobs, scored by due time (ms) */
  delayed: 'delayed',
  /** zset: active jobs, scored by lease deadline (ms) */
  active: 'active',
  /**
   * zset: completed jobs kept by retention, scored by finish time. Listings
   * and clean() read these queue-wide sets; retention trims the per-type
   * sets (`c:<type>`, `f:<type>`, `x:<type>`, `k:<type>`), which hold the
   * same entries except jobs kept for good by their own rule (addFinished
   * in scripts/includes/base.lua).
   */
  completed: 'completed',
  /** zset: failed jobs, scored by finish time */
  failed: 'failed',
  /** zset: jobs that expired before they started, scored by expiry time */
  expired: 'expired',
  /** zset: cancelled jobs, scored by when they ended (per type: `k:<type>`) */
  cancelled: 'cancelled',
  /** hash: `<type>|<state>` → number of jobs */
  counts: 'counts',
  /** stream: the durable event log */
  events: 'events',
  /** hash: queue flags (`paused`) */
  meta: 'meta',
  /** set: job types that have ever been enqueued */
  types: 'types',
  /** string with TTL: guards the stalled-job check */
  stallLock: 'stall-lock',
  /**
   * hash: the repeat schedules: per repeat key its spec JSON, plus
   * `<key>:job`, `<key>:slots` and `<key>:next` (scripts/includes/repeat.lua)
   */
  repeats: 'repeats',
  /**
   * zset: lease token prefixes of leasing calls whose reply a worker never
   * got (member), scored by when to forget them (ms)
   */
  lostLeases: 'lost-leases',
  /**
   * set: every version lane `<type>@<v>` (v >= 2) ever pushed to. Lane 1 of
   * a type (`w:<type>`) is not listed: the `types` set names it.
   */
  lanes: 'lanes',
  /**
   * hash: `<type>@<v>` → ms (Redis clock) of the last report of a running
   * worker that knows version v of the type, for v >= 2: each leasing call
   * (lease.lua, noteReaders) and the periodic noteReaders-1.lua of a worker
   * that leases nothing. Tells why a lane above every reader waits.
   */
  readers: 'readers',
  /**
   * hash: job type → JSON of the flow rules its workers enforce (written
   * by each worker at start; read by stats and the dashboard).
   */
  flow: 'flow',
  /** hash: flow counters, `<type>|throttled`, `<type>|debounced` → count */
  flowStats: 'flow-stats',
  /**
   * hash (layout 3): settings ref → `<fingerprint>|<options JSON>`, the
   * settings that jobs name by their field F.settingsRef (job-fields.ts)
   * instead of holding them. Written by enqueue and repeat scheduling,
   * never changed or deleted: a ref is derived from its content.
   */
  settings: 'settings',
} as const;

/** A wait lane: a job type at one contract version. */
export interface Lane {
  readonly type: string;
  /** The contract version; 1 also for jobs stored without one. */
  readonly version: number;
}

/**
 * The name of the lane of `type` at `version`, as in Lua's lane(): the
 * type name for version 1 (so unversioned queues keep their keys), else
 * `<type>@<version>`. '@' is not a legal type-name character.
 */
export function laneName(type: string, version = 1): string {
  return version <= 1 ? type : `${type}@${Math.trunc(version)}`;
}

/**
 * Reads a member of the `lanes` set (or a `readers` field), `<type>@<v>`;
 * undefined for anything else.
 */
export function parseLane(name: string): Lane | undefined {
  const m = /^(.+)@(\d+)$/.exec(name);
  if (!m) return undefined;
  return { type: m[1]!, version: Number(m[2]) };
}

/** The keys of one queue, plus builders for per-type and per-job keys. */
export interface QueueKeys {
  readonly queue: string;
  /** `<prefix>:{<queue>}:`; Lua derives per-type and per-job keys from it. */
  readonly base: string;
  readonly id: string;
  readonly delayed: string;
  readonly active: string;
  readonly completed: string;
  readonly failed: string;
  readonly expired: string;
  readonly cancelled: string;
  readonly counts: string;
  readonly events: string;
  readonly meta: string;
  readonly types: string;
  readonly stallLock: string;
  readonly repeats: string;
  readonly lostLeases: string;
  readonly lanes: string;
  readonly readers: string;
  /** hash: settings ref → settings of the jobs that name it (layout 3). */
  readonly settings: string;
  /**
   * zset of waiting jobs of one type at one contract version (its lane,
   * see {@link laneName}), scored by priority then FIFO.
   */
  wait(type: string, version?: number): string;
  /** zset with one member that wakes workers blocked on a lane. */
  marker(type: string, version?: number): string;
  /** hash of one job. */
  job(id: string): string;
  /** list of a job's log lines. */
  log(id: string): string;
  /**
   * Where jobs stored before logs moved to `l:<id>` keep their log lines
   * (`j:<id>:log`). Read-only: it may name another job's hash now.
   */
  legacyLog(id: string): string;
  /** zset of the completed jobs of one type: its retention rule trims it. */
  completedOfType(type: string): string;
  /** zset of the failed jobs of one type: its retention rule trims it. */
  failedOfType(type: string): string;
  /** zset of the expired jobs of one type: its failed-job rule trims it. */
  expiredOfType(type: string): string;
  /** zset of the cancelled jobs of one type: its failed-job rule trims it. */
  cancelledOfType(type: string): string;
  /** string: a job's payload JSON (older jobs keep it in the hash as `d`). */
  payload(id: string): string;
}

/** Builds the keys of `queue` under `prefix` (default `jobwire`). */
export function queueKeys(prefix: string, queue: string): QueueKeys {
  const base = `${prefix}:{${queue}}:`;
  const k = (suffix: string) => base + suffix;
  return {
    queue,
    base,
    id: k(KeySuffix.id),
    delayed: k(KeySuffix.delayed),
    active: k(KeySuffix.active),
    completed: k(KeySuffix.completed),
    failed: k(KeySuffix.failed),
    expired: k(KeySuffix.expired),
    cancelled: k(KeySuffix.cancelled),
    counts: k(KeySuffix.counts),
    events: k(KeySuffix.events),
    meta: k(KeySuffix.meta),
    types: k(KeySuffix.types),
    stallLock: k(KeySuffix.stallLock),
    repeats: k(KeySuffix.repeats),
    lostLeases: k(KeySuffix.lostLeases),
    lanes: k(KeySuffix.lanes),
    readers: k(KeySuffix.readers),
    settings: k(KeySuffix.settings),
    // Per-type and per-job names must match scripts/includes/base.lua.
    // Each kind of key has its own one-letter namespace (`j:`, `l:`, `p:`,
    // `w:`…), and a job's keys never extend another key's name: so no id,
    // whatever it contains, can name another job's key.
    wait: (type, version = 1) => k(`w:${laneName(type, version)}`),
    marker: (type, version = 1) => k(`m:${laneName(type, version)}`),
    job: (id) => k(`j:${id}`),
    log: (id) => k(`l:${id}`),
    legacyLog: (id) => k(`j:${id}:log`),
    completedOfType: (type) => k(`c:${type}`),
    failedOfType: (type) => k(`f:${type}`),
    expiredOfType: (type) => k(`x:${type}`),
    cancelledOfType: (type) => k(`k:${type}`),
    payload: (id) => k(`p:${id}`),
  };
}
