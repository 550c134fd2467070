/**
 * The lease transitions a worker runs: take jobs (moveToActive), complete
 * them and take the next (complete), renew leases (extendLeases), hand a
 * job back (release) and recover stalled jobs (recoverStalled). Each
 * function owns its script's KEYS and ARGV order and decodes its reply.
 */
import type { FlowRules } from '../../contract/flow.ts';
import type { QueueKeys } from '../keys.ts';
import { runScript, type RedisClient } from '../scripts/index.ts';

/** One job as leased by moveToActive (or a completion batch). */
export interface LeasedJob {
  id: string;
  name: string;
  queue: string;
  data: string;
  options: string;
  attemptsMade: number;
  token: string;
  stalls: number;
  createdAt: number;
  version: number;
  fingerprint: string;
  /**
   * Leased as a prefetched job, marked unstarted in Redis, and its start
   * not yet reported: the stall check re-queues such a job without
   * counting a stall. Cleared once a report is on its way.
   */
  unstarted: boolean;
}

/** A job whose lease its holder names: the id and the token it was given. */
export interface HeldLease {
  readonly id: string;
  readonly token: string;
}

/** What to lease: per type, how many jobs may be taken now. */
export interface LeaseRequest {
  readonly leaseMs: number;
  /**
   * Prefix of the lease tokens, unique per leasing call
   * (`<worker id>:<call number>`).
   */
  readonly tokenPrefix: string;
  /** Most jobs to lease over all types (0 = none). */
  readonly total: number;
  /** How many of them start at once; the rest are prefetched (unstarted). */
  readonly immediate: number;
  /** Type name and the most jobs of it to lease. */
  readonly quotas: readonly (readonly [string, number])[];
  /**
   * Per type, the newest contract version the worker knows (default 1): only
   * the type's lanes up to it are read, so no job of a newer version is
   * leased.
   */
  readonly known?: ReadonlyMap<string, number> | undefined;
  /**
   * Per type, the flow rules the worker enforces (its job definition's
   * `flow`): rate limits and keyed lanes are applied in the script. A type
   * absent here has none.
   */
  readonly flow?: ReadonlyMap<string, FlowRules> | undefined;
}

/** moveToActive's reply, decoded. */
export interface LeaseReply {
  /** The queue is paused: nothing was leased. */
  paused: boolean;
  /**
   * When the next delayed job is due, or a job held back by a rate limit
   * can start, whichever is first: ms on the Redis clock (-1 = none).
   */
  nextDueMs: number;
  /** The Redis clock when the script ran, ms. */
  nowMs: number;
  jobs: LeasedJob[];
}

/** Codes of one job's write: 1 done; or a ScriptCode (-1 missing, -2 lease lost). */
export type JobWriteCode = number;

/** The fields moveToActive returns per job. */
const FIELDS_PER_JOB = 10;

/**
 * A type's flow rules as the lease scripts take them (flowRules in
 * includes/flowlease.lua): keyed (0|1), per-key concurrency limit (0 =
 * none), rate limit (0 = none), its window ms, rate limit per key (0|1).
 */
export function flowArgs(rules: FlowRules | undefined): number[] {
  const rate = rules?.rateLimit;
  return [
    rules?.groupKey ? 1 : 0,
    rules?.groupKey ? (rules.concurrency?.limit ?? 0) : 0,
    rate?.limit ?? 0,
    rate?.perMs ?? 0,
    rate?.keyed ? 1 : 0,
  ];
}

/** The lease part of moveToActive's and complete's arguments. */
function leaseArgs(req: LeaseRequest): (string | number)[] {
  return [
    req.leaseMs,
    req.tokenPrefix,
    req.total,
    req.immediate,
    req.quotas.length,
    ...req.quotas.flatMap(([t, n]) => [
      t,
      n,
      req.known?.get(t) ?? 1,
      ...flowArgs(req.flow?.get(t)),
    ]),
  ];
}

/** Reads moveToActive's reply, which starts at `at` in `reply`. */
function readLeaseReply(
  queue: string,
  reply: readonly (string | number | boolean | null)[],
  at: number,
  immediate: number,
): LeaseReply {
  const count = Number(reply[at + 3]);
  const jobs: LeasedJob[] = [];
  // Options and fingerprint come as Lua false when the same as the previous
  // job's: null in RESP2 (a script that switched to RESP3 would send false).
  let options = 'null';
  let fingerprint = '';
  for (let i = 0, o = at + 4; i < count; i++, o += FIELDS_PER_JOB) {
    const opts = reply[o + 3];
    const fp = reply[o + 9];
    if (typeof opts === 'string') options = opts;
    if (typeof fp === 'string') fingerprint = fp;
    jobs.push({
      id: String(reply[o]),
      name: String(reply[o + 1]),
      queue,
      data: String(reply[o + 2]),
      options,
      attemptsMade: Number(reply[o + 4]),
      token: String(reply[o + 5]),
      stalls: Number(reply[o + 6]),
      createdAt: Number(reply[o + 7]),
      version: Number(reply[o + 8]),
      fingerprint,
      unstarted: i >= immediate,
    });
  }
  return {
    paused: Number(reply[at]) === 1,
    nextDueMs: Number(reply[at + 1]),
    nowMs: Number(reply[at + 2]),
    jobs,
  };
}

/**
 * Promotes due delayed jobs and leases waiting ones (moveToActive). The
 * reply is decoded in the one callback of the script's promise, so a
 * caller that chains on it sees jobs in lease order.
 */
export function moveToActive(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  req: LeaseRequest,
): Promise<LeaseReply> {
  return runScript(
    client,
    'moveToActive',
    [k.id, k.delayed, k.active, k.counts, k.events, k.meta, k.expired],
    [k.base, maxEvents, ...leaseArgs(req)],
  ).then((reply) =>
    readLeaseReply(
      k.queue,
      reply as (string | number | null)[],
      0,
      req.immediate,
    ),
  );
}

/** One completion of a batch. */
export interface Completion extends HeldLease {
  /** Result JSON ('' = none). */
  readonly result: string;
  /** Retention: keep count (-1 all), keep age ms (0 any). */
  readonly keep: readonly [number, number];
}

/** complete's reply, decoded. */
export interface CompleteReply {
  /** Per completion, in order: 1 completed, or a ScriptCode. */
  codes: JobWriteCode[];
  /** The jobs leased in the same call; undefined when none were asked for. */
  leased: LeaseReply | undefined;
}

/**
 * complete's ARGV, written into one array: it is built per batch of up to
 * a thousand jobs, and nested arrays spread into it cost as much again.
 */
function completeArgs(
  base: string,
  maxEvents: number,
  batch: readonly Completion[],
  req: LeaseRequest,
  started: readonly string[],
): (string | number)[] {
  const args: (string | number)[] = [base, maxEvents, batch.length];
  for (const c of batch)
    args.push(c.id, c.token, c.result, c.keep[0], c.keep[1]);
  for (const a of leaseArgs(req)) args.push(a);
  args.push(started.length);
  for (const id of started) args.push(id);
  return args;
}

/**
 * Completes a batch of jobs, each only under its lease, and leases the next
 * jobs in the same round trip when `req.total > 0` (complete). `started`
 * are prefetched jobs whose handlers started: their unstarted marks are
 * cleared.
 */
export async function complete(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  batch: readonly Completion[],
  req: LeaseRequest,
  started: readonly string[],
): Promise<CompleteReply> {
  const reply = (await runScript(
    client,
    'complete',
    [
      k.active,
      k.completed,
      k.counts,
      k.events,
      k.id,
      k.delayed,
      k.meta,
      k.expired,
    ],
    completeArgs(k.base, maxEvents, batch, req, started),
  )) as (string | number | null)[];
  return {
    codes: batch.map((_, i) => Number(reply[i])),
    leased:
      req.total > 0
        ? readLeaseReply(k.queue, reply, batch.length, req.immediate)
        : undefined,
  };
}

/** A lease to renew, and whether to report its prefetched job as started. */
export interface LeaseRenewal extends HeldLease {
  /** The job is a prefetched one whose handler has started. */
  readonly started: boolean;
}

/** extendLeases' reply, decoded. */
export interface RenewalReply {
  /** The tokens whose lease was found gone. */
  lost: string[];
  /**
   * The renewed leases whose job's cancel was requested, by token, with
   * the reason given ('' = none): their handlers are to be aborted.
   */
  cancelling: Map<string, string>;
}

/**
 * Renews leases and clears the unstarted marks of those reported started
 * (extendLeases). Reports the leases found gone and the jobs whose cancel
 * was requested.
 */
export async function extendLeases(
  client: RedisClient,
  k: QueueKeys,
  leaseMs: number,
  leases: readonly LeaseRenewal[],
): Promise<RenewalReply> {
  const args: (string | number)[] = [k.base, leaseMs];
  for (const l of leases) args.push(l.id, l.token, l.started ? 1 : 0);
  const [lost, pairs] = (await runScript(
    client,
    'extendLeases',
    [k.active],
    args,
  )) as [unknown[], unknown[]];
  const cancelling = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2)
    cancelling.set(String(pairs[i]), String(pairs[i + 1]));
  return { lost: lost.map(String), cancelling };
}

/**
 * Records that a leasing call's reply was lost (markLostLeases): the jobs
 * it may have leased under `tokenPrefix` are re-queued by the stall check
 * without a stall. Kept for `keepMs`.
 */
export async function markLostLeases(
  client: RedisClient,
  k: QueueKeys,
  tokenPrefix: string,
  keepMs: number,
): Promise<void> {
  await runScript(
    client,
    'markLostLeases',
    [k.lostLeases],
    [tokenPrefix, keepMs],
  );
}

/**
 * Hands an active job back to waiting at its old place, no attempt counted
 * (release). Resolves with 1, or a ScriptCode (-1 missing, -2 lease lost).
 */
export async function release(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  job: HeldLease,
): Promise<JobWriteCode> {
  return Number(
    await runScript(
      client,
      'release',
      [k.active, k.counts, k.events],
      [k.base, maxEvents, job.id, job.token],
    ),
  );
}

/** What one stall check did. */
export interface StallReport {
  requeued: number;
  failed: number;
  /** Jobs whose cancel was requested, ended as cancelled. */
  cancelled: number;
}

/**
 * Requeues (or fails, past `maxStalls`) the queue's jobs whose leases
 * expired, then applies `ageRules` (`ageRulesOf`) to the finished jobs
 * (recoverStalled). Undefined when another worker ran the check within
 * `intervalMs`.
 */
export async function recoverStalled(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  maxStalls: number,
  intervalMs: number,
  ageRules = '',
): Promise<StallReport | undefined> {
  const r = (await runScript(
    client,
    'recoverStalled',
    [k.active, k.failed, k.counts, k.events, k.stallLock, k.id, k.lostLeases],
    [k.base, maxEvents, maxStalls, intervalMs, ageRules],
  )) as number[];
  if (r.length < 2) return undefined;
  return {
    requeued: Number(r[0]),
    failed: Number(r[1]),
    cancelled: Number(r[2] ?? 0),
  };
}

/**
 * The age rules of job types, as recoverStalled applies them: each type's
 * completed rule to its completed jobs, its failed rule to its failed,
 * expired and cancelled ones. Types without an age rule are left out.
 */
export function ageRulesOf(
  types: readonly {
    readonly name: string;
    readonly keepCompleted: { readonly ageMs: number };
    readonly keepFailed: { readonly ageMs: number };
  }[],
): string {
  const rules: string[] = [];
  for (const t of types) {
    if (t.keepCompleted.ageMs > 0)
      rules.push(`c|${t.name}|${String(Math.floor(t.keepCompleted.ageMs))}`);
    if (t.keepFailed.ageMs > 0)
      for (const letter of ['f', 'x', 'k'])
        rules.push(
          `${letter}|${t.name}|${String(Math.floor(t.keepFailed.ageMs))}`,
        );
  }
  return rules.join(',');
}
