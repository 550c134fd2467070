/**
 * The migrate transition: one compare-and-set batch of queued jobs of a
 * type rewritten to its current contract version (migrate-3.lua). This
 * module owns the script's KEYS and ARGV order and decodes its reply.
 */
import { createHash } from 'node:crypto';
import type { QueueKeys } from '../keys.ts';
import { runScript, type RedisClient } from '../scripts/index.ts';

/** One job of a batch, as read and as it is to be written. */
export interface MigrateEntry {
  readonly id: string;
  /** The version read (1 when the job hash had none). */
  readonly version: number;
  /** SHA-1 (hex) of the payload bytes read: the script writes only over those. */
  readonly payloadSha1: string;
  /** The payload JSON to write, in the current version's shape. */
  readonly payload: string;
}

/** What one batch did. */
export interface MigrateBatchResult {
  readonly migrated: number;
  /** Jobs that changed since they were read (leased, removed, migrated): left alone. */
  readonly skipped: number;
}

/** SHA-1 in hex of stored payload bytes, as Lua's `redis.sha1hex` gives it. */
export function payloadSha1(bytes: Buffer): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/**
 * Writes `entries` of type `name` as version `version` (migrate). `from` is
 * where they were read: `'delayed'`, or the lane whose wait zset holds them
 * (the type name, or a `<type>@<version>` lane).
 */
export async function migrateBatch(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  name: string,
  version: number,
  fingerprint: string,
  from: { delayed: true } | { lane: string },
  entries: readonly MigrateEntry[],
): Promise<MigrateBatchResult> {
  const args: (string | number)[] = [
    k.base,
    maxEvents,
    name,
    version,
    fingerprint,
    'lane' in from ? from.lane : '',
  ];
  for (const e of entries) args.push(e.id, e.version, e.payloadSha1, e.payload);
  const [migrated, skipped] = (await runScript(
    client,
    'migrate',
    [k.delayed, k.lanes, k.events],
    args,
  )) as [number, number];
  return { migrated: Number(migrated), skipped: Number(skipped) };
}

/** One repeat schedule, as read and as it is to be written (migrateRepeat). */
export interface MigrateRepeatEntry {
  /** The spec's field: the repeat key, or `<key>:ended` for an ended schedule. */
  readonly key: string;
  /** The spec JSON and template JSON read: the script writes only over those. */
  readonly specJson: string;
  readonly templateJson: string;
  readonly newSpecJson: string;
  readonly newTemplateJson: string;
}

/**
 * Writes one repeat schedule's spec and occurrence template upcast to the
 * current version (migrateRepeat-1.lua), compare-and-set. Resolves with
 * whether it was written (false: replaced, removed or migrated meanwhile).
 */
export async function migrateRepeat(
  client: RedisClient,
  k: QueueKeys,
  entry: MigrateRepeatEntry,
): Promise<boolean> {
  const sha1 = (s: string) => payloadSha1(Buffer.from(s, 'utf8'));
  const n = await runScript(
    client,
    'migrateRepeat',
    [k.repeats],
    [
      entry.key,
      sha1(entry.specJson),
      sha1(entry.templateJson),
      entry.newSpecJson,
      entry.newTemplateJson,
    ],
  );
  return Number(n) === 1;
}
