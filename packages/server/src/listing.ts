import type { JobInfo, JobMap, JobState, Queue } from '@jobwire/core';

/** What `GET /jobs` asks for. */
export interface ListQuery {
  state: JobState;
  queue?: string | undefined;
  name?: string | undefined;
  offset: number;
  limit: number;
  /** Give each job's data in the current version's shape (`?upcast=true`). */
  upcast?: boolean | undefined;
}

/**
 * Lists jobs for `GET /jobs`. The offset runs across every queue of the
 * registry when no queue is named (core's `getJobs` pages that way); a type
 * filter names its queue outright.
 */
export async function listJobs(
  queue: Queue<JobMap>,
  q: ListQuery,
): Promise<JobInfo[]> {
  const only =
    q.queue ??
    (q.name !== undefined ? queue.registry.jobs[q.name]?.queue : undefined);
  return queue.getJobs(q.state, {
    ...(only !== undefined ? { queue: only } : {}),
    ...(q.name !== undefined ? { name: q.name } : {}),
    offset: q.offset,
    limit: q.limit,
    upcast: q.upcast === true,
  });
}
