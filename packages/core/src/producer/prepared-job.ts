import type { AnyJobDefinition } from '../contract/define.ts';
import { jobFingerprint } from '../contract/fingerprint.ts';
import {
  toStoredOptions,
  type ResolvedEnqueueOptions,
} from '../contract/options.ts';
import type {
  EnqueueJob,
  EnqueueSettings,
} from '../redis/transitions/enqueue.ts';
import type { ResolvedDurability } from './durability.ts';
import { settingsRefOf } from '../redis/settings-ref.ts';

/** A checked job, ready for the enqueue script. */
export interface PreparedJob {
  queue: string;
  name: string;
  /**
   * The job as the enqueue script takes it. Its settings are shared by
   * identity between the jobs of a type enqueued without options, and sent
   * once per batch.
   */
  input: EnqueueJob;
  /** The persistence wait this job asks for, if any. */
  durability?: ResolvedDurability | undefined;
}

const sharedSettings = new WeakMap<ResolvedEnqueueOptions, EnqueueSettings>();

/** Each type's stored options JSON without per-call options. */
const defaultOptionsJson = new WeakMap<AnyJobDefinition, string>();

function defaultOptionsJsonOf(def: AnyJobDefinition): string {
  let json = defaultOptionsJson.get(def);
  if (json === undefined) {
    json = JSON.stringify(toStoredOptions(def.options));
    defaultOptionsJson.set(def, json);
  }
  return json;
}

/** A job's settings. */
function settingsFor(
  o: ResolvedEnqueueOptions,
  def: AnyJobDefinition,
): EnqueueSettings {
  const optionsJson = JSON.stringify(toStoredOptions(o));
  const fingerprint = jobFingerprint(def);
  return {
    optionsJson,
    // Options that only set a priority, delay or id store as the defaults.
    settingsRef:
      optionsJson === defaultOptionsJsonOf(def)
        ? settingsRefOf(fingerprint, optionsJson)
        : undefined,
    expireAfterMs: Math.round(o.expireAfterMs),
    version: def.version,
    fingerprint,
    debounceMs: def.flow.debounce?.periodMs ?? 0,
    throttleLimit: def.flow.throttle?.limit ?? 0,
    throttlePeriodMs: def.flow.throttle?.periodMs ?? 0,
  };
}

/**
 * A job's enqueue settings. Options resolved once per type (no per-call
 * options) map to one shared object, which the enqueue transition then
 * sends once per batch.
 */
export function enqueueSettings(
  o: ResolvedEnqueueOptions,
  def: AnyJobDefinition,
): EnqueueSettings {
  let settings = sharedSettings.get(o);
  if (settings === undefined) {
    settings = settingsFor(o, def);
    sharedSettings.set(o, settings);
  }
  return settings;
}
