/**
 * `enqueueBulk`'s writes and its partial-failure error. A queue lives in
 * one Redis Cluster slot and no write spans slots atomically, so a bulk
 * call is stored per queue, each chunk of one queue in one script call
 * (atomic), and the call reports per item what was stored.
 */
import { ErrorCode, JobwireError } from '../errors.ts';
import type { PreparedJob } from './prepared-job.ts';
import type { EnqueueStatus } from './queue-types.ts';

/**
 * What `enqueueBulk` did with one item: it reached Redis (its handle, whose
 * `outcome` says `created`, `duplicate` when a job with its `jobId`
 * existed, or `throttled`), or not, with the reason.
 * @public
 */
export type BulkOutcome<THandle = BulkStoredJob> =
  | { readonly ok: true; readonly handle: THandle }
  | { readonly ok: false; readonly error: Error };

/** The fields of a stored item's handle that every caller can read. @public */
export interface BulkStoredJob {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** Stored, found as a duplicate, or dropped by its type's throttle. */
  readonly outcome: EnqueueStatus;
  readonly duplicate: boolean;
  /** The debounced job it replaced, if any. */
  readonly replaced?: string | undefined;
}

/**
 * A bulk enqueue stored some items and not others. Items are stored per
 * queue (a queue lives in one Redis Cluster slot; a cross-slot write
 * cannot be atomic), each chunk of one queue atomically, so when one
 * queue's Redis node is unreachable the other queues' items are stored.
 * `outcomes[i]` says what happened to item `i`; retry exactly the ones
 * with `ok: false` (they carry their own coded error, e.g.
 * REDIS_UNAVAILABLE). Every item of the call appears once.
 * @public
 */
export class BulkEnqueueError<THandle = BulkStoredJob> extends JobwireError {
  constructor(readonly outcomes: readonly BulkOutcome<THandle>[]) {
    const failed = outcomes.filter((o) => !o.ok);
    const first = failed[0];
    const reason =
      first !== undefined && !first.ok
        ? `; first failure: ${first.error instanceof JobwireError ? `${first.error.code}: ` : ''}${first.error.message}`
        : '';
    super(
      ErrorCode.BULK_PARTIAL,
      `enqueueBulk stored ${outcomes.length - failed.length} of ${outcomes.length} jobs; ${failed.length} were not stored (see outcomes)${reason}`,
    );
    this.name = 'BulkEnqueueError';
  }

  /** The indexes of the items that were not stored, to retry them. */
  get failedIndexes(): number[] {
    const out: number[] = [];
    this.outcomes.forEach((o, i) => {
      if (!o.ok) out.push(i);
    });
    return out;
  }
}

/** Stores a chunk of one queue: per job, its handle or why it was refused. */
export type StoreChunk<THandle> = (
  queue: string,
  jobs: readonly PreparedJob[],
) => Promise<(THandle | Error)[]>;

/**
 * Stores prepared jobs per queue (queues side by side, a queue's chunks in
 * order) and returns what happened to each. After a chunk of a queue
 * fails, the queue's later chunks are not sent: they would meet the same
 * outage, one `connectTimeoutMs` each.
 */
export async function storeBulk<THandle>(
  prepared: readonly PreparedJob[],
  chunkSize: number,
  storeChunk: StoreChunk<THandle>,
): Promise<BulkOutcome<THandle>[]> {
  const out = new Array<BulkOutcome<THandle>>(prepared.length);
  const storeQueue = async (queue: string, indexes: number[]) => {
    let failure: Error | undefined;
    for (let start = 0; start < indexes.length; start += chunkSize) {
      const chunk = indexes.slice(start, start + chunkSize);
      if (failure !== undefined) {
        const skipped = notAttempted(queue, failure);
        for (const i of chunk) out[i] = { ok: false, error: skipped };
        continue;
      }
      try {
        const results = await storeChunk(
          queue,
          chunk.map((i) => prepared[i]!),
        );
        chunk.forEach((i, k) => {
          const r = results[k]!;
          out[i] =
            r instanceof Error
              ? { ok: false, error: r }
              : { ok: true, handle: r };
        });
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        for (const i of chunk) out[i] = { ok: false, error: failure };
      }
    }
  };
  await Promise.all(
    [...indexesByQueue(prepared)].map(([q, indexes]) => storeQueue(q, indexes)),
  );
  return out;
}

/** The error of an item whose chunk was not sent after an earlier one failed. */
function notAttempted(queue: string, failure: Error): JobwireError {
  const code =
    failure instanceof JobwireError
      ? failure.code
      : ErrorCode.REDIS_UNAVAILABLE;
  return new JobwireError(
    code,
    `not attempted: an earlier chunk of queue ${queue} failed (${failure.message}); nothing was written for this item`,
    { cause: failure },
  );
}

/** The indexes of the jobs of each queue, in order. */
function indexesByQueue(jobs: readonly PreparedJob[]): Map<string, number[]> {
  const byQueue = new Map<string, number[]>();
  jobs.forEach((p, i) => {
    const list = byQueue.get(p.queue) ?? [];
    list.push(i);
    byQueue.set(p.queue, list);
  });
  return byQueue;
}

/**
 * The handles of a bulk call that stored every item. When some items were
 * not stored: a BulkEnqueueError with every outcome if others were; the
 * first item's error if none was (nothing was written, as for a failed
 * `enqueue`, so retrying the whole call is exact).
 */
export function bulkResult<THandle>(
  outcomes: readonly BulkOutcome<THandle>[],
): THandle[] {
  const handles: THandle[] = [];
  let firstError: Error | undefined;
  for (const o of outcomes) {
    if (o.ok) handles.push(o.handle);
    else firstError ??= o.error;
  }
  if (firstError === undefined) return handles;
  if (handles.length === 0) throw firstError;
  throw new BulkEnqueueError(outcomes);
}
