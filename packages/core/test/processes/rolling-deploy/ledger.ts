/**
 * What the rolling-deploy processes write down, outside Redis, one JSON line
 * per entry with a synchronous append (a SIGKILL loses nothing that reached
 * the kernel), and how the parent reads it back.
 */
import fs from 'node:fs';

/** A line of a worker's ledger. */
export type WorkerEntry =
  | { ev: 'ready'; pid: number; t: number; known: number }
  /** A handler call: the job's stored version, the worker's, and the data it got. */
  | {
      ev: 'run';
      pid: number;
      t: number;
      id: string;
      n: number;
      stored: number;
      known: number;
      attempt: number;
      data: unknown;
    }
  /** The worker handed a job back unrun (`deferred` event, why = newer-version). */
  | {
      ev: 'deferred';
      pid: number;
      t: number;
      id: string;
      version: number;
      known: number;
    }
  | {
      ev: 'failed';
      pid: number;
      t: number;
      id: string;
      code: string;
      message: string;
      willRetry: boolean;
    }
  | { ev: 'stalled'; pid: number; t: number; requeued: number; failed: number };

/** A line of a producer's ack file: an enqueue that resolved. */
export interface AckEntry {
  id: string;
  n: number;
  /** The producer's contract version. */
  v: number;
  /** Enqueued with a long delay, to be promoted at the end of the deploy. */
  held: boolean;
}

type Omitted<T> = T extends unknown ? Omit<T, 'pid' | 't'> : never;

/** Appends one entry to `file`; synchronous on purpose. */
export function append(file: string, entry: Omitted<WorkerEntry>): void {
  fs.appendFileSync(
    file,
    `${JSON.stringify({ ...entry, pid: process.pid, t: Date.now() })}\n`,
  );
}

/** The JSON lines of `file`; a torn last line (SIGKILL) is skipped. */
export function readLines<T>(file: string): T[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      /* torn last line */
    }
  }
  return out;
}
