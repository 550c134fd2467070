import type { CompatibilityMode } from '../contract-types.ts';
import type { Location } from '../discover.ts';
import { locateChange } from '../locate-change.ts';
import { hintFor } from './hints.ts';
import { formatChange } from './index.ts';
import type { Change, JobDiff } from './types.ts';
import { upcastAdvice } from './versions.ts';

/** One refused change: where it is, and the lines that explain it. */
export interface Refusal {
  job: string;
  location: Location | undefined;
  /** `  - file:line:col: job part.path: …` and its fix, one per line. */
  text: string;
  /** The change refused. */
  change: Change;
}

/**
 * Whether `--accept` may take `change`. A lowered version it may not:
 * the lock would drop the higher version's history and upcasters, and the
 * queued jobs of that version would wait for a worker that never comes.
 */
export function canAccept(change: Change): boolean {
  return change.kind !== 'VERSION_LOWERED';
}

/**
 * Whether a version bump with an upcaster bridges `change`: a payload
 * change does; one in an upcaster's own `from` does not (the fix is in
 * that `from`), nor does anything outside the payload.
 */
function upcastBridges(change: Change): boolean {
  return change.part === 'payload' && change.upcastFrom === undefined;
}

/**
 * The ways forward listed after the refused changes: an upcaster for the
 * jobs whose payload changes it bridges (keeping the steps each job's
 * `upcast` has, `steps`), then --accept for the changes it
 * may take. A way that covers only some of them says so; none is offered
 * that cannot help (an upcaster for a wrong `from`, --accept for a lowered
 * version), whose own `fix:` line is then the way.
 */
export function waysForward(
  refused: readonly Refusal[],
  lockedVersion: (job: string) => number,
  steps?: (job: string) => readonly number[],
): string[] {
  const bridged = refused.filter((r) => upcastBridges(r.change));
  const acceptable = refused.filter((r) => canAccept(r.change));
  const ways: string[] = [];
  if (bridged.length > 0)
    ways.push(
      upcastAdvice(
        bridged.map((r) => r.job),
        lockedVersion,
        steps,
      ),
    );
  if (acceptable.length > 0) {
    const which = acceptable.length === refused.length ? 'them' : 'the others';
    const except =
      acceptable.length === refused.length
        ? ''
        : ' (a lowered version cannot be accepted)';
    ways.push(
      `  - ${ways.length > 0 ? 'or ' : ''}accept ${which} explicitly: \`jobwire codegen --accept\` records the acceptance in the lock${except}.`,
    );
  } else if (ways.length > 0) {
    // upcastAdvice ends in ',' for the line that usually follows it.
    ways[0] = ways[0]!.replace(/,$/, '.');
  }
  if (ways.length === 0) return [];
  const all =
    acceptable.length === refused.length &&
    (bridged.length === 0 || bridged.length === refused.length);
  return [all ? 'Or, for all of them:' : 'Or, for some of them:', ...ways];
}

/**
 * A refused change as the lines the error lists: the changed field's own
 * `file:line:col`, the verdict, the fix for its kind of change, and, when
 * the same edit lowered the job's compatibility mode, that mode.
 */
export function refusal(
  schemaPath: string,
  diff: JobDiff,
  change: Change,
  mode: CompatibilityMode,
  cwd: string,
): Refusal {
  const location = locateChange(schemaPath, diff.job, change.part, change.path);
  const at = location
    ? `${location.file.startsWith(cwd + '/') ? location.file.slice(cwd.length + 1) : location.file}:${location.line}:${location.column}: `
    : '';
  const lines = [
    `  - ${at}${formatChange(diff.job, change)}`,
    `    fix: ${hintFor(change)}`,
  ];
  const lowered = diff.changes.find((c) => c.kind === 'COMPATIBILITY_LOWERED');
  if (lowered)
    lines.push(
      `    note: ${lowered.summary} in this edit; the edit is judged by ${mode}. Lower the mode in an edit of its own first.`,
    );
  return { job: diff.job, location, text: lines.join('\n'), change };
}
