/**
 * The rolling deploy of issue 14, run with separate processes on a real
 * redis-server, shared by `issue-14-rolling-deploy.test.ts` and the fault
 * scenario S25:
 *
 *   1. a v1 producer and a v1 worker run under load;
 *   2. a v2 worker starts;  3. a v2 producer starts;
 *   4. the v1 worker stops; 5. the v1 producer stops;
 *   6. v3 (a second upcaster) follows the same way: 6a worker, 6b producer,
 *      6c the v2 worker stops, 6d the v2 producer stops.
 *
 * Each step is followed by `phaseMs` of steady load. Then the last producer
 * stops, the held jobs (every `holdEvery`-th enqueue, delayed an hour) are
 * promoted so that the v3 worker reads jobs of every version, and the run
 * waits until every acknowledged job is finished. `analyse` turns the
 * ledgers and Redis into figures and violations.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { createQueue } from '../../../src/index.ts';
import { JobField } from '../../../src/redis/job-fields.ts';
import { queueKeys } from '../../../src/redis/keys.ts';
import { spawnChild } from '../../faults/harness/children.ts';
import type { Child } from '../../faults/harness/children.ts';
import * as v1 from './contract-v1.ts';
import * as v2 from './contract-v2.ts';
import * as v3 from './contract-v3.ts';
import { readLines } from './ledger.ts';
import type { AckEntry, WorkerEntry } from './ledger.ts';
import type { ProducerDone, RollingProducerConfig } from './producer.ts';
import type { RollingWorkerConfig } from './worker.ts';

/** Where the children live, relative to faults/harness (spawnChild's base). */
const HERE_FROM_HARNESS = '../../processes/rolling-deploy';

export type Version = 1 | 2 | 3;

export const STEPS = [
  '1 v1 worker and v1 producer',
  '2 v2 worker starts',
  '3 v2 producer starts',
  '4 v1 worker stops',
  '5 v1 producer stops',
  '6a v3 worker starts',
  '6b v3 producer starts',
  '6c v2 worker stops',
  '6d v2 producer stops',
] as const;
export type Step = (typeof STEPS)[number];

export interface DeployConfig {
  url: string;
  queue: string;
  /** Ledgers and ack files go here. */
  dir: string;
  phaseMs: number;
  /** Enqueues per second of each producer. */
  ratePerSec: number;
  holdEvery: number;
  /** The producers' commandTimeoutMs (default 5000). */
  producerCommandTimeoutMs?: number;
  worker: Omit<RollingWorkerConfig, 'url' | 'queue' | 'version' | 'ledger'>;
  /** Longest wait for every acknowledged job to finish at the end. */
  drainTimeoutMs: number;
  /** Runs beside the phase that follows `step` (a fault scenario's faults). */
  during?: (step: Step, deploy: Deploy) => Promise<void>;
}

/** The processes of one deploy, by name (`w1`, `p2`, ...). */
export class Deploy {
  readonly workers = new Map<string, { child: Child; version: Version }>();
  readonly producers = new Map<string, Child>();
  readonly producerDone: ProducerDone[] = [];
  /** Exit codes of the workers stopped with SIGTERM. */
  readonly stopCodes: { name: string; code: number | null }[] = [];
  readonly killed: string[] = [];
  /** Starts per name: a restarted worker's ledger is `<name>r<k>`. */
  private starts = new Map<string, number>();

  constructor(private readonly cfg: DeployConfig) {}

  async startWorker(name: string, version: Version): Promise<Child> {
    const config: RollingWorkerConfig = {
      url: this.cfg.url,
      queue: this.cfg.queue,
      version,
      ledger: path.join(this.cfg.dir, `${this.label(name)}.worker.jsonl`),
      ...this.cfg.worker,
    };
    const child = spawnChild(`${HERE_FROM_HARNESS}/worker.ts`, config);
    this.workers.set(name, { child, version });
    await child.ready;
    return child;
  }

  private label(name: string): string {
    const k = this.starts.get(name) ?? 0;
    this.starts.set(name, k + 1);
    return k === 0 ? name : `${name}r${k}`;
  }

  /** SIGTERM: the worker finishes what it runs and exits 0. */
  async stopWorker(name: string): Promise<void> {
    const w = this.workers.get(name);
    if (w === undefined) throw new Error(`no worker ${name}`);
    w.child.signal('SIGTERM');
    const { code } = await w.child.exited;
    this.stopCodes.push({ name, code });
    this.workers.delete(name);
  }

  async kill9Worker(name: string): Promise<void> {
    const w = this.workers.get(name);
    if (w === undefined) throw new Error(`no worker ${name}`);
    await w.child.kill9();
    this.killed.push(name);
    this.workers.delete(name);
  }

  async startProducer(name: string, version: Version, tag: number) {
    const config: RollingProducerConfig = {
      url: this.cfg.url,
      queue: this.cfg.queue,
      version,
      ackFile: path.join(this.cfg.dir, `${name}.acks.jsonl`),
      tag,
      ratePerSec: this.cfg.ratePerSec,
      inFlight: 20,
      holdEvery: this.cfg.holdEvery,
      commandTimeoutMs: this.cfg.producerCommandTimeoutMs,
    };
    const child = spawnChild(`${HERE_FROM_HARNESS}/producer.ts`, config);
    this.producers.set(name, child);
    await child.ready;
  }

  async stopProducer(name: string): Promise<void> {
    const p = this.producers.get(name);
    if (p === undefined) throw new Error(`no producer ${name}`);
    const done = p.next<ProducerDone>('done', 60_000);
    p.send({ cmd: 'stop' });
    this.producerDone.push(await done);
    await p.exited;
    this.producers.delete(name);
  }

  /** The runs the workers ran so far (all ledgers), with their file names. */
  runs(): (Extract<WorkerEntry, { ev: 'run' }> & { worker: string })[] {
    return this.entries().flatMap((e) => (e.ev === 'run' ? [e] : []));
  }

  /** Every worker ledger entry, tagged with the worker's name. */
  entries(): (WorkerEntry & { worker: string })[] {
    const out: (WorkerEntry & { worker: string })[] = [];
    for (const f of fs.readdirSync(this.cfg.dir)) {
      if (!f.endsWith('.worker.jsonl')) continue;
      const worker = f.slice(0, -'.worker.jsonl'.length);
      for (const e of readLines<WorkerEntry>(path.join(this.cfg.dir, f)))
        out.push({ ...e, worker });
    }
    return out;
  }

  acks(): AckEntry[] {
    return fs
      .readdirSync(this.cfg.dir)
      .filter((f) => f.endsWith('.acks.jsonl'))
      .flatMap((f) => readLines<AckEntry>(path.join(this.cfg.dir, f)));
  }
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));

export interface DeployRun {
  deploy: Deploy;
  durationMs: number;
  /**
   * When each step was done, ms from the start, and how many jobs waited
   * (counts hash, all versions) when its phase ended: a backlog shows here.
   */
  timeline: { step: string; atMs: number; waitingAfter?: number }[];
  /** Time from the end of step 6d until every acknowledged job finished. */
  drainMs: number;
  promotedHeld: number;
}

/** Runs the six steps under load, then drains; see the module comment. */
export async function runRollingDeploy(cfg: DeployConfig): Promise<DeployRun> {
  const d = new Deploy(cfg);
  const t0 = Date.now();
  const timeline: DeployRun['timeline'] = [];
  const k = queueKeys('jobwire', cfg.queue);
  const admin = new Redis(cfg.url, { maxRetriesPerRequest: 3 });
  admin.on('error', () => {});
  // -1: Redis was down at that moment (S25).
  const waiting = () =>
    admin.hget(k.counts, 'thumbnail|w').then(
      (n) => Number(n ?? 0),
      () => -1,
    );
  const actions: Record<Step, () => Promise<unknown>> = {
    '1 v1 worker and v1 producer': () =>
      Promise.all([d.startWorker('w1', 1), d.startProducer('p1', 1, 1)]),
    '2 v2 worker starts': () => d.startWorker('w2', 2),
    '3 v2 producer starts': () => d.startProducer('p2', 2, 2),
    '4 v1 worker stops': () => d.stopWorker('w1'),
    '5 v1 producer stops': () => d.stopProducer('p1'),
    '6a v3 worker starts': () => d.startWorker('w3', 3),
    '6b v3 producer starts': () => d.startProducer('p3', 3, 3),
    '6c v2 worker stops': () => d.stopWorker('w2'),
    '6d v2 producer stops': () => d.stopProducer('p2'),
  };
  for (const step of STEPS) {
    await actions[step]();
    const entry: DeployRun['timeline'][number] = {
      step,
      atMs: Date.now() - t0,
    };
    timeline.push(entry);
    await Promise.all([sleep(cfg.phaseMs), cfg.during?.(step, d)]);
    entry.waitingAfter = await waiting();
  }
  await d.stopProducer('p3');
  timeline.push({ step: 'p3 stops', atMs: Date.now() - t0 });
  const drainStart = Date.now();
  const queue = createQueue(v3.rollingJobs(cfg.queue), {
    connection: cfg.url,
    logger: { warn: () => {}, error: () => {} },
  });
  let promotedHeld = 0;
  try {
    for (const a of d.acks().filter((x) => x.held)) {
      await queue.promote(a.id);
      promotedHeld++;
    }
    const ids = [...new Set(d.acks().map((a) => a.id))];
    const by = Date.now() + cfg.drainTimeoutMs;
    for (;;) {
      const pipe = admin.pipeline();
      for (const id of ids) pipe.hget(k.job(id), JobField.state);
      const states = (await pipe.exec())!.map(([, s]) => s as string | null);
      if (states.every((s) => s === 'c' || s === 'f')) break;
      if (Date.now() > by) break;
      await sleep(200);
    }
  } finally {
    await queue.close();
    admin.disconnect();
  }
  const drainMs = Date.now() - drainStart;
  timeline.push({ step: 'drained', atMs: Date.now() - t0 });
  await d.stopWorker('w3');
  return {
    deploy: d,
    durationMs: Date.now() - t0,
    timeline,
    drainMs,
    promotedHeld,
  };
}

const views: Record<Version, (n: number) => unknown> = {
  1: v1.view,
  2: v2.view,
  3: v3.view,
};

export interface DeployFigures {
  /** Acknowledged enqueues per producer version, e.g. `{ 1: 800, ... }`. */
  producedPerVersion: Record<number, number>;
  rejectedEnqueues: Record<string, number>;
  acked: number;
  heldPromoted: number;
  completed: number;
  /** Completed jobs by the version they were stored at. */
  completedPerVersion: Record<number, number>;
  failed: number;
  /** Handler calls per worker, and per worker by stored version. */
  perWorker: Record<string, number>;
  perWorkerByStored: Record<string, Record<number, number>>;
  /** Handler calls that read an older job, as `stored->known`. */
  upcasts: Record<string, number>;
  /** Upcaster steps run (a 1->3 read is two). */
  upcastSteps: number;
  /** `deferred` events in the worker ledgers (why = newer-version). */
  handBacks: number;
  /** Sum of the jobs' `nv` fields (hand-backs as Redis counted them). */
  nvTotal: number;
  jobsHandedBack: number;
  invocations: number;
  duplicates: number;
  stallEvents: number;
  durationMs: number;
  drainMs: number;
}

export interface DeployVerdict {
  figures: DeployFigures;
  /** Acknowledged ids not completed (failed ones included). */
  notCompleted: string[];
  /** Acknowledged ids with no handler call, or more than one. */
  notExactlyOnce: { id: string; runs: number }[];
  /** Handler calls of a job stored at a version above the worker's. */
  tooNew: { id: string; worker: string; stored: number; known: number }[];
  /** Handler calls whose data is not its version's view of the job. */
  wrongView: { id: string; worker: string; known: number; data: unknown }[];
  /** Handler calls whose stored version is not the acking producer's. */
  wrongStored: { id: string; stored: number; producer: number }[];
  /** `failed` events from the workers (validation, upcast, stall limit...). */
  failures: { id: string; code: string; message: string }[];
  /** Handler calls of ids no producer acknowledged (a lost enqueue reply). */
  unacknowledgedRuns: number;
}

/** Figures and violations of a finished deploy, from ledgers and Redis. */
export async function analyse(
  run: DeployRun,
  url: string,
  queueName: string,
): Promise<DeployVerdict> {
  const d = run.deploy;
  const acks = d.acks();
  const ackedBy = new Map(acks.map((a) => [a.id, a]));
  const entries = d.entries();
  const runs = entries.flatMap((e) => (e.ev === 'run' ? [e] : []));
  const k = queueKeys('jobwire', queueName);
  const admin = new Redis(url, { maxRetriesPerRequest: 3 });
  admin.on('error', () => {});
  let hashes: {
    state: string | null;
    version: string | null;
    nv: string | null;
  }[];
  let failedIds: string[];
  try {
    const pipe = admin.pipeline();
    for (const a of acks)
      pipe.hmget(
        k.job(a.id),
        JobField.state,
        JobField.version,
        JobField.newerVersionDeferrals,
      );
    hashes = (await pipe.exec())!.map(([, r]) => {
      const [state, version, nv] = r as (string | null)[];
      return { state: state ?? null, version: version ?? null, nv: nv ?? null };
    });
    failedIds = await admin.zrange(k.failed, '0', '-1');
  } finally {
    admin.disconnect();
  }
  const count = (xs: (string | number)[]) => {
    const out: Record<string, number> = {};
    for (const x of xs) out[x] = (out[x] ?? 0) + 1;
    return out;
  };
  const runsPerId = new Map<string, number>();
  for (const r of runs) runsPerId.set(r.id, (runsPerId.get(r.id) ?? 0) + 1);
  const perWorkerByStored: Record<string, Record<number, number>> = {};
  for (const r of runs) {
    const w = (perWorkerByStored[r.worker] ??= {});
    w[r.stored] = (w[r.stored] ?? 0) + 1;
  }
  const older = runs.filter((r) => r.stored < r.known);
  const rejected: Record<string, number> = {};
  for (const p of d.producerDone)
    for (const [name, n] of Object.entries(p.rejected))
      rejected[name] = (rejected[name] ?? 0) + n;
  const figures: DeployFigures = {
    producedPerVersion: count(acks.map((a) => a.v)),
    rejectedEnqueues: rejected,
    acked: acks.length,
    heldPromoted: run.promotedHeld,
    completed: hashes.filter((h) => h.state === 'c').length,
    completedPerVersion: count(
      hashes.flatMap((h) => (h.state === 'c' ? [h.version ?? '?'] : [])),
    ),
    failed: failedIds.length,
    perWorker: count(runs.map((r) => r.worker)),
    perWorkerByStored,
    upcasts: count(older.map((r) => `${r.stored}->${r.known}`)),
    upcastSteps: older.reduce((s, r) => s + r.known - r.stored, 0),
    handBacks: entries.filter((e) => e.ev === 'deferred').length,
    nvTotal: hashes.reduce((s, h) => s + Number(h.nv ?? 0), 0),
    jobsHandedBack: hashes.filter((h) => h.nv !== null).length,
    invocations: runs.length,
    duplicates: runs.length - runsPerId.size,
    stallEvents: entries.reduce(
      (s, e) => s + (e.ev === 'stalled' ? e.requeued + e.failed : 0),
      0,
    ),
    durationMs: run.durationMs,
    drainMs: run.drainMs,
  };
  return {
    figures,
    notCompleted: acks
      .filter((_, i) => hashes[i]!.state !== 'c')
      .map((a) => a.id),
    notExactlyOnce: acks
      .map((a) => ({ id: a.id, runs: runsPerId.get(a.id) ?? 0 }))
      .filter((x) => x.runs !== 1),
    tooNew: runs
      .filter((r) => r.stored > r.known)
      .map((r) => ({
        id: r.id,
        worker: r.worker,
        stored: r.stored,
        known: r.known,
      })),
    wrongView: runs
      .filter((r) => !isDeepStrictEqual(r.data, views[r.known as Version](r.n)))
      .map((r) => ({
        id: r.id,
        worker: r.worker,
        known: r.known,
        data: r.data,
      })),
    wrongStored: runs.flatMap((r) => {
      const a = ackedBy.get(r.id);
      return a !== undefined && a.v !== r.stored
        ? [{ id: r.id, stored: r.stored, producer: a.v }]
        : [];
    }),
    failures: entries.flatMap((e) =>
      e.ev === 'failed' ? [{ id: e.id, code: e.code, message: e.message }] : [],
    ),
    unacknowledgedRuns: runs.filter((r) => !ackedBy.has(r.id)).length,
  };
}

/** One line of figures, as the fault suite prints them. */
export function figureLine(f: DeployFigures): Record<string, string | number> {
  const kv = (r: Record<string | number, number>) =>
    Object.entries(r)
      .map(([key, v]) => `${key}:${v}`)
      .join(',') || '0';
  return {
    produced: kv(f.producedPerVersion),
    acked: f.acked,
    held: f.heldPromoted,
    completed: f.completed,
    completedByVersion: kv(f.completedPerVersion),
    failed: f.failed,
    perWorker: kv(f.perWorker),
    upcasts: kv(f.upcasts),
    upcastSteps: f.upcastSteps,
    handBacks: f.handBacks,
    nv: f.nvTotal,
    dup: f.duplicates,
    stalls: f.stallEvents,
    rejected: kv(f.rejectedEnqueues),
    drainMs: f.drainMs,
    durationMs: f.durationMs,
  };
}
