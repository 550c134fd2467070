/**
 * The enqueue transition: stores a batch of jobs of one queue, alone or
 * followed by a durability wait in the same pipeline. This module owns
 * the script's KEYS and ARGV order and decodes its reply.
 */
import { errorFromScriptCode, type JobwireError } from '../../errors.ts';
import type { QueueKeys } from '../keys.ts';
import {
  isNoScript,
  runScriptCall,
  scripts,
  type RedisClient,
} from '../scripts/index.ts';

/**
 * Settings the jobs of a type usually share. Jobs holding the same object
 * (by identity) send it once per batch.
 */
export interface EnqueueSettings {
  /** Stored options JSON. */
  readonly optionsJson: string;
  /** A job not started this long after it became runnable expires (0 = never). */
  readonly expireAfterMs: number;
  /** The producer's contract version. */
  readonly version: number;
  /** The producer's contract fingerprint. */
  readonly fingerprint: string;
  /** The type's debounce period, ms (0 = no debounce). */
  readonly debounceMs: number;
  /** The type's throttle: most jobs accepted per window (0 = no throttle). */
  readonly throttleLimit: number;
  /** The type's throttle window, ms. */
  readonly throttlePeriodMs: number;
  /**
   * When `optionsJson` is the type's defaults, their ref (settings-ref.ts):
   * the jobs then name their options and fingerprint by it, in the queue's
   * settings hash (layout 3, JobField.settingsRef), instead of holding
   * them. Per-call options are stored inline (undefined here), so they
   * cannot grow that hash without bound.
   */
  readonly settingsRef: string | undefined;
}

/** One job for the enqueue script. */
export interface EnqueueJob {
  /** The job's id: the caller's `jobId`, or one the producer generated. */
  readonly id: string;
  /**
   * True when the producer generated `id`. Such an id can only exist
   * already because this very call was stored before (a re-sent command),
   * so it is reported as created, not as a duplicate.
   */
  readonly generated: boolean;
  readonly name: string;
  readonly dataJson: string;
  readonly priority: number;
  /** Wait before it becomes runnable, ms from now. */
  readonly delayMs: number;
  /**
   * A `runAt`, ms since the epoch: it replaces `delayMs`, and the script
   * turns it into a delay with Redis time, not this host's clock.
   */
  readonly runAtMs?: number | undefined;
  readonly settings: EnqueueSettings;
  /** The job's per-key queue (keyed concurrency or rate limit), if keyed. */
  readonly groupKey?: string | undefined;
  /** Its debounce key; absent with a per-type debounce (or none). */
  readonly debounceKey?: string | undefined;
  /** Its throttle key; absent with a per-type throttle (or none). */
  readonly throttleKey?: string | undefined;
}

/** What the script did with one job. */
export interface EnqueueOutcome {
  readonly id: string;
  /**
   * False when a job with this id existed (nothing was written), it was
   * throttled (nothing was written) or it was refused.
   */
  readonly created: boolean;
  /** True when its type's throttle dropped it: nothing was written. */
  readonly throttled?: boolean | undefined;
  /** The pending job of its debounce key that this job replaced (cancelled). */
  readonly replaced?: string | undefined;
  /** Why the job was refused (its ScriptCode's error), if it was. */
  readonly refused?: JobwireError | undefined;
}

/** A wait for persistence after the script: WAITAOF (with `aof`) or WAIT. */
export interface PersistenceWait {
  readonly aof: boolean;
  readonly replicas: number;
  readonly timeoutMs: number;
}

const enqueueSha = scripts.get('enqueue')!.sha;

/** Where the script's ARGV starts in enqueueCall's list. */
const ARGV_AT = 7;

/**
 * EVALSHA's arguments, in one list that no later step copies: the
 * script's SHA-1, its key count and KEYS, then its ARGV: the settings
 * sets, one per settings object and type (so jobs of a type enqueued
 * without options share one), then the ids, then per job its data and
 * set. A job with a priority, a delay or a flow key sends its set
 * negated, followed by those fields; most jobs have none and cost two
 * arguments besides their id.
 */
function enqueueCall(
  k: QueueKeys,
  maxEvents: number,
  jobs: readonly EnqueueJob[],
): (string | number)[] {
  const sets = new Map<EnqueueSettings, Map<string, number>>();
  const args: (string | number)[] = [
    enqueueSha,
    ARGV_AT - 2,
    // KEYS
    k.id,
    k.delayed,
    k.counts,
    k.events,
    k.types,
    // ARGV: base, max events, set count (below)
    k.base,
    maxEvents,
    0,
  ];
  const bodies: (string | number)[] = [];
  let count = 0;
  for (const j of jobs) {
    const s = j.settings;
    let byName = sets.get(s);
    if (byName === undefined) {
      byName = new Map();
      sets.set(s, byName);
    }
    let set = byName.get(j.name);
    if (set === undefined) {
      set = ++count;
      byName.set(j.name, set);
      args.push(
        j.name,
        s.optionsJson,
        s.expireAfterMs,
        s.version,
        s.fingerprint,
        s.debounceMs,
        s.throttleLimit,
        s.throttlePeriodMs,
        s.settingsRef ?? '',
      );
    }
    if (
      j.priority === 0 &&
      j.delayMs === 0 &&
      j.runAtMs === undefined &&
      j.groupKey === undefined &&
      j.debounceKey === undefined &&
      j.throttleKey === undefined
    ) {
      bodies.push(j.dataJson, set);
    } else {
      bodies.push(
        j.dataJson,
        -set,
        j.priority,
        j.runAtMs !== undefined ? `@${j.runAtMs}` : j.delayMs,
        // '' = none: a real key is never empty (flowKeyOf refuses it).
        j.groupKey ?? '',
        j.debounceKey ?? '',
        j.throttleKey ?? '',
      );
    }
  }
  args[ARGV_AT + 2] = count;
  args.push(jobs.length);
  for (const j of jobs) args.push(j.id);
  for (const b of bodies) args.push(b);
  return args;
}

/**
 * The reply holds per job its status (1 created, 0 duplicate, 2 created
 * and replaced a debounced job, 3 throttled, < 0 a ScriptCode), then the
 * id each status 2 replaced, in job order.
 */
function readOutcomes(
  reply: readonly unknown[],
  jobs: readonly EnqueueJob[],
): EnqueueOutcome[] {
  const out: EnqueueOutcome[] = [];
  let replaced = jobs.length;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    const id = job.id;
    const status = Number(reply[i]);
    if (status < 0) {
      out.push({
        id,
        created: false,
        refused: errorFromScriptCode(status, { script: 'enqueue', jobId: id }),
      });
    } else if (status === 3) {
      out.push({ id, created: false, throttled: true });
    } else if (status === 2) {
      out.push({ id, created: true, replaced: String(reply[replaced++]) });
    } else {
      out.push({ id, created: status !== 0 || job.generated });
    }
  }
  return out;
}

/** Stores jobs of one queue in one script call (enqueue). */
export function enqueue(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  jobs: readonly EnqueueJob[],
): Promise<EnqueueOutcome[]> {
  // Inline callback: a named one costs a naming call per enqueue under
  // esbuild's keepNames, which tsx applies.
  return runScriptCall(client, 'enqueue', enqueueCall(k, maxEvents, jobs)).then(
    (reply) => readOutcomes(reply as unknown[], jobs),
  );
}

/**
 * Stores jobs as `enqueue` does, then waits for persistence in the same
 * pipeline on the same connection: WAIT/WAITAOF then covers the script's
 * writes, without an extra round trip. The script goes as a plain EVALSHA:
 * ioredis would re-send a NOSCRIPT failure on its own *after* the wait,
 * which would then cover nothing; here a NOSCRIPT (first use after a Redis
 * restart) sends the script itself with EVAL (loading it), followed by the
 * wait, in a second pipeline.
 * `waited` is the wait's reply, or the error it failed with.
 */
export async function enqueueDurably(
  client: RedisClient,
  k: QueueKeys,
  maxEvents: number,
  jobs: readonly EnqueueJob[],
  d: PersistenceWait,
): Promise<{ outcomes: EnqueueOutcome[]; waited: unknown }> {
  const call = enqueueCall(k, maxEvents, jobs);
  // The script, then the wait, in one pipeline: on one connection, and on a
  // Cluster to the script's node (a WAIT alone names no key, so it could go
  // to another master).
  const withWait = async (script: [string, ...(string | number)[]]) => {
    const pipe = client.pipeline();
    pipe.call(...script);
    if (d.aof) pipe.call('WAITAOF', 1, d.replicas, d.timeoutMs);
    else pipe.call('WAIT', d.replicas, d.timeoutMs);
    const res = (await pipe.exec()) ?? [];
    const [scriptErr, scriptReply] = res[0] ?? [new Error('no reply')];
    const [waitErr, waitReply] = res[1] ?? [new Error('no reply')];
    return { scriptErr, scriptReply, waited: waitErr ?? waitReply };
  };
  let sent = await withWait(['EVALSHA', ...call]);
  if (sent.scriptErr !== null && sent.scriptErr !== undefined) {
    if (!isNoScript(sent.scriptErr)) throw sent.scriptErr;
    sent = await withWait([
      'EVAL',
      scripts.get('enqueue')!.lua,
      ...call.slice(1),
    ]);
    if (sent.scriptErr !== null && sent.scriptErr !== undefined)
      throw sent.scriptErr;
  }
  return {
    outcomes: readOutcomes(sent.scriptReply as unknown[], jobs),
    waited: sent.waited,
  };
}
