/**
 * `pnpm --filter @jobwire/bench profile [scenario] [jobs]`: runs one jobwire
 * scenario on a private redis-server under the V8 CPU profiler and prints
 * where this process's time goes (self time per function, idle and GC
 * included), plus Redis's CPU and per-command time per job. The `.cpuprofile`
 * is written to bench/results/ for Chrome DevTools.
 *
 * Scenarios: process_c1, process_c10, process_c100, enqueue_seq,
 * enqueue_concurrent, enqueue_bulk, latency (1,000 jobs/s, concurrency 10,
 * as in the bench).
 */
import { writeFileSync } from 'node:fs';
import { Session, type Profiler } from 'node:inspector/promises';
import path from 'node:path';
import { startRedis } from './redis.ts';
import { createJobwire } from './systems/jobwire.ts';

const scenario = process.argv[2] ?? 'process_c100';
const jobs = Number(process.argv[3] ?? 50_000);
const known = [
  'process_c1',
  'process_c10',
  'process_c100',
  'enqueue_seq',
  'enqueue_concurrent',
  'enqueue_bulk',
  'latency',
];
if (!known.includes(scenario) || !Number.isInteger(jobs) || jobs < 1) {
  console.error(`usage: profile [${known.join('|')}] [jobs]`);
  process.exit(2);
}

const redis = await startRedis();
const processing = scenario.startsWith('process') || scenario === 'latency';
const adapter = createJobwire({
  host: redis.host,
  port: redis.port,
  removeCompleted: processing,
});
const session = new Session();
session.connect();
try {
  await adapter.warmUp();
  let run: () => Promise<void>;
  if (scenario === 'latency') {
    run = async () => {
      const r = await adapter.latency(jobs, 1000, 10);
      const sorted = [...r.pickup].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.floor(sorted.length * q)] ?? NaN;
      console.log(
        `pickup p50 ${at(0.5).toFixed(2)} ms, p99 ${at(0.99).toFixed(2)} ms`,
      );
    };
  } else if (processing) {
    await adapter.fill(jobs);
    const w = await adapter.worker(Number(scenario.slice(9)), jobs);
    run = async () => {
      w.start();
      await w.finished;
      await w.close();
    };
  } else if (scenario === 'enqueue_seq') {
    run = () => adapter.enqueueSeq(jobs);
  } else if (scenario === 'enqueue_concurrent') {
    run = () => adapter.enqueueConcurrent(jobs, 1000);
  } else {
    run = () => adapter.enqueueBulk(jobs, 1000);
  }
  await redis.admin.config('RESETSTAT');
  const before = await redis.snapshot();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  const started = performance.now();
  const cpu = process.cpuUsage();
  await run();
  const used = process.cpuUsage(cpu);
  const ms = performance.now() - started;
  const { profile } = await session.post('Profiler.stop');
  const after = await redis.snapshot();

  console.log(
    `${scenario}: ${jobs} jobs, ${Math.round((jobs / ms) * 1000)} jobs/s; ` +
      `Node CPU ${((used.user + used.system) / jobs).toFixed(1)} µs/job ` +
      `(system ${(used.system / jobs).toFixed(1)}), ` +
      `Redis CPU ${((after.cpuUs - before.cpuUs) / jobs).toFixed(1)} µs/job`,
  );
  console.log('\nNode, self time by function:');
  for (const [name, share] of topFunctions(profile, 25))
    console.log(`  ${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
  console.log(
    '\nRedis, per job (calls, µs; commands run by scripts included):',
  );
  const stats = await redis.admin.info('commandstats');
  for (const m of stats.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+)/g)) {
    const calls = Number(m[2]) / jobs;
    if (calls < 0.001) continue;
    console.log(
      `  ${m[1]!.padEnd(10)} ${calls.toFixed(3).padStart(7)} calls  ${(Number(m[3]) / jobs).toFixed(2).padStart(6)} µs`,
    );
  }
  const file = path.join(
    path.dirname(new URL(import.meta.url).pathname),
    '..',
    'results',
    `${scenario}.cpuprofile`,
  );
  writeFileSync(file, JSON.stringify(profile));
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
} finally {
  session.disconnect();
  await adapter.close();
  await redis.stop();
}

/** Self time per function (name and file), as shares of all samples. */
function topFunctions(
  profile: Profiler.Profile,
  count: number,
): [string, number][] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  (profile.samples ?? []).forEach((id, i) => {
    const node = nodes.get(id);
    const dt = deltas[i] ?? 0;
    if (!node) return;
    const f = node.callFrame;
    const where = f.url ? ` ${f.url.split('/').slice(-2).join('/')}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([k, t]) => [k, total > 0 ? t / total : 0]);
}
