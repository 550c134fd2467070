/**
 * The invariant check run at the end of every fault scenario. It reads the
 * queue's keys straight from Redis (never through jobwire) and returns the
 * violations it found; a scenario asserts the list is empty.
 */
import { Redis } from 'ioredis';

/** State letter stored in a job hash (`s`) -> queue-level zset suffix. */
const STATE_SETS = {
  d: 'delayed',
  a: 'active',
  c: 'completed',
  f: 'failed',
  x: 'expired',
  k: 'cancelled',
} as const;

type Letter = keyof typeof STATE_SETS | 'w';

/** The `{...}` hash tag Redis Cluster would hash for `key` (or the whole key). */
export function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/**
 * Whether job `id`'s own keep rule for finished state `letter` keeps it for
 * good (count -1, no age; or unreadable): such a job is in no per-type
 * index, which only retention reads (includes/base.lua, addFinished).
 */
async function keptForGood(
  redis: Redis,
  base: string,
  id: string,
  letter: 'c' | 'f' | 'x' | 'k',
): Promise<boolean> {
  const [inline, ref] = await redis.hmget(`${base}j:${id}`, 'o', 'c');
  let json = inline ?? null;
  if (json === null && ref != null) {
    const value = await redis.hget(`${base}settings`, ref);
    json = value === null ? null : value.slice(value.indexOf('|') + 1);
  }
  let rule: unknown;
  try {
    const o = JSON.parse(json ?? 'null') as Record<string, unknown> | null;
    rule = o?.[letter === 'c' ? 'kc' : 'kf'];
  } catch {
    return true;
  }
  if (!Array.isArray(rule)) return true;
  const [count, ageMs] = rule as unknown[];
  return Number(count ?? -1) < 0 && !(Number(ageMs ?? 0) > 0);
}

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(
      cursor,
      'MATCH',
      pattern,
      'COUNT',
      1000,
    );
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/**
 * Checks, for one queue on a server of its own:
 * - every job id is in exactly one state structure (a wait lane w:<type> or w:<type>@<v>, delayed,
 *   active, completed, failed, expired, cancelled), the one its hash's `s` names;
 * - every id in a structure has its hash `j:<id>`, every hash is in a
 *   structure, and no job log outlives its job;
 * - the `counts` hash matches the structures, per type and state;
 * - each finished job is also in its type's retention index (`c:<type>`,
 *   `f:<type>`, `x:<type>`, `k:<type>`), and those hold nothing else;
 * - no key falls outside `<prefix>:{<queue>}:`, and all keys share the
 *   `{<queue>}` tag (so one CLUSTER KEYSLOT; the server is not
 *   cluster-enabled, so the tag is compared instead of asking Redis).
 */
export async function checkInvariants(
  redisUrl: string,
  prefix: string,
  queue: string,
): Promise<string[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  const violations: string[] = [];
  try {
    const base = `${prefix}:{${queue}}:`;
    const all = await scanAll(redis, '*');
    for (const key of all) {
      if (!key.startsWith(base))
        violations.push(`key outside ${base}*: ${key}`);
      else if (hashTag(key) !== queue)
        violations.push(`key ${key} hashes on tag ${hashTag(key)}`);
    }
    const mine = all.filter((k) => k.startsWith(base));
    const hashes = new Set(
      mine
        .filter((k) => k.startsWith(`${base}j:`))
        .map((k) => k.slice(`${base}j:`.length)),
    );
    // Logs live in their own namespace, `l:<id>` (keys.ts).
    const logs = mine.filter((k) => k.startsWith(`${base}l:`));
    for (const log of logs) {
      const id = log.slice(`${base}l:`.length);
      if (!hashes.has(id)) violations.push(`orphan log ${log}`);
    }
    const payloads = mine.filter((k) => k.startsWith(`${base}p:`));
    for (const payload of payloads) {
      if (!hashes.has(payload.slice(`${base}p:`.length)))
        violations.push(`orphan payload ${payload}`);
    }

    // id -> the structures it appears in
    const where = new Map<string, string[]>();
    const structures: {
      key: string;
      letter: Letter;
      type?: string;
      version?: number;
    }[] = [];
    // A wait zset is a lane: `w:<type>` (version 1, and jobs of any version
    // stored before lanes existed) or `w:<type>@<v>` (version v only), and
    // every `@` lane is listed in the `lanes` set.
    const lanes = new Set(await redis.smembers(`${base}lanes`));
    for (const key of mine.filter((k) => k.startsWith(`${base}w:`))) {
      const lane = key.slice(`${base}w:`.length);
      const at = /^(.+)@(\d+)$/.exec(lane);
      if (at && !lanes.has(lane))
        violations.push(`${key} is not listed in ${base}lanes`);
      structures.push({
        key,
        letter: 'w',
        type: at ? at[1] : lane,
        ...(at ? { version: Number(at[2]) } : {}),
      });
    }
    for (const [letter, suffix] of Object.entries(STATE_SETS)) {
      structures.push({ key: base + suffix, letter: letter as Letter });
    }
    const counted = new Map<string, number>();
    for (const s of structures) {
      const ids = await redis.zrange(s.key, '0', '-1');
      for (const id of ids) {
        where.set(id, [...(where.get(id) ?? []), s.key]);
        const f = await redis.hmget(`${base}j:${id}`, 'n', 's', 'v');
        const [name, state, version] = f;
        if (name === null) {
          violations.push(`${s.key} holds ${id} but ${base}j:${id} is missing`);
          continue;
        }
        if (state !== s.letter)
          violations.push(
            `job ${id} is in ${s.key} but its state is ${String(state)}`,
          );
        if (s.type !== undefined && s.type !== name)
          violations.push(`job ${id} of type ${name} is in ${s.key}`);
        if (s.version !== undefined && Number(version) !== s.version)
          violations.push(
            `job ${id} of version ${String(version)} is in ${s.key}`,
          );
        const ck = `${name}|${s.letter}`;
        counted.set(ck, (counted.get(ck) ?? 0) + 1);
      }
    }
    for (const [id, keys] of where) {
      if (keys.length > 1)
        violations.push(
          `job ${id} is in ${keys.length} structures: ${keys.join(', ')}`,
        );
    }
    for (const id of hashes) {
      if (!where.has(id))
        violations.push(`job hash ${base}j:${id} is in no state structure`);
    }
    // Retention trims the per-type indexes: they must mirror the
    // queue-wide finished sets exactly.
    for (const letter of ['c', 'f', 'x', 'k'] as const) {
      const wide = new Set(
        await redis.zrange(base + STATE_SETS[letter], '0', '-1'),
      );
      const indexed = new Set<string>();
      for (const key of mine.filter((k) => k.startsWith(`${base}${letter}:`))) {
        const type = key.slice(`${base}${letter}:`.length);
        for (const id of await redis.zrange(key, '0', '-1')) {
          indexed.add(id);
          if (!wide.has(id))
            violations.push(
              `${key} holds ${id}, not in ${base}${STATE_SETS[letter]}`,
            );
          else if ((await redis.hget(`${base}j:${id}`, 'n')) !== type)
            violations.push(`${key} holds ${id} of another type`);
        }
      }
      for (const id of wide) {
        if (!indexed.has(id) && !(await keptForGood(redis, base, id, letter)))
          violations.push(
            `${base}${STATE_SETS[letter]} holds ${id}, in no ${letter}:<type> index`,
          );
      }
    }
    const counts = await redis.hgetall(`${base}counts`);
    const fields = new Set([...Object.keys(counts), ...counted.keys()]);
    for (const field of fields) {
      const stored = Number(counts[field] ?? 0);
      const actual = counted.get(field) ?? 0;
      if (stored !== actual)
        violations.push(
          `counts ${field} is ${stored}, structures hold ${actual}`,
        );
    }
  } finally {
    redis.disconnect();
  }
  return violations;
}
