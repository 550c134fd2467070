/**
 * The `flow` hash: per job type, the flow rules its workers enforce, as
 * JSON. Workers write it at start so stats and the dashboard can show the
 * limits a queue runs under (the scripts take the rules from each leasing
 * call, never from here).
 */
import type { FlowRules } from '../../contract/flow.ts';
import { KeySuffix, type QueueKeys } from '../keys.ts';
import type { RedisClient } from '../scripts/index.ts';

/** The leasing rules of a type as stored in the `flow` hash. */
export interface FlowRulesRecord {
  rateLimit?: { limit: number; perMs: number; keyed: boolean } | undefined;
  concurrency?: { limit: number } | undefined;
}

/**
 * The leasing rules of a type, or undefined when it has none: a type-wide
 * or per-key rate limit, per-key concurrency. Debounce and throttle act at
 * enqueue, not here.
 */
export function leasingRules(rules: FlowRules): FlowRulesRecord | undefined {
  if (!rules.rateLimit && !rules.concurrency) return undefined;
  const out: FlowRulesRecord = {};
  if (rules.rateLimit) {
    const { limit, perMs, keyed } = rules.rateLimit;
    out.rateLimit = { limit, perMs, keyed };
  }
  if (rules.concurrency) out.concurrency = { limit: rules.concurrency.limit };
  return out;
}

/** Writes the types' leasing rules into the queue's `flow` hash (one HSET). */
export async function publishFlowRules(
  client: RedisClient,
  k: QueueKeys,
  flow: ReadonlyMap<string, FlowRules>,
): Promise<void> {
  const fields: string[] = [];
  for (const [type, rules] of flow) {
    const record = leasingRules(rules);
    if (record) fields.push(type, JSON.stringify(record));
  }
  if (fields.length > 0) await client.hset(k.base + KeySuffix.flow, ...fields);
}
