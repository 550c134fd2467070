/**
 * The soak run of issue 12 (`pnpm soak [--minutes N] [--workers N]
 * [--drain-seconds N] [--out file.json] [--keep]`): worker processes and a
 * producer against one redis-server (AOF, appendfsync always) for N
 * minutes, while
 * - a random worker is killed with SIGKILL every few seconds and respawned;
 * - Redis is killed with SIGKILL and restarted (same port and dir) every
 *   minute.
 * The producer appends every acknowledged id to a ledger, each worker
 * process every handler start and end to its own (appendFileSync). Then
 * production stops, the workers drain the queue, and the run reports:
 * acknowledged, completed, failed, lost (acknowledged but neither completed
 * nor failed: must be 0), duplicates (runs minus distinct jobs) against the
 * jobs in flight at the kills, and stuck jobs (waiting, delayed or active
 * after the drain deadline: must be 0). One summary line on stdout, the
 * figures as JSON in --out; exits 1 when lost or stuck is not 0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createQueue } from '../../src/index.ts';
import { checkInvariants } from '../faults/harness/invariants.ts';
import { killAll, spawnChild, type Child } from '../faults/harness/children.ts';
import { readLedgers } from '../faults/harness/ledger.ts';
import { startRedis } from '@jobwire/test-kit';
import { soakRegistry } from './registry.ts';
import type { SoakWorkerConfig } from './worker.ts';

interface Options {
  minutes: number;
  workers: number;
  drainSeconds: number;
  out: string;
  keep: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    minutes: 1,
    workers: 3,
    drainSeconds: 60,
    out: path.join(os.tmpdir(), `jobwire-soak-${Date.now()}.json`),
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--minutes') o.minutes = Number(value());
    else if (a === '--workers') o.workers = Number(value());
    else if (a === '--drain-seconds') o.drainSeconds = Number(value());
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--keep') o.keep = true;
    else if (a !== '--') throw new Error(`unknown argument ${a}`);
  }
  if (!(o.minutes > 0) || !(o.workers >= 1) || !(o.drainSeconds > 0))
    throw new Error(
      '--minutes, --workers and --drain-seconds must be positive',
    );
  return o;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((r) => setTimeout(r, ms));
const between = (lo: number, hi: number): number =>
  lo + Math.floor(Math.random() * (hi - lo));

const PREFIX = 'jobwire';
/** The scenario timings of RELIABILITY.md: lease 1 s, stall check 0.5 s. */
const WORKER = {
  concurrency: 8,
  leaseMs: 1000,
  stallCheckIntervalMs: 500,
  maxStalls: 3,
};

/** A worker process and the ledger it writes. */
interface Running {
  child: Child;
  ledger: string;
}

/** Job ids this ledger shows started and without a stored outcome yet. */
function inFlight(ledger: string): string[] {
  let text = '';
  try {
    text = fs.readFileSync(ledger, 'utf8');
  } catch {
    return [];
  }
  const open = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let e: { ev?: string; jobId?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue; // a torn last line
    }
    if (e.jobId === undefined) continue;
    const d =
      e.ev === 'start' ? 1 : e.ev === 'completed' || e.ev === 'failed' ? -1 : 0;
    open.set(e.jobId, (open.get(e.jobId) ?? 0) + d);
  }
  return [...open].filter(([, k]) => k > 0).map(([id]) => id);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const redis = await startRedis({
    appendonly: true,
    extraArgs: ['--appendfsync', 'always'],
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-soak-'));
  const queue = 'soak';
  const base = `${PREFIX}:{${queue}}:`;
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  const quiet = { warn: () => {}, error: () => {} };
  const q = createQueue(soakRegistry(queue), {
    connection: redis.url,
    connectTimeoutMs: 3000,
    logger: quiet,
  });
  const ackFile = path.join(dir, 'acknowledged.txt');
  fs.writeFileSync(ackFile, '');
  let generation = 0;
  const spawn = async (): Promise<Running> => {
    const ledger = path.join(dir, `worker-${generation++}.jsonl`);
    const config: SoakWorkerConfig = {
      url: redis.url,
      queue,
      ledger,
      ...WORKER,
    };
    const child = spawnChild('../../soak/worker.ts', config);
    // Generous: a worker started while Redis restarts waits for it, and
    // A process starts slowly on a loaded machine.
    await child.next<void>('ready', 60_000);
    return { child, ledger };
  };
  const workers: Running[] = [];
  for (let i = 0; i < o.workers; i++) workers.push(await spawn());

  const started = Date.now();
  const endAt = started + o.minutes * 60_000;
  const producing = () => Date.now() < endAt;
  let rejected = 0;
  let n = 0;

  const producer = (async () => {
    while (producing()) {
      try {
        const h = await q.enqueue('work', { n: n++, ms: between(0, 300) });
        fs.appendFileSync(ackFile, `${h.id}\n`);
      } catch {
        rejected++;
        await sleep(50);
      }
      await sleep(15);
    }
  })();

  const kills: { at: number; pid: number; inFlight: string[] }[] = [];
  const chaos = (async () => {
    for (;;) {
      await sleep(between(3000, 8000));
      if (!producing()) return;
      const i = between(0, workers.length);
      const w = workers[i]!;
      // Read before the kill: what the process had started and not stored.
      const flying = inFlight(w.ledger);
      await w.child.kill9();
      kills.push({
        at: Date.now() - started,
        pid: w.child.pid,
        inFlight: flying,
      });
      await sleep(500);
      workers[i] = await spawn();
    }
  })();

  let restarts = 0;
  const restarter = (async () => {
    for (let k = 1; ; k++) {
      const at = started + k * 60_000;
      if (at >= endAt) return;
      await sleep(at - Date.now());
      await redis.restart();
      restarts++;
    }
  })();

  await Promise.all([producer, chaos, restarter]);

  // Drain: nothing new comes; the workers finish what is left.
  const leftover = async (): Promise<number> => {
    const [w, a, d] = await Promise.all([
      admin.zcard(`${base}w:work`),
      admin.zcard(`${base}active`),
      admin.zcard(`${base}delayed`),
    ]);
    return w + a + d;
  };
  const drainBy = Date.now() + o.drainSeconds * 1000;
  let stuck = await leftover().catch(() => -1);
  while (stuck !== 0 && Date.now() < drainBy) {
    await sleep(250);
    stuck = await leftover().catch(() => -1);
  }
  const drainMs = Date.now() - (drainBy - o.drainSeconds * 1000);
  await killAll();

  const acked = fs
    .readFileSync(ackFile, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const states = new Map<string, string | null>();
  for (let i = 0; i < acked.length; i += 500) {
    const slice = acked.slice(i, i + 500);
    const pipe = admin.pipeline();
    for (const id of slice) pipe.hget(`${base}j:${id}`, 's');
    const res = (await pipe.exec()) ?? [];
    slice.forEach((id, k) =>
      states.set(id, (res[k]?.[1] as string | null) ?? null),
    );
  }
  const lost = acked.filter((id) => !['c', 'f'].includes(states.get(id) ?? ''));
  const entries = readLedgers(dir);
  const runsPerJob = new Map<string, number>();
  for (const e of entries)
    if (e.ev === 'start' && e.jobId !== undefined)
      runsPerJob.set(e.jobId, (runsPerJob.get(e.jobId) ?? 0) + 1);
  const runs = [...runsPerJob.values()].reduce((s, k) => s + k, 0);
  const flyingAtKills = new Set(kills.flatMap((k) => k.inFlight));
  const repeated = [...runsPerJob].filter(([, k]) => k > 1).map(([id]) => id);
  const violations = await checkInvariants(redis.url, PREFIX, queue);

  const report = {
    minutes: o.minutes,
    workers: o.workers,
    workerSettings: WORKER,
    kills: kills.length,
    redisRestarts: restarts,
    acknowledged: acked.length,
    rejectedEnqueues: rejected,
    completed: acked.filter((id) => states.get(id) === 'c').length,
    failed: acked.filter((id) => states.get(id) === 'f').length,
    lost: lost.length,
    lostIds: lost.slice(0, 50),
    runs,
    distinctJobsRun: runsPerJob.size,
    duplicates: runs - runsPerJob.size,
    inFlightAtKills: kills.reduce((s, k) => s + k.inFlight.length, 0),
    /** Jobs run more than once that were not in flight at any kill. */
    duplicatesNotInFlightAtKills: repeated.filter(
      (id) => !flyingAtKills.has(id),
    ).length,
    stuck,
    drainMs,
    invariantViolations: violations.slice(0, 20),
    killLog: kills.map((k) => ({
      at: k.at,
      pid: k.pid,
      inFlight: k.inFlight.length,
    })),
    ledgerDir: o.keep ? dir : undefined,
  };
  fs.writeFileSync(o.out, `${JSON.stringify(report, null, 2)}\n`);
  const ok = report.lost === 0 && report.stuck === 0;
  console.log(
    `soak ${ok ? 'ok' : 'FAILED'}: ${o.minutes} min, ${o.workers} workers, ${report.kills} kills, ${restarts} Redis restarts: ` +
      `acknowledged ${report.acknowledged}, completed ${report.completed}, failed ${report.failed}, ` +
      `lost ${report.lost}, stuck ${stuck}, runs ${runs}, duplicates ${report.duplicates} ` +
      `(in flight at kills ${report.inFlightAtKills}, repeated jobs not in flight at a kill ${report.duplicatesNotInFlightAtKills}), ` +
      `rejected enqueues ${rejected}, invariants ${violations.length === 0 ? 'ok' : `${violations.length} violations`} -> ${o.out}`,
  );
  await q.close();
  admin.disconnect();
  await redis.stop();
  if (!o.keep) fs.rmSync(dir, { recursive: true, force: true });
  process.exitCode = ok ? 0 : 1;
}

main().catch(async (err: unknown) => {
  console.error(`soak failed to run: ${(err as Error).stack ?? String(err)}`);
  await killAll().catch(() => {});
  process.exit(2);
});
