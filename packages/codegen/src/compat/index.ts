import { defaultProgressSchema } from '@jobwire/core';
import { buildPart, unrecorded } from '../contract.ts';
import { enforceable, zodView } from '../fidelity.ts';
import type {
  CompatibilityMode,
  Contract,
  JobContract,
  JsonSchema,
  PartContract,
  Recordable,
} from '../contract-types.ts';
import { diffCustom, softenUnderCatch, under } from './custom.ts';
import { flowChanges } from './flow.ts';
import { SchemaDiffer } from './schema.ts';
import { payloadChanges } from './versions.ts';
import { VOICES } from './types.ts';
import type { Change, Finding, JobDiff, Role, Verdict } from './types.ts';

export type { Change, JobDiff, Role, Verdict } from './types.ts';
export { hintFor } from './hints.ts';

/**
 * A path for people: each union step `|i` becomes the option's name, e.g.
 * `contact|1.address` → `contact (option 2 of 2: type="email").address`.
 */
export function readablePath(
  path: string,
  options: ReadonlyMap<string, string> = new Map(),
): string {
  return path.replace(/\|(\d+)/g, (step: string, i: string, at: number) => {
    const name = options.get(path.slice(0, at) + step);
    return ` (${name ?? `option ${Number(i) + 1}`})`;
  });
}

const where = (part: Role | 'job', label: string): string =>
  part === 'job'
    ? ''
    : label === ''
      ? part
      : /^[[({ ]/.test(label)
        ? `${part}${label}`
        : `${part}.${label}`;

function toChange(
  part: Role | 'job',
  f: Finding,
  options?: ReadonlyMap<string, string>,
): Change {
  const reasons: string[] = [];
  if (f.backward !== 'safe' && f.why?.backward) reasons.push(f.why.backward);
  // The same reason for both directions is said once; a reason given only
  // for a safe direction (a job-level note's advice) still counts.
  if (
    f.forward !== 'safe' &&
    f.why?.forward &&
    !reasons.includes(f.why.forward)
  )
    reasons.push(f.why.forward);
  const reason = reasons.join('; ');
  const label = readablePath(f.path, options);
  const at = where(part, label);
  return {
    part,
    path: f.path,
    label,
    kind: f.kind,
    backward: f.backward,
    forward: f.forward,
    summary: f.summary,
    reason,
    message: `${at === '' ? '' : `${at} `}${f.summary}${reason ? `: ${reason}` : ''}`,
  };
}

const byPath = (a: Change, b: Change): number =>
  a.path < b.path
    ? -1
    : a.path > b.path
      ? 1
      : a.kind < b.kind
        ? -1
        : a.kind > b.kind
          ? 1
          : 0;

/**
 * Every difference between two versions of a part, each judged BACKWARD
 * (W(old) ⊆ R(new)) and FORWARD (W(new) ⊆ R(old)) under A1: writers store
 * only the keys their schema names, readers strip unknown keys unless strict.
 * `oldUnrecorded`: what the old side (an older lock) does not record, which
 * is then compared as "recorded from now on", never as a change.
 */
export function diffParts(
  oldPart: PartContract,
  newPart: PartContract,
  role: Role,
  oldUnrecorded: ReadonlySet<Recordable> = new Set(),
): Change[] {
  // A lock written before contract.json was made portable compares in the
  // same (idempotent) form as a new contract.
  // Keywords contract.json relaxes for other validators (RELAXED) are
  // compared as zod states them.
  const view = (schema: JsonSchema) =>
    zodView(enforceable(schema)) as JsonSchema;
  oldPart = { ...oldPart, schema: view(oldPart.schema) };
  newPart = { ...newPart, schema: view(newPart.schema) };
  const voice = VOICES[role];
  const found: Finding[] = [];
  const differ = new SchemaDiffer(
    voice,
    oldPart.schema,
    newPart.schema,
    oldPart.custom,
    newPart.custom,
    (f) => found.push(softenUnderCatch(f, oldPart.custom, newPart.custom)),
    undefined,
    undefined,
    oldUnrecorded,
  );
  differ.compare(oldPart.schema, newPart.schema, '');
  // Checks under a property or union option that exists on one side only
  // meet no data from the other side: the add/remove rule already judged it.
  const oneSided = found
    .filter((f) => ONE_SIDED.has(f.kind) && f.path !== '')
    .map((f) => f.path);
  found.push(
    ...diffCustom(oldPart.custom, newPart.custom, voice, oldUnrecorded).filter(
      (f) => !oneSided.some((p) => under(f.path, p)),
    ),
  );
  const seen = new Set<string>();
  return found
    .map((f) => toChange(role, f, differ.options))
    .filter((c) => {
      // The same fact can surface twice (e.g. through a catch-all and a field).
      const key = `${c.path}\u0000${c.kind}\u0000${c.summary}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort(byPath);
}

const ONE_SIDED = new Set([
  'REQUIRED_PROPERTY_ADDED',
  'OPTIONAL_PROPERTY_ADDED',
  'PROPERTY_REMOVED',
  'PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL',
  'UNION_MEMBER_ADDED',
  'UNION_MEMBER_REMOVED',
]);

let defaultProgress: PartContract | undefined;

/** What a job without a progress schema accepts: core's default, a percentage. */
function progressDefault(): PartContract {
  defaultProgress ??= buildPart('', 'progress', defaultProgressSchema);
  return defaultProgress;
}

function diffOptional(
  role: 'result' | 'progress',
  oldPart: PartContract | null,
  newPart: PartContract | null,
  oldUnrecorded: ReadonlySet<Recordable>,
): Change[] {
  if (role === 'progress')
    return diffParts(
      oldPart ?? progressDefault(),
      newPart ?? progressDefault(),
      role,
      // core's default progress schema is built by this codegen.
      oldPart === null ? new Set() : oldUnrecorded,
    );
  if (oldPart && newPart)
    return diffParts(oldPart, newPart, role, oldUnrecorded);
  if (!oldPart && !newPart) return [];
  const voice = VOICES.result;
  // Without a result schema the worker stores nothing and awaiters get undefined.
  const f: Finding = oldPart
    ? {
        path: '',
        kind: 'RESULT_REMOVED',
        summary: 'result schema removed',
        backward: 'safe',
        forward: 'breaks',
        why: {
          forward: `${voice.oldReaders} expect a result that ${voice.newWriters} no longer store`,
        },
      }
    : {
        path: '',
        kind: 'RESULT_ADDED',
        summary: 'result schema added',
        backward: 'breaks',
        forward: 'safe',
        why: { backward: `${voice.stored} have no result` },
      };
  return [toChange('result', f)];
}

function jobLevel(
  kind: string,
  summary: string,
  backward: Verdict,
  forward: Verdict,
  why: string,
): Change {
  return toChange('job', {
    path: '',
    kind,
    summary,
    backward,
    forward,
    why: { backward: why, forward: why },
  });
}

/** Job types added, removed or changed between the lock and the new contract. */
export function diffContracts(lock: Contract, next: Contract): JobDiff[] {
  const names = [
    ...new Set([...Object.keys(lock.jobs), ...Object.keys(next.jobs)]),
  ].sort();
  const out: JobDiff[] = [];
  for (const job of names) {
    const a: JobContract | undefined = lock.jobs[job];
    const b: JobContract | undefined = next.jobs[job];
    if (!a && b) {
      // Warn only: old workers on the queue have no handler yet, so deploy workers first.
      out.push({
        job,
        kind: 'added',
        versionBumped: false,
        changes: [
          jobLevel(
            'JOB_ADDED',
            'job type added',
            'safe',
            'warn',
            'workers without the new handler fail its jobs; deploy workers first',
          ),
        ],
      });
      continue;
    }
    if (a && !b) {
      out.push({
        job,
        kind: 'removed',
        versionBumped: false,
        changes: [
          jobLevel(
            'JOB_REMOVED',
            'job type removed',
            'warn',
            'safe',
            'jobs of this type still in Redis have no handler; drain them first',
          ),
        ],
      });
      continue;
    }
    if (!a || !b) continue;
    // A lock written by an older codegen lacks what this one records.
    const gaps = unrecorded(lock.records, next.records);
    const changes: Change[] = [];
    if (a.queue !== b.queue)
      changes.push(
        jobLevel(
          'QUEUE_CHANGED',
          `queue changed from ${a.queue} to ${b.queue}`,
          'warn',
          'warn',
          'jobs already queued stay on the old queue',
        ),
      );
    changes.push(
      ...payloadChanges(a, b, diffParts, gaps, (h) =>
        unrecorded(h.records, next.records),
      ),
      ...diffOptional('result', a.result, b.result, gaps),
      ...diffOptional('progress', a.progress, b.progress, gaps),
      ...flowChanges(a.flow, b.flow),
    );
    if (a.compatibility !== b.compatibility) {
      const lowered = !covers(b.compatibility, a.compatibility);
      changes.push(
        jobLevel(
          lowered ? 'COMPATIBILITY_LOWERED' : 'COMPATIBILITY_CHANGED',
          `compatibility mode ${lowered ? 'lowered' : 'changed'} from ${a.compatibility} to ${b.compatibility}`,
          'safe',
          'safe',
          '',
        ),
      );
    }
    if (b.version < a.version)
      changes.push(
        jobLevel(
          'VERSION_LOWERED',
          `version lowered from ${a.version} to ${b.version}`,
          'breaks',
          'breaks',
          `queued version ${a.version} jobs wait in their version's lane, which workers of version ${b.version} never lease, and the lock would drop the history and upcasters of versions ${b.version} and up`,
        ),
      );
    const versionBumped = b.version > a.version;
    if (changes.length > 0 || versionBumped)
      out.push({ job, kind: 'changed', versionBumped, changes });
  }
  return out;
}

const counts = (v: Verdict): boolean => v === 'breaks' || v === 'unknown';

const DIRECTIONS: Record<CompatibilityMode, { b: boolean; f: boolean }> = {
  none: { b: false, f: false },
  backward: { b: true, f: false },
  forward: { b: false, f: true },
  full: { b: true, f: true },
};

/** Whether mode `a` checks every direction mode `b` checks. */
function covers(a: CompatibilityMode, b: CompatibilityMode): boolean {
  const x = DIRECTIONS[a];
  const y = DIRECTIONS[b];
  return (x.b || !y.b) && (x.f || !y.f);
}

/**
 * The mode an edit is judged by: every direction the locked mode or the new
 * mode checks. Lowering a mode in the same edit as a breaking change would
 * otherwise switch off the very check that protects the queued jobs; lower
 * it in an edit of its own (or --accept the change).
 */
export function judgedMode(
  locked: CompatibilityMode | undefined,
  next: CompatibilityMode | undefined,
): CompatibilityMode {
  const a = DIRECTIONS[locked ?? next ?? 'full'];
  const c = DIRECTIONS[next ?? locked ?? 'full'];
  const b = a.b || c.b;
  const f = a.f || c.f;
  return b && f ? 'full' : b ? 'backward' : f ? 'forward' : 'none';
}

/**
 * The changes that violate a job's compatibility mode. 'unknown' counts
 * (until accepted in the lock), 'warn' never does. A version bump alone
 * excuses nothing: queued jobs of the old version still meet the new
 * workers. Its upcaster does (see ./versions.ts).
 */
export function breakingFor(diff: JobDiff, mode: CompatibilityMode): Change[] {
  if (mode === 'none') return [];
  const { b, f } = DIRECTIONS[mode];
  return diff.changes.filter(
    (c) => (b && counts(c.backward)) || (f && counts(c.forward)),
  );
}

function verdictText(c: Change): string {
  const dirs = (v: Verdict) =>
    (['backward', 'forward'] as const).filter((d) => c[d] === v).join(' and ');
  const parts: string[] = [];
  if (dirs('breaks')) parts.push(`breaks ${dirs('breaks')}`);
  if (dirs('unknown')) parts.push(`cannot verify ${dirs('unknown')}`);
  if (dirs('warn')) parts.push(`changes meaning ${dirs('warn')}`);
  return parts.length > 0 ? parts.join(', ') : 'compatible';
}

/**
 * One line for logs, e.g. `sendEmail payload.subject: became required
 * (BECAME_REQUIRED): breaks backward — jobs already in Redis may lack it`.
 */
export function formatChange(job: string, change: Change): string {
  const at = where(change.part, change.label);
  const head = `${job}${at === '' ? '' : ` ${at}`}: ${change.summary} (${change.kind}): ${verdictText(change)}`;
  return change.reason ? `${head} — ${change.reason}` : head;
}
