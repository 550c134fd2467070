import type { CustomCheck, Recordable } from '../contract-types.ts';
import type { Finding, Verdict, Voice } from './types.ts';

/**
 * Differences JSON Schema cannot see (docs/compatibility.md §4), matched by path
 * and kind, with the function hashes as a multiset:
 * - refinements: one added may reject queued data (backward ?), one removed
 *   lets writers store what old readers refuse (forward ?), one edited both.
 * - transforms: the stored input is validated the same way, but handlers
 *   see other values: a warning both ways.
 * - lenient writers (coerce, preprocess, catch): the writer stores values
 *   the inner type would refuse. Added: old readers may choke (forward ✗).
 *   Removed: new readers meet what old writers let through (backward ✗).
 */
export function diffCustom(
  oldCustom: CustomCheck[],
  newCustom: CustomCheck[],
  voice: Voice,
  oldUnrecorded: ReadonlySet<Recordable> = new Set(),
): Finding[] {
  const findings: Finding[] = [];
  if (oldUnrecorded.has('pipeChecks')) {
    // The lock predates pipe checks (or hashed them another way): each one
    // is recorded now, not added or changed.
    oldCustom = oldCustom.filter((c) => c.kind !== 'pipe');
    for (const path of new Set(
      newCustom.filter((c) => c.kind === 'pipe').map((c) => c.path),
    ))
      findings.push({
        path,
        kind: 'PIPE_CHECK_RECORDED',
        summary:
          'checks on the piped or rewritten value recorded from now on (the lock predates this record)',
        backward: 'safe',
        forward: 'safe',
      });
    newCustom = newCustom.filter((c) => c.kind !== 'pipe');
  }
  const group = (list: CustomCheck[]) => {
    const map = new Map<string, string[]>();
    for (const c of list) {
      const key = `${c.path}\u0000${c.kind}`;
      map.set(key, [...(map.get(key) ?? []), c.hash]);
    }
    return map;
  };
  const o = group(oldCustom);
  const n = group(newCustom);
  for (const key of [...new Set([...o.keys(), ...n.keys()])].sort()) {
    const [path, kind] = key.split('\u0000') as [string, CustomCheck['kind']];
    const oldHashes = [...(o.get(key) ?? [])];
    const newHashes: string[] = [];
    for (const h of n.get(key) ?? []) {
      const i = oldHashes.indexOf(h);
      if (i >= 0) oldHashes.splice(i, 1);
      else newHashes.push(h);
    }
    const edited = Math.min(oldHashes.length, newHashes.length);
    const add = (change: 'ADDED' | 'REMOVED' | 'CHANGED') =>
      findings.push(finding(path, kind, change, voice));
    if (edited > 0) add('CHANGED');
    if (newHashes.length > edited) add('ADDED');
    if (oldHashes.length > edited) add('REMOVED');
  }
  return findings;
}

function finding(
  path: string,
  kind: CustomCheck['kind'],
  change: 'ADDED' | 'REMOVED' | 'CHANGED',
  voice: Voice,
): Finding {
  const verb = change.toLowerCase();
  if (kind === 'refine') {
    const backward: Verdict = change === 'REMOVED' ? 'safe' : 'unknown';
    const forward: Verdict = change === 'ADDED' ? 'safe' : 'unknown';
    return {
      path,
      kind: `CUSTOM_CHECK_${change}`,
      summary: `custom check (refine/check) ${verb}`,
      backward,
      forward,
      why: {
        backward: `it may reject ${voice.stored}; review the check and --accept`,
        forward: `${voice.oldReaders} may reject what ${voice.newWriters} store; review and --accept`,
      },
    };
  }
  if (kind === 'pipe') {
    const backward: Verdict = change === 'REMOVED' ? 'safe' : 'unknown';
    const forward: Verdict = change === 'ADDED' ? 'safe' : 'unknown';
    return {
      path,
      kind: `PIPE_CHECK_${change}`,
      summary: `checks on the piped or rewritten value (.pipe(), or after .trim()/.toLowerCase()) ${verb}`,
      backward,
      forward,
      why: {
        backward: `they may reject ${voice.stored}, and JSON Schema cannot tell; review them and --accept`,
        forward: `${voice.oldReaders} may reject what ${voice.newWriters} store; review and --accept`,
      },
    };
  }
  if (kind === 'transform') {
    const why =
      'stored data validates as before, but handlers get other values';
    return {
      path,
      kind: `TRANSFORM_${change}`,
      summary: `transform ${verb}`,
      backward: 'warn',
      forward: 'warn',
      why: { backward: why, forward: why },
    };
  }
  const name =
    kind === 'coerce'
      ? 'z.coerce'
      : kind === 'catch'
        ? '.catch()'
        : 'z.preprocess()';
  if (change === 'CHANGED') {
    // Both sides are lenient. A new catch value only changes meaning; a new
    // coercion or preprocess function may map stored values differently.
    const v: Verdict = kind === 'catch' ? 'warn' : 'unknown';
    const why =
      kind === 'catch'
        ? 'invalid values now read as another fallback'
        : `the ${name} function differs; stored values may map differently`;
    return {
      path,
      kind: 'LENIENT_WRITER_CHANGED',
      summary: `${name} changed`,
      backward: v,
      forward: v,
      why: { backward: why, forward: why },
    };
  }
  return change === 'ADDED'
    ? {
        path,
        kind: 'LENIENT_WRITER_ADDED',
        summary: `${name} added`,
        backward: 'safe',
        forward: 'breaks',
        why: {
          forward:
            kind === 'catch'
              ? `${voice.newWriters} accept anything there and store it as given (any type, or nothing: the fallback is used only when read), which ${voice.oldReaders} reject`
              : `${voice.newWriters} may store values (e.g. "5" for a number) ${voice.oldReaders} reject`,
        },
      }
    : {
        path,
        kind: 'LENIENT_WRITER_REMOVED',
        summary: `${name} removed`,
        backward: 'breaks',
        forward: 'safe',
        why: { backward: `${voice.stored} may hold values it let through` },
      };
}

/** Whether `path` is `root` or below it. */
export const under = (path: string, root: string): boolean =>
  root === '' ||
  path === root ||
  ['.', '[', '|', '{'].some((s) => path.startsWith(root + s));

/**
 * A reader with .catch() at or above a path accepts anything there, but
 * replaces rejected values with its fallback: what would break is then a
 * change of meaning. BACKWARD reads with the new schema, FORWARD with the old.
 */
export function softenUnderCatch(
  finding: Finding,
  oldCustom: CustomCheck[],
  newCustom: CustomCheck[],
): Finding {
  const caught = (list: CustomCheck[]) =>
    list.some((c) => c.kind === 'catch' && under(finding.path, c.path));
  const out = { ...finding };
  if (out.backward === 'breaks' && caught(newCustom)) out.backward = 'warn';
  if (out.forward === 'breaks' && caught(oldCustom)) out.forward = 'warn';
  return out;
}
