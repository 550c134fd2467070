/**
 * `migrateLayout`: rewrites the jobs of a queue stored in layout 1 (the
 * payload in the job hash, log lines at `j:<id>:log`; see redis/layout.ts)
 * into the current form, then records the current layout.
 *
 * It walks every index a job sits in (the wait lanes, `delayed`, `active`
 * and the finished sets) in pages; each page is one script call
 * (migrateLayout-1.lua), atomic, and idempotent: a job already in the
 * current form is left alone. So nothing is lost if it stops midway, and
 * running it again resumes. A job that moves between indexes while a pass
 * runs (a retry, a completion) may be missed by that pass: passes repeat
 * until one finds nothing to move.
 *
 * Run it once every process uses a build that knows layouts: a build that
 * predates payload keys reads payloads from the hash only.
 *
 * Layout 2 jobs (options and fingerprint inline) need no rewrite into
 * layout 3: readers take those fields inline first, then by settings ref.
 * So for a layout 2 queue this only records layout 3, which makes builds
 * that would misread layout 3 jobs refuse the queue.
 */
import { LayoutUnsupportedError, ErrorCode, JobwireError } from '../errors.ts';
import { withRedis } from '../redis/connection.ts';
import { QueueMetaField } from '../redis/job-fields.ts';
import { checkLayout, LAYOUT_VERSION } from '../redis/layout.ts';
import type { QueueKeys } from '../redis/keys.ts';
import type { QueueContext } from '../redis/queue-context.ts';
import { runScript } from '../redis/scripts/index.ts';
import { defaults } from '../defaults.ts';
import { zsetPages } from './zset-pages.ts';

/**
 * A queue's storage layout (see `Queue#getLayout`).
 * @public
 */
export interface QueueLayout {
  queue: string;
  /** The layout the queue records; undefined when none is recorded yet. */
  layout: number | undefined;
  /** The newest layout this build of jobwire reads and writes. */
  supported: number;
}

/**
 * Options of `Queue#migrateLayout`.
 * @public
 */
export interface LayoutMigrateOptions {
  /** One queue; default: every queue of the registry. */
  queue?: string | undefined;
  /** Jobs per atomic batch (one script call), 1 to 10000; default 500. */
  batchSize?: number | undefined;
  /** Count the jobs still in the old form; write nothing. */
  dryRun?: boolean | undefined;
}

/**
 * What `migrateLayout` did to one queue.
 * @public
 */
export interface LayoutMigrateReport {
  queue: string;
  dryRun: boolean;
  /** The layout the queue recorded before; undefined when none was. */
  layoutBefore: number | undefined;
  /** The layout it records after (unchanged by a dry run). */
  layout: number | undefined;
  /** Payloads moved from the job hash to their own key (a dry run: to move). */
  payloads: number;
  /** Log lists moved from `j:<id>:log` to `l:<id>` (a dry run: to move). */
  logs: number;
  /** Passes over the queue's indexes; the last one found nothing to move. */
  passes: number;
  /**
   * Whether the last pass found nothing left in the old form. False only
   * when jobs kept moving between indexes through every pass: run it again.
   */
  complete: boolean;
}

/** Passes at most: each one after the first only finds jobs that moved. */
const MAX_PASSES = 5;

function checkBatchSize(options: LayoutMigrateOptions): number {
  const size = options.batchSize ?? defaults.migrateBatchSize;
  if (!(Number.isInteger(size) && size >= 1 && size <= 10_000))
    throw new JobwireError(
      ErrorCode.INVALID_OPTION,
      `migrateLayout(): batchSize must be an integer from 1 to 10000, got ${String(size)}`,
    );
  return size;
}

/** The layout queue `k` records, or undefined. */
export async function readLayout(
  ctx: QueueContext,
  k: QueueKeys,
): Promise<number | undefined> {
  const v = await withRedis(ctx.client, ctx.connectTimeoutMs, () =>
    ctx.client.hget(k.meta, QueueMetaField.layout),
  );
  return v === null ? undefined : Number(v);
}

/**
 * Every sorted set a job of the queue is indexed in: each wait lane (a
 * type's name, and `<type>@<v>`), then `delayed`, `active` and the
 * queue-wide finished sets (the per-type ones hold the same ids).
 */
async function indexes(ctx: QueueContext, k: QueueKeys): Promise<string[]> {
  const [types, lanes] = await withRedis(ctx.client, ctx.connectTimeoutMs, () =>
    Promise.all([ctx.client.smembers(k.types), ctx.client.smembers(k.lanes)]),
  );
  return [
    ...[...types, ...lanes].sort().map((lane) => `${k.base}w:${lane}`),
    k.delayed,
    k.active,
    k.completed,
    k.failed,
    k.expired,
    k.cancelled,
  ];
}

/** One pass: moves (or counts) what is in the old form; returns the counts. */
async function pass(
  ctx: QueueContext,
  k: QueueKeys,
  batchSize: number,
  dryRun: boolean,
): Promise<{ payloads: number; logs: number }> {
  let payloads = 0;
  let logs = 0;
  for (const key of await indexes(ctx, k)) {
    for await (const ids of zsetPages(ctx, key, batchSize)) {
      const [p, l, found] = (await withRedis(
        ctx.client,
        ctx.connectTimeoutMs,
        () =>
          runScript(
            ctx.client,
            'migrateLayout',
            [k.meta],
            [k.base, LAYOUT_VERSION, dryRun ? '1' : '0', ...ids],
          ),
        k.meta,
      )) as [number, number, number];
      // A newer jobwire took the queue over meanwhile: this batch wrote nothing.
      if (found > LAYOUT_VERSION)
        throw new LayoutUnsupportedError(k.queue, found, LAYOUT_VERSION);
      payloads += p;
      logs += l;
    }
  }
  return { payloads, logs };
}

/**
 * Migrates one queue's layout 1 jobs into the current layout and records
 * it. Throws LayoutUnsupportedError, writing nothing, on a queue a newer
 * jobwire wrote.
 */
export async function migrateQueueLayout(
  ctx: QueueContext,
  queue: string,
  options: LayoutMigrateOptions,
): Promise<LayoutMigrateReport> {
  const batchSize = checkBatchSize(options);
  const dryRun = options.dryRun === true;
  const k = ctx.keys(queue);
  const layoutBefore = await readLayout(ctx, k);
  if (layoutBefore !== undefined && layoutBefore > LAYOUT_VERSION)
    throw new LayoutUnsupportedError(queue, layoutBefore, LAYOUT_VERSION);
  const report: LayoutMigrateReport = {
    queue,
    dryRun,
    layoutBefore,
    layout: layoutBefore,
    payloads: 0,
    logs: 0,
    passes: 0,
    complete: false,
  };
  while (report.passes < (dryRun ? 1 : MAX_PASSES)) {
    const moved = await pass(ctx, k, batchSize, dryRun);
    report.passes++;
    report.payloads += moved.payloads;
    report.logs += moved.logs;
    if (moved.payloads + moved.logs === 0) {
      report.complete = true;
      break;
    }
  }
  if (dryRun) {
    report.complete = report.payloads + report.logs === 0;
    return report;
  }
  await withRedis(
    ctx.client,
    ctx.connectTimeoutMs,
    () => checkLayout(ctx.client, k, true),
    k.meta,
  );
  report.layout = await readLayout(ctx, k);
  return report;
}

/** {@link migrateQueueLayout} for each of `queues`, in turn. */
export async function migrateLayouts(
  ctx: QueueContext,
  queues: readonly string[],
  options: LayoutMigrateOptions,
): Promise<LayoutMigrateReport[]> {
  checkBatchSize(options);
  const out: LayoutMigrateReport[] = [];
  for (const queue of queues)
    out.push(await migrateQueueLayout(ctx, queue, options));
  return out;
}

/** The layout of each of `queues`. */
export async function readLayouts(
  ctx: QueueContext,
  queues: readonly string[],
): Promise<QueueLayout[]> {
  const out: QueueLayout[] = [];
  for (const queue of queues)
    out.push({
      queue,
      layout: await readLayout(ctx, ctx.keys(queue)),
      supported: LAYOUT_VERSION,
    });
  return out;
}
