import type { AnyJobDefinition } from '../contract/define.ts';
import { jobFingerprint } from '../contract/fingerprint.ts';
import {
  toStoredOptions,
  type RepeatSpec,
  type ResolvedEnqueueOptions,
} from '../contract/options.ts';
import type {
  EnqueueJob,
  EnqueueSettings,
} from '../redis/transitions/enqueue.ts';
import type { ResolvedDurability } from './durability.ts';

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
  durability?: ResolvedDurability;
}

/** The repeat fields of a prepared job. */
export interface RepeatArgs {
  spec: RepeatSpec;
  /** Store the spec (a new repeat), or require that it still exists. */
  storeSpec: boolean;
}

const sharedSettings = new WeakMap<ResolvedEnqueueOptions, EnqueueSettings>();

/** A job's settings, with or without a repeat. */
function settingsFor(
  o: ResolvedEnqueueOptions,
  def: AnyJobDefinition,
  repeat?: RepeatArgs,
): EnqueueSettings {
  const stored = toStoredOptions(o);
  return {
    optionsJson: JSON.stringify(
      repeat ? { ...stored, rp: repeat.spec } : stored,
    ),
    expireAfterMs: Math.round(o.expireAfterMs),
    version: def.version,
    repeatKey: repeat?.spec.key ?? '',
    repeatSpecJson:
      repeat?.storeSpec === true ? JSON.stringify(repeat.spec) : '',
    fingerprint: jobFingerprint(def),
  };
}

/**
 * A job's enqueue settings. Without a repeat, options resolved once per
 * type (no per-call options) map to one shared object, which the enqueue
 * transition then sends once per batch.
 */
export function enqueueSettings(
  o: ResolvedEnqueueOptions,
  def: AnyJobDefinition,
  repeat?: RepeatArgs,
): EnqueueSettings {
  if (repeat) return settingsFor(o, def, repeat);
  let settings = sharedSettings.get(o);
  if (settings === undefined) {
    settings = settingsFor(o, def);
    sharedSettings.set(o, settings);
  }
  return settings;
}
