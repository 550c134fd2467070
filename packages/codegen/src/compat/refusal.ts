import type { CompatibilityMode } from '../contract-types.ts';
import type { Location } from '../discover.ts';
import { locateChange } from '../locate-change.ts';
import { hintFor } from './hints.ts';
import { formatChange } from './index.ts';
import type { Change, JobDiff } from './types.ts';

/** One refused change: where it is, and the lines that explain it. */
export interface Refusal {
  job: string;
  location: Location | undefined;
  /** `  - file:line:col: job part.path: …` and its fix, one per line. */
  text: string;
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
  return { job: diff.job, location, text: lines.join('\n') };
}
