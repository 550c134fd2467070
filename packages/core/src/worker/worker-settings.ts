import { getDefinition, type JobRegistry } from '../contract/define.ts';
import type { FlowRules } from '../contract/flow.ts';
import { leasingRules } from '../redis/transitions/flow.ts';
import { ErrorCode, JobwireError } from '../errors.ts';
import { wholeNumber } from '../option-checks.ts';
import { SlotBook } from './slot-book.ts';
import type { WorkerOptions } from './worker-options.ts';

/** The worker's slots: concurrency, per-type limits and the prefetch buffer. */
export function slotBookFor(
  registry: JobRegistry,
  options: WorkerOptions,
  concurrency: number,
): SlotBook {
  const typeLimit = new Map<string, number>();
  for (const [name, limit] of Object.entries(options.typeConcurrency ?? {})) {
    getDefinition(registry, name);
    typeLimit.set(name, wholeNumber(limit, `typeConcurrency.${name}`, 1));
  }
  const prefetch = wholeNumber(
    options.prefetch ?? Math.max(concurrency, 128),
    'prefetch',
    0,
  );
  // A rate limit counts a start when the job is leased: a prefetched job
  // would start later, so a window of handler starts could hold more than
  // the limit. Rate-limited types are leased for free slots only.
  const leasedOnStart = new Set(
    registry.names.filter((n) => getDefinition(registry, n).flow.rateLimit),
  );
  return new SlotBook(concurrency, typeLimit, prefetch, leasedOnStart);
}

/**
 * Per handled type, the newest contract version this worker knows: its
 * definition's `version`. The worker reads the type's lanes up to it.
 */
export function knownVersions(
  registry: JobRegistry,
  types: readonly string[],
): Map<string, number> {
  return new Map(types.map((t) => [t, getDefinition(registry, t).version]));
}

/**
 * Per handled type with a leasing rule (a rate limit or per-key
 * concurrency), its flow rules: the lease scripts enforce them.
 */
export function flowRulesOf(
  registry: JobRegistry,
  types: readonly string[],
): Map<string, FlowRules> {
  const out = new Map<string, FlowRules>();
  for (const t of types) {
    const flow = getDefinition(registry, t).flow;
    if (leasingRules(flow) || flow.groupKey) out.set(t, flow);
  }
  return out;
}

/** The handled job types by queue, names sorted; every handler must be a function. */
export function typesByQueue(
  registry: JobRegistry,
  handlers: Readonly<Record<string, unknown>>,
  names: string[],
): Map<string, string[]> {
  const byQueue = new Map<string, string[]>();
  for (const name of names.sort()) {
    const def = getDefinition(registry, name);
    if (typeof handlers[name] !== 'function') {
      throw new JobwireError(
        ErrorCode.INVALID_OPTION,
        `handler for ${name} must be a function`,
      );
    }
    byQueue.set(def.queue, [...(byQueue.get(def.queue) ?? []), name]);
  }
  return byQueue;
}
