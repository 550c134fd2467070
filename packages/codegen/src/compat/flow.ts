/**
 * Flow rules in the compatibility check (issue 16). A changed limit, period
 * or key function never makes stored data unreadable, but it changes what
 * the type means across a rolling deploy, so each change is a note (verdict
 * 'warn', never breaking), worded for whoever deploys it:
 * - workers enforce rateLimit and concurrency with the rules they were
 *   started with, so running workers keep the old numbers until redeployed;
 * - producers compute keys, and enforce debounce and throttle, when they
 *   enqueue, so jobs already waiting keep the key they were given and
 *   producers on the old schema keep the old rule.
 */
import type { FlowContract, FlowKeyContract } from '../contract-types.ts';
import {
  concurrencyText,
  debounceText,
  duration,
  keyText,
  rateText,
  throttleText,
} from '../flow-text.ts';
import type { Change } from './types.ts';

function note(kind: string, summary: string, why: string): Change {
  return {
    part: 'job',
    path: '',
    label: '',
    kind,
    summary,
    backward: 'warn',
    forward: 'warn',
    reason: why,
    message: `${summary}: ${why}`,
  };
}

const OLD_WORKERS = 'workers still running the old schema';
const OLD_PRODUCERS = 'producers still running the old schema';

type KeyedRule = 'rateLimit' | 'concurrency' | 'debounce' | 'throttle';

const sameKey = (
  a: FlowKeyContract | undefined,
  b: FlowKeyContract | undefined,
): boolean => a?.hash === b?.hash;

/** Why a key change matters, by rule. */
const KEY_WHY: Record<KeyedRule, string> = {
  rateLimit:
    "producers compute the key when they enqueue: jobs already waiting stay in their old key's queue and window, and so do new jobs from producers still running the old schema",
  concurrency:
    "producers compute the key when they enqueue: jobs already waiting stay in their old key's queue, so until they drain one tenant can run under both keys, each up to the limit",
  debounce:
    'producers compute the key when they enqueue: a new job replaces only a waiting job of its own key, so jobs already waiting under the old key still run',
  throttle:
    "producers compute the key when they enqueue: jobs accepted under the old key do not count against the new key's window, so the first window after the change can accept up to twice the limit",
};

/** The note for a rule's key: added, removed or changed (none when equal). */
function keyNote(
  rules: string,
  kindRule: string,
  why: string,
  a: FlowKeyContract | undefined,
  b: FlowKeyContract | undefined,
): Change[] {
  if (sameKey(a, b)) return [];
  const summary =
    a === undefined
      ? `${rules} is now per key ${keyText(b!)} (was per type)`
      : b === undefined
        ? `${rules} is now per type (was per key ${keyText(a)})`
        : `${rules} key changed from ${keyText(a)} to ${keyText(b)}`;
  return [note(`${kindRule}_KEY_CHANGED`, summary, why)];
}

function rateLimitNotes(
  a: FlowContract['rateLimit'],
  b: FlowContract['rateLimit'],
  groupKeyNoted: boolean,
): Change[] {
  if (!a && !b) return [];
  if (!a)
    return [
      note(
        'RATE_LIMIT_ADDED',
        `rateLimit added: ${rateText(b!)}`,
        `${OLD_WORKERS} start its jobs without the limit until redeployed${b!.key ? ', and jobs already waiting carry no key (producers compute it when they enqueue)' : ''}`,
      ),
    ];
  if (!b)
    return [
      note(
        'RATE_LIMIT_REMOVED',
        `rateLimit removed (was ${rateText(a)})`,
        `${OLD_WORKERS} keep enforcing it until redeployed`,
      ),
    ];
  const out: Change[] = [];
  if (a.limit !== b.limit || a.perMs !== b.perMs)
    out.push(
      note(
        'RATE_LIMIT_CHANGED',
        `rateLimit changed from ${a.limit} per ${duration(a.perMs)} to ${b.limit} per ${duration(b.perMs)}`,
        `running workers keep the old limit until redeployed; while old and new workers run side by side, the looser of the two applies`,
      ),
    );
  if (!groupKeyNoted)
    out.push(
      ...keyNote('rateLimit', 'RATE_LIMIT', KEY_WHY.rateLimit, a.key, b.key),
    );
  return out;
}

function concurrencyNotes(
  a: FlowContract['concurrency'],
  b: FlowContract['concurrency'],
  alsoRateLimit: boolean,
): Change[] {
  if (!a && !b) return [];
  if (!a)
    return [
      note(
        'CONCURRENCY_ADDED',
        `concurrency added: ${concurrencyText(b!)}`,
        `${OLD_WORKERS} do not limit it until redeployed, and jobs already waiting carry no key (producers compute it when they enqueue)`,
      ),
    ];
  if (!b)
    return [
      note(
        'CONCURRENCY_REMOVED',
        `concurrency removed (was ${concurrencyText(a)})`,
        `${OLD_WORKERS} keep limiting it until redeployed`,
      ),
    ];
  const out: Change[] = [];
  if (a.limit !== b.limit)
    out.push(
      note(
        'CONCURRENCY_CHANGED',
        `concurrency changed from ${a.limit} to ${b.limit} active per key`,
        `running workers keep the old limit until redeployed; while old and new workers run side by side, the looser of the two applies`,
      ),
    );
  out.push(
    ...keyNote(
      alsoRateLimit ? 'concurrency and rateLimit' : 'concurrency',
      'CONCURRENCY',
      KEY_WHY.concurrency,
      a.key,
      b.key,
    ),
  );
  return out;
}

function debounceNotes(
  a: FlowContract['debounce'],
  b: FlowContract['debounce'],
): Change[] {
  if (!a && !b) return [];
  if (!a)
    return [
      note(
        'DEBOUNCE_ADDED',
        `debounce added: a job ${debounceText(b!)}`,
        `${OLD_PRODUCERS} enqueue without it until redeployed`,
      ),
    ];
  if (!b)
    return [
      note(
        'DEBOUNCE_REMOVED',
        `debounce removed (was ${duration(a.periodMs)})`,
        `${OLD_PRODUCERS} keep debouncing until redeployed; jobs already waiting keep their delay`,
      ),
    ];
  const out: Change[] = [];
  if (a.periodMs !== b.periodMs)
    out.push(
      note(
        'DEBOUNCE_CHANGED',
        `debounce period changed from ${duration(a.periodMs)} to ${duration(b.periodMs)}`,
        `${OLD_PRODUCERS} keep the old period until redeployed; jobs already waiting keep the delay they were given`,
      ),
    );
  out.push(...keyNote('debounce', 'DEBOUNCE', KEY_WHY.debounce, a.key, b.key));
  return out;
}

function throttleNotes(
  a: FlowContract['throttle'],
  b: FlowContract['throttle'],
): Change[] {
  if (!a && !b) return [];
  if (!a)
    return [
      note(
        'THROTTLE_ADDED',
        `throttle added: ${throttleText(b!)}, extra jobs dropped`,
        `${OLD_PRODUCERS} enqueue without it until redeployed`,
      ),
    ];
  if (!b)
    return [
      note(
        'THROTTLE_REMOVED',
        `throttle removed (was ${throttleText(a)})`,
        `${OLD_PRODUCERS} keep dropping jobs over it until redeployed`,
      ),
    ];
  const out: Change[] = [];
  if (a.limit !== b.limit || a.periodMs !== b.periodMs)
    out.push(
      note(
        'THROTTLE_CHANGED',
        `throttle changed from ${a.limit} per ${duration(a.periodMs)} to ${b.limit} per ${duration(b.periodMs)}`,
        `${OLD_PRODUCERS} keep the old limit until redeployed`,
      ),
    );
  out.push(...keyNote('throttle', 'THROTTLE', KEY_WHY.throttle, a.key, b.key));
  return out;
}

/**
 * The notes for a job type's flow rules between the lock (`a`) and the new
 * contract (`b`); a lock written before flow rules existed has none.
 */
export function flowChanges(
  a: FlowContract | undefined,
  b: FlowContract | undefined,
): Change[] {
  const x = a ?? {};
  const y = b ?? {};
  // Keyed rateLimit and concurrency share one key function (job() insists):
  // one change of it is one note.
  const shared =
    x.rateLimit?.key !== undefined &&
    y.rateLimit?.key !== undefined &&
    x.concurrency !== undefined &&
    y.concurrency !== undefined;
  return [
    ...rateLimitNotes(x.rateLimit, y.rateLimit, shared),
    ...concurrencyNotes(x.concurrency, y.concurrency, shared),
    ...debounceNotes(x.debounce, y.debounce),
    ...throttleNotes(x.throttle, y.throttle),
  ];
}
