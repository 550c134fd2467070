/**
 * The fields of a job hash (`<base>j:<id>`, see keys.ts). Names are one or
 * two letters: a job hash holds only short values, so Redis keeps it in its
 * compact listpack encoding, and millions of jobs make the bytes count.
 *
 * This table is their one owner. The Lua scripts name a field by its key
 * here, as the token `F.<key>` (`F.state`), and `pnpm gen:lua` replaces
 * each token with its letter when it writes lua.generated.ts, failing on a
 * key this table lacks (see `scripts/includes/base.lua`). So renaming a
 * letter here and regenerating changes every script, at no run-time cost.
 */
export const JobField = {
  /** The job type's name. Written once, at enqueue; its absence means no job. */
  name: 'n',
  /**
   * The payload JSON of jobs stored before payloads moved to their own key
   * (`<base>p:<id>`); read as a fallback only.
   */
  legacyData: 'd',
  /** Priority: lower runs first (-1000 to 1000). */
  priority: 'p',
  /** The state letter (`stateLetter` in types.ts). */
  state: 's',
  /** FIFO sequence number within a priority; renewed each time it waits again. */
  sequence: 'sq',
  /**
   * Stored options JSON (`StoredOptions`): attempts, backoff, retention.
   * Layout 3 writes it only for a job whose options differ from its type's
   * defaults (per-call options) or whose settings ref is taken; other jobs
   * name their settings by {@link JobField.settingsRef}. Readers take this
   * field first, then the ref's (layout 2 jobs all hold it).
   */
  options: 'o',
  /** Created, ms on the Redis clock. */
  createdAt: 't',
  /** The contract version of the producer that stored it. */
  version: 'v',
  /**
   * The contract fingerprint of the producer that stored it: written with
   * F.options (inline) or by a contract migration; otherwise the ref's.
   * Readers take this field first, then the ref's.
   */
  fingerprint: 'fp',
  /**
   * Layout 3: the ref of the job's settings in the queue's settings hash
   * (`<base>settings`, keys.ts): there the ref maps to `<fingerprint>|<options
   * JSON>`, stored once per queue and shared by every job with the same
   * settings. The ref is derived from that content (6 base64url characters
   * of its SHA-1: redis/settings-ref.ts for an enqueue, `settingsRef` in
   * scripts/includes/base.lua for a repeat occurrence), so equal
   * settings share one entry, an entry never changes, and the hash stays
   * bounded by the distinct settings: a type's default options per contract
   * version, and each repeat schedule's. A field absent from the job hash
   * (F.options, F.fingerprint) is read from the ref.
   */
  settingsRef: 'c',
  /** Expire-after ms: a job not started this long after it became runnable expires. */
  expireAfterMs: 'ea',
  /** When the waiting job expires, ms on the Redis clock (set when it becomes runnable). */
  expiresAt: 'x',
  /** Attempts made: handler runs that ended in success or failure. */
  attemptsMade: 'a',
  /** Stalls: deliveries whose lease expired without an outcome. */
  stalls: 'sc',
  /** Deliveries: how many times the job was leased. */
  deliveries: 'dl',
  /** The lease token of the worker holding the job; absent when not active. */
  token: 'tk',
  /** Started (last leased), ms on the Redis clock. */
  startedAt: 'ps',
  /** Finished (completed, failed or expired), ms on the Redis clock. */
  finishedAt: 'f',
  /** JSON list of the failed attempts' errors, the last 20. */
  errors: 'e',
  /** The result JSON of a completed job. */
  result: 'r',
  /** The latest progress JSON. */
  progress: 'pg',
  /** The repeat key of a repeat occurrence (scripts/includes/repeat.lua). */
  repeatKey: 'rk',
  /**
   * Set while a prefetched job is leased but its handler has not started:
   * the stall check re-queues it without counting a stall.
   */
  unstarted: 'un',
  /** Times the job was re-queued unstarted (free re-queues are given once). */
  freeRequeues: 'fq',
  /**
   * Times a worker handed the job back because a newer contract version
   * wrote it than the worker knows (deferNewer).
   */
  newerVersionDeferrals: 'nv',
  /**
   * When a cancel of the active job was requested, ms on the Redis clock
   * (cancel.lua): its lease renewal tells the worker to abort the handler,
   * and whichever outcome is written next ends the job as cancelled.
   */
  cancelRequested: 'cr',
  /** The reason given with a cancel, if any. */
  cancelReason: 'cn',
  /**
   * The job's flow key, for a type with per-key concurrency or a per-key
   * rate limit: it waits in its key's queue (`g:<lane>:<key>`) and holds a
   * slot of that key while active (includes/flow.lua).
   */
  flowKey: 'gk',
} as const;

/** A job hash field's name. */
export type JobFieldName = (typeof JobField)[keyof typeof JobField];

/** The fields of a queue's meta hash (`<base>meta`). */
export const QueueMetaField = {
  /** '1' while the queue is paused. */
  paused: 'paused',
  /**
   * The storage layout the queue's data is in (redis/layout.ts): written by
   * the first producer or worker of a build that knows layouts; a build
   * that meets a newer one refuses the queue.
   */
  layout: 'layout',
} as const;
