/**
 * Redis Cluster reachability per hash slot. A Cluster client stays `ready`
 * while one of its masters is down, and ioredis then retries a command on
 * that master's slots for up to `maxRedirections` rounds before failing
 * with an uncoded error. These checks let jobwire see an unserved slot
 * before it sends, and bound a call whose slot stops being served.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, type Redis } from 'ioredis';
import { RedisUnavailableError } from '../errors.ts';
import type { RedisClient } from './scripts/index.ts';

/** CRC16/XMODEM, the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The hash slot of a key, honouring a `{hash tag}` as Redis does. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(new TextEncoder().encode(key)) % 16384;
}

/** Whether a client is a Cluster (only then do slots matter). */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** The master that serves a key's slot, as the client's slot table says. */
function slotMaster(
  cluster: Cluster,
  key: string,
): { slot: number; nodeKey: string | undefined; node: Redis | undefined } {
  const slot = keySlot(key);
  const nodeKey = cluster.slots[slot]?.[0];
  return { slot, nodeKey, node: nodeOf(cluster, nodeKey) };
}

/** The client's connection to the node `host:port`, if it has one. */
function nodeOf(
  cluster: Cluster,
  nodeKey: string | undefined,
): Redis | undefined {
  if (nodeKey === undefined) return undefined;
  return cluster
    .nodes('all')
    .find((n) => `${n.options.host}:${n.options.port}` === nodeKey);
}

/**
 * How the slot of `key` is served: `ready` (its master's connection is up),
 * `unknown` (not connected yet: ioredis connects to nodes lazily) or `down`
 * (the connection is lost or being re-made). Always `ready` for a client
 * that is not a Cluster. Synchronous and cheap; as side effects it connects
 * a lazy master (so the next call knows) and, for a `down` slot, has the
 * client re-read its slot table (see {@link refreshSlotTable}).
 */
export function slotState(
  client: RedisClient,
  key: string,
): 'ready' | 'unknown' | 'down' {
  if (!isCluster(client) || client.status !== 'ready') return 'ready';
  const { status } = nudgeSlot(client, key);
  if (status === 'ready') return 'ready';
  return status === 'wait' ? 'unknown' : 'down';
}

/**
 * The master of `key`'s slot (slotMaster) and its connection's status as
 * found, after nudging the client toward serving the slot: a lazily created
 * master is connected (a refused connection ends it at once), and for one
 * lost or missing the client re-reads its slot table (refreshSlotTable).
 * The slot is watched from then on (watchSlot). slotState and
 * ensureSlotServed both read a slot this way.
 */
function nudgeSlot(
  cluster: Cluster,
  key: string,
): ReturnType<typeof slotMaster> & { status: string | undefined } {
  const master = slotMaster(cluster, key);
  watchSlot(cluster, master.slot);
  const status = master.node?.status;
  if (status === 'wait') master.node?.connect().catch(() => {});
  else if (status !== 'ready') refreshSlotTable(cluster);
  return { ...master, status };
}

/** The slots whose masters jobwire checks, per Cluster client. */
const watchedSlots = new WeakMap<Cluster, Set<number>>();

/**
 * Connects the masters of `cluster`'s watched slots after each refresh of
 * its slot table, whoever asked for it. A refresh re-creates a lost master
 * that the cluster still names (it has not failed over yet, or it has no
 * replica) as a lazy, unconnected node, which reads `unknown`: left alone,
 * health() called the queue reachable while its master was down. Connected
 * at once, it fails, ioredis drops it, and the slot reads `down`.
 */
function watchSlot(cluster: Cluster, slot: number): void {
  let slots = watchedSlots.get(cluster);
  if (slots === undefined) {
    const watched = new Set<number>();
    slots = watched;
    watchedSlots.set(cluster, watched);
    cluster.on('refresh', () => {
      for (const s of watched) {
        const node = nodeOf(cluster, cluster.slots[s]?.[0]);
        if (node?.status === 'wait') node.connect().catch(() => {});
      }
    });
  }
  slots.add(slot);
}

/** When each Cluster client last had its slot table refreshed from here. */
const slotRefreshes = new WeakMap<Cluster, number>();

/** Least time between two refreshes of one client's slot table from here. */
const SLOT_REFRESH_INTERVAL_MS = 200;

/**
 * Has ioredis re-read `cluster`'s slot table (one CLUSTER SLOTS), at most
 * once per {@link SLOT_REFRESH_INTERVAL_MS}. ioredis drops a lost master
 * from its pool and learns of the replica that took over only from a
 * redirection, so a client that sends nothing (a busy worker's blocking
 * client: its leases ride on completions) kept the dead master for good,
 * and health() reported the worker not ready while it worked.
 */
function refreshSlotTable(cluster: Cluster): void {
  const now = Date.now();
  if (now - (slotRefreshes.get(cluster) ?? 0) < SLOT_REFRESH_INTERVAL_MS)
    return;
  slotRefreshes.set(cluster, now);
  cluster.refreshSlotsCache();
}

/**
 * Waits until the master of `key`'s slot is connected, for at most
 * `timeoutMs`, then fails with RedisUnavailableError. Nothing is sent for
 * the caller meanwhile, so nothing was written when it fails. A lost node
 * is dropped from ioredis's pool; refreshing the slot table brings it (or
 * the replica that took over its slots) back, so recovery needs no call to
 * go through first.
 */
export async function ensureSlotServed(
  cluster: Cluster,
  key: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { slot, nodeKey, status } = nudgeSlot(cluster, key);
    if (status === 'ready') return;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new RedisUnavailableError(
        `Redis Cluster slot ${slot} (of ${key}) is not served: its master ${nodeKey ?? '(none)'} is not reachable within ${timeoutMs} ms (connectTimeoutMs); nothing was written`,
      );
    }
    await sleep(Math.min(25, left));
  }
}

/**
 * Whether the cluster cannot serve `key` now: its master is not connected,
 * or that master reports `cluster_state:fail` (CLUSTERDOWN). Asked of the
 * master directly, so it is one round trip and no redirection.
 */
export async function clusterCannotServe(
  cluster: Cluster,
  key: string,
  timeoutMs: number,
): Promise<boolean> {
  const { node } = slotMaster(cluster, key);
  if (node?.status !== 'ready') return true;
  let timer: NodeJS.Timeout | undefined;
  try {
    const info = await Promise.race([
      node.call('CLUSTER', 'INFO') as Promise<string>,
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve('cluster_state:fail'), timeoutMs);
      }),
    ]);
    return !String(info).includes('cluster_state:ok');
  } catch {
    return true;
  } finally {
    clearTimeout(timer);
  }
}
