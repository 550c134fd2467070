/**
 * The read side of version lanes (issue 14): how many jobs wait at each
 * contract version of a type, and why a lane that no worker reads waits.
 * Jobs of version 2 or more wait in their own lane (`w:<type>@<v>`), which
 * only workers that know that version read; see keys.ts and
 * scripts/includes/lease.lua.
 */
import { parseLane, type QueueKeys } from '../redis/keys.ts';
import type { RedisClient } from '../redis/scripts/index.ts';

/**
 * How long after its last report a worker counts as a live reader. A
 * worker reports with each leasing call, and at least every quarter of this
 * window while it leases nothing (busy or paused; see Worker.run).
 */
export const READER_WINDOW_MS = 60_000;

/** The waiting jobs of one version lane of a job type. @public */
export interface VersionLaneCount {
  /**
   * The contract version of the lane. Lane 1 also holds unversioned jobs,
   * and jobs of any version stored by producers from before version lanes.
   */
  version: number;
  waiting: number;
  /**
   * Set when no running worker that knows this version reported within the
   * reader window (a worker reports while busy or paused too): the jobs
   * wait for a newer worker.
   */
  reason?: 'no-reader' | undefined;
  /**
   * With `reason`: the newest version of the type that a worker read within
   * the window; absent when none did. Workers that know version 1 only are
   * not recorded, so lane 1 never has a reason.
   */
  newestReader?: number | undefined;
}

/** Per job type, its non-empty lanes, lowest version first. @public */
export type WaitingByVersion = Record<string, VersionLaneCount[]>;

/** Options of `getWaitingByVersion`. @public */
export interface WaitingByVersionOptions {
  /** One queue; without it, every queue of the registry. */
  queue?: string | undefined;
  /**
   * How recent a worker's last report must be for it to count as a
   * reader. A worker reports at least once per `blockTimeoutMs` (and per
   * 15 s), so keep this well above it. @defaultValue 60000
   */
  readerWindowMs?: number | undefined;
}

/**
 * Every wait-zset key of the given types: lane 1 of each, and the lanes of
 * higher versions named by the queue's `lanes` set. Listings read them all.
 */
export async function laneKeysOf(
  client: RedisClient,
  k: QueueKeys,
  types: readonly string[],
): Promise<string[]> {
  const wanted = new Set(types);
  const keys = types.map((t) => k.wait(t));
  for (const member of await client.smembers(k.lanes)) {
    const lane = parseLane(member);
    if (lane !== undefined && wanted.has(lane.type))
      keys.push(k.wait(lane.type, lane.version));
  }
  return keys;
}

/**
 * Reads one queue's waiting jobs per type and version lane into `out`,
 * with the reason a lane above every live reader waits. Two round trips.
 */
export async function readWaitingByVersion(
  client: RedisClient,
  k: QueueKeys,
  windowMs: number,
  out: WaitingByVersion,
): Promise<void> {
  const [types, members, readers, time] = await Promise.all([
    client.smembers(k.types),
    client.smembers(k.lanes),
    client.hgetall(k.readers),
    client.time(),
  ]);
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const lanes = types.map((type) => ({ type, version: 1 }));
  for (const m of members) {
    const lane = parseLane(m);
    if (lane !== undefined) lanes.push({ ...lane });
  }
  // Newest version per type that a worker read within the window.
  const newest = new Map<string, number>();
  for (const [field, at] of Object.entries(readers)) {
    const r = parseLane(field);
    if (r === undefined || now - Number(at) > windowMs) continue;
    newest.set(r.type, Math.max(newest.get(r.type) ?? 0, r.version));
  }
  const sizes = await Promise.all(
    lanes.map((l) => client.zcard(k.wait(l.type, l.version))),
  );
  lanes.forEach((l, i) => {
    const waiting = sizes[i]!;
    if (waiting === 0) return;
    const entry: VersionLaneCount = { version: l.version, waiting };
    const reader = newest.get(l.type);
    if (l.version > 1 && (reader === undefined || reader < l.version)) {
      entry.reason = 'no-reader';
      if (reader !== undefined) entry.newestReader = reader;
    }
    (out[l.type] ??= []).push(entry);
  });
  for (const list of Object.values(out))
    list.sort((a, b) => a.version - b.version);
}
