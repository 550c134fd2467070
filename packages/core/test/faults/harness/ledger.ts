/**
 * Invocation ledgers: each worker process appends one JSON line per handler
 * start and end (and per notable worker event) with appendFileSync, to its
 * own file. A SIGKILL loses nothing that already reached the kernel.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface LedgerEntry {
  ev:
    | 'ready'
    | 'start'
    | 'end'
    | 'signal'
    | 'leaseLost'
    | 'completed'
    | 'refused'
    | 'unhandled'
    | 'health'
    | 'failed';
  pid: number;
  t: number;
  jobId?: string;
  n?: number;
  attempt?: number;
  leaseToken?: string;
  t_start?: number;
  t_end?: number;
  outcome?: 'ok' | 'threw';
  /** `end`: the signal's state when the handler returned. */
  aborted?: boolean;
  abortCode?: string;
  /** `leaseLost`: which write noticed; `refused`: what was refused. */
  during?: string;
  code?: string;
  signal?: string;
  ready?: boolean;
  message?: string;
}

/** Appends one entry to `file`; synchronous on purpose. */
export function appendLedger(
  file: string,
  entry: Omit<LedgerEntry, 'pid' | 't'>,
): void {
  const line = { ...entry, pid: process.pid, t: Date.now() };
  fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
}

/** Every entry of every `*.jsonl` ledger in `dir`, in time order. */
export function readLedgers(dir: string): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (const f of fs.readdirSync(dir)) {
    if (!f.endsWith('.jsonl')) continue;
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const line of text.split('\n')) {
      // A SIGKILL can cut the last line short: skip it.
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as LedgerEntry);
      } catch {
        /* torn last line */
      }
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

export interface LedgerSummary {
  invocations: number;
  distinct: number;
  /** Invocations minus distinct jobs (docs/reliability.md). */
  duplicates: number;
  /** Acknowledged ids not completed or failed at the end. */
  lost: string[];
  /** Invocations per job id. */
  perJob: Map<string, number>;
}

/**
 * Lost = an acknowledged job id that is not in completed or failed at the
 * end; duplicates = invocations minus distinct jobs.
 */
export function summarize(
  entries: readonly LedgerEntry[],
  acked: Iterable<string>,
  finished: ReadonlySet<string>,
): LedgerSummary {
  const perJob = new Map<string, number>();
  for (const e of entries) {
    if (e.ev === 'start' && e.jobId !== undefined)
      perJob.set(e.jobId, (perJob.get(e.jobId) ?? 0) + 1);
  }
  const invocations = [...perJob.values()].reduce((s, n) => s + n, 0);
  const lost = [...acked].filter((id) => !finished.has(id));
  return {
    invocations,
    distinct: perJob.size,
    duplicates: invocations - perJob.size,
    lost,
    perJob,
  };
}
