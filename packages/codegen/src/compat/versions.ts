import type {
  ContractRecords,
  JobContract,
  PartContract,
  Recordable,
} from '../contract-types.ts';
import type { Change } from './types.ts';

/**
 * Versions and upcasters in the compatibility check (issue 14). A version
 * bump with an upcaster from the locked version bridges the payload change:
 * queued jobs of the old version are read with the upcaster's `from` schema,
 * not the new payload schema. So what must hold is that `from` reads what
 * the old version's producers stored: the locked payload (or, for older
 * upcasters, the payload in the lock's history) against `from`, BACKWARD
 * only. Forward does not apply: a worker never runs a job of a newer
 * version than it knows; it hands it back for a newer worker.
 */

/** `diffParts` from ./index.ts, passed in to keep the modules acyclic. */
type DiffParts = (
  oldPart: PartContract,
  newPart: PartContract,
  role: 'payload',
  oldUnrecorded?: ReadonlySet<Recordable>,
) => Change[];

/**
 * The payload changes of a job between the lock (`a`) and the new contract
 * (`b`). `gaps`: what the lock does not record; `historyGaps`: what a
 * payload in its history does not.
 */
export function payloadChanges(
  a: JobContract,
  b: JobContract,
  diffParts: DiffParts,
  gaps: ReadonlySet<Recordable> = new Set(),
  historyGaps: (part: PartContract) => ReadonlySet<Recordable> = () =>
    new Set(),
): Change[] {
  const bumped = b.version > a.version;
  const bridge = bumped ? b.upcast?.[String(a.version)] : undefined;
  // Steps from versions between the locked one and the new one: no lock
  // recorded their payload, so nothing holds their `from`.
  const skipped = Object.keys(b.upcast ?? {})
    .map(Number)
    .filter((k) => k > a.version && k < b.version)
    .sort((x, y) => x - y);
  const out: Change[] = [];
  if (skipped.length > 0)
    out.push(versionSkipped(a.version, b.version, skipped));
  if (bridge === undefined) {
    out.push(...diffParts(a.payload, b.payload, 'payload', gaps));
    if (bumped)
      out.push(
        note(
          'UPCASTER_MISSING',
          `version bumped from ${a.version} to ${b.version} without an upcaster from version ${a.version}`,
          `queued version ${a.version} jobs are read with the version ${b.version} payload schema, so the payload change is judged as if the version were the same`,
        ),
      );
  } else {
    const fromChanges = fromSource(
      diffParts(a.payload, bridge, 'payload', gaps),
      a.version,
    );
    out.push(...fromChanges);
    // Bridged only if its `from` reads what the locked version stored and
    // every later step is held to a locked payload: otherwise the changes
    // are reported (and refused) instead.
    if (skipped.length === 0 && !fromChanges.some((c) => c.backward !== 'warn'))
      out.push(
        note(
          'UPCASTER_ADDED',
          `version bumped from ${a.version} to ${b.version}; queued version ${a.version} jobs are upcast`,
          '',
        ),
      );
  }
  // A step dropped while the version stays: its jobs can no longer be read.
  for (const k of Object.keys(a.upcast ?? {}))
    if (b.upcast?.[k] === undefined && Number(k) < b.version)
      out.push(
        note(
          'UPCASTER_REMOVED',
          `the upcaster from version ${k} was removed`,
          `queued version ${k} jobs can no longer be upcast; workers fail them, so drain or migrate them first (jobwire migrate)`,
        ),
      );
  // An older upcaster's `from` is held to the payload its version had.
  for (const [k, source] of Object.entries(b.upcast ?? {})) {
    const locked = a.history?.[k];
    if (Number(k) === a.version || locked === undefined) continue;
    out.push(
      ...fromSource(
        diffParts(locked, source, 'payload', historyGaps(locked)),
        Number(k),
      ),
    );
  }
  return out;
}

/**
 * Changes between a version's stored payload and its upcaster's `from`,
 * relabelled: only BACKWARD counts (the upcaster must read every job that
 * version stored).
 */
function fromSource(changes: Change[], version: number): Change[] {
  return changes
    .filter((c) => c.backward !== 'safe')
    .map((c) => {
      const label = ` (upcast[${version}].from)${c.label === '' ? '' : `.${c.label}`}`;
      const reason = `the version ${version} upcaster's \`from\` schema must accept every version ${version} job still in Redis`;
      return {
        ...c,
        path: `upcast[${version}].from${c.path === '' ? '' : `.${c.path}`}`,
        label,
        forward: 'safe' as const,
        reason,
        message: `payload${label} ${c.summary}: ${reason}`,
        upcastFrom: version,
      };
    });
}

/** `3`, `3 and 4`, `3, 4 and 5`. */
const listed = (versions: readonly number[]): string =>
  versions.length === 1
    ? String(versions[0])
    : `${versions.slice(0, -1).join(', ')} and ${String(versions.at(-1))}`;

/**
 * A bump past more than one version with upcasters (VERSION_SKIPPED): the
 * steps from the skipped versions have no locked payload to be held to, so
 * a `from` there may reject what the step before it returns, and queued
 * jobs of the locked version would fail when a worker upcasts them. A
 * backward break: `--accept` may take it, like any other.
 */
function versionSkipped(
  locked: number,
  next: number,
  skipped: readonly number[],
): Change {
  const many = skipped.length > 1;
  const summary = `version bumped from ${locked} to ${next}, past version${many ? 's' : ''} ${listed(skipped)}, which no lock recorded`;
  const reason = `the \`from\` of the step${many ? 's' : ''} from ${listed(skipped)} ${many ? 'are' : 'is'} held to no locked payload, so ${many ? 'they' : 'it'} may reject what the step before returns, and queued version ${locked} jobs would fail when workers upcast them`;
  return {
    part: 'job',
    path: 'version',
    label: '',
    kind: 'VERSION_SKIPPED',
    summary,
    backward: 'breaks',
    forward: 'safe',
    reason,
    message: `${summary}: ${reason}`,
  };
}

function note(kind: string, summary: string, why: string): Change {
  return {
    part: 'job',
    path: '',
    label: '',
    kind,
    summary,
    backward: why === '' ? 'safe' : 'warn',
    forward: 'safe',
    reason: why,
    message: why === '' ? summary : `${summary}: ${why}`,
  };
}

/**
 * The lock's history of a job's earlier payloads, carried forward: on a
 * version bump the locked payload joins it under the locked version.
 * Versions at or above the new one are dropped. The payload joins with the
 * lock's `records` (`lockRecords`), so a later check knows what it records.
 */
export function carryHistory(
  a: JobContract | undefined,
  b: JobContract,
  lockRecords?: ContractRecords,
): Record<string, PartContract> | undefined {
  if (a === undefined) return undefined;
  const history: Record<string, PartContract> = { ...(a.history ?? {}) };
  if (b.version > a.version)
    history[String(a.version)] =
      lockRecords === undefined
        ? a.payload
        : { ...a.payload, records: { ...lockRecords } };
  for (const k of Object.keys(history))
    if (Number(k) >= b.version) delete history[k];
  const keys = Object.keys(history).sort((x, y) => Number(x) - Number(y));
  if (keys.length === 0) return undefined;
  return Object.fromEntries(keys.map((k) => [k, history[k]!]));
}

/**
 * The first way forward for refused changes: an upcaster from the locked
 * version of each job (`lockedVersion`), which a version bump then bridges.
 * `steps`: the versions a job's `upcast` already has steps from; the advice
 * keeps them, so that copying it does not drop a step of the chain.
 */
export function upcastAdvice(
  jobs: readonly string[],
  lockedVersion: (job: string) => number,
  steps: (job: string) => readonly number[] = () => [],
): string {
  const names = [...new Set(jobs)].sort();
  const one = names.length === 1 ? names[0]! : undefined;
  const v = one === undefined ? undefined : lockedVersion(one);
  const kept = (job: string, below: number) =>
    [...new Set(steps(job))].filter((k) => k < below).sort((x, y) => x - y);
  let how: string;
  if (one === undefined || v === undefined) {
    const chains = names.some((job) => kept(job, lockedVersion(job)).length);
    how = `on each job type, set \`version: N + 1\` and \`upcast: { ${chains ? '<its steps, kept as they are>, ' : ''}N: { from: <version N payload schema>, to: (old) => <version N + 1 input> } }\`, N being its locked version`;
  } else {
    const entries = kept(one, v).map((k) => `${k}: <keep as is>, `);
    how = `on ${one}, set \`version: ${v + 1}\` and \`upcast: { ${entries.join('')}${v}: { from: <version ${v} payload schema>, to: (old) => <version ${v + 1} input> } }\``;
  }
  return `  - add an upcaster (payload changes): ${how}; workers then convert queued jobs of the old version before the handler sees them (docs/changing-contracts.md),`;
}
