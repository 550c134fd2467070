/**
 * `pnpm --filter @jobwire/bench callgrind [scenario] [jobs]`: Redis's
 * instructions per job in one jobwire scenario, counted by valgrind's
 * callgrind on a private redis-server. Unlike CPU time, an instruction
 * count does not move with the machine's load, so it shows what a change
 * to a script saves even beside other work (it leaves out cache misses).
 *
 * Only the measured phase is counted: the counters are zeroed after the
 * warm-up and the fill, and dumped when the phase ends. Prints the total
 * per job and the inclusive share of the Redis functions that tell where
 * it goes (the Lua VM's own functions are static, unnamed in Debian's
 * binary). Needs valgrind (`apt-get install -y valgrind`).
 *
 * Scenarios: enqueue_seq, enqueue_concurrent, enqueue_bulk, process_c1,
 * process_c10, process_c100, types50 (process_c100 with 50 job types).
 */
import { createJobwire } from './systems/jobwire.ts';
import {
  annotate,
  countOf,
  startCallgrindRedis,
  totalOf,
} from './callgrind-redis.ts';

const SCENARIOS = [
  'enqueue_seq',
  'enqueue_concurrent',
  'enqueue_bulk',
  'process_c1',
  'process_c10',
  'process_c100',
  'types50',
] as const;
type Scenario = (typeof SCENARIOS)[number];

/** Redis functions worth naming in the breakdown (inclusive counts). */
const NAMED = [
  'luaCallFunction',
  'scriptCall',
  'hmgetCommand',
  'lpFind',
  'parseReply',
  'hsetCommand',
  'xaddCommand',
  'zaddCommand',
  'delCommand',
  'getCommand',
  '__printf_fp',
  'readQueryFromClient',
  'writeToClient',
];

const scenario = (process.argv[2] ?? 'process_c100') as Scenario;
const jobs = Number(process.argv[3] ?? 5000);
if (!SCENARIOS.includes(scenario) || !Number.isInteger(jobs) || jobs < 1) {
  console.error(`usage: callgrind [${SCENARIOS.join('|')}] [jobs]`);
  process.exit(2);
}

const server = await startCallgrindRedis();
const port = server.port;

const processing = scenario.startsWith('process') || scenario === 'types50';
const adapter = createJobwire({
  host: '127.0.0.1',
  port,
  removeCompleted: processing,
  types: scenario === 'types50' ? 50 : 1,
});
await adapter.warmUp();
let phase: () => Promise<void>;
if (processing) {
  // A worker's scripts load on their first call (NOSCRIPT, then EVAL):
  // a warm-up batch keeps their compiling out of the measured phase.
  await adapter.fill(100);
  const warm = await adapter.worker(100, 100);
  warm.start();
  await warm.finished;
  await warm.close();
  await adapter.fill(jobs);
  const conc = scenario === 'types50' ? 100 : Number(scenario.slice(9));
  const w = await adapter.worker(conc, jobs);
  phase = async () => {
    w.start();
    await w.finished;
  };
} else if (scenario === 'enqueue_seq') {
  phase = () => adapter.enqueueSeq(jobs);
} else if (scenario === 'enqueue_concurrent') {
  phase = () => adapter.enqueueConcurrent(jobs, 1000);
} else {
  phase = () => adapter.enqueueBulk(jobs, 1000);
}
const dump = await server.measure(phase);
await adapter.close();
const report = annotate(dump);
const total = totalOf(report);
console.log(
  `${scenario}: ${jobs} jobs, ${Math.round(total / jobs).toLocaleString('en-US')} Redis instructions per job`,
);
for (const name of NAMED) {
  const line = report
    .split('\n')
    .find((l) => new RegExp(`[:?]${name} \\[`).test(l));
  if (line === undefined) continue;
  const n = countOf(line);
  console.log(
    `  ${name.padEnd(20)} ${Math.round(n / jobs)
      .toLocaleString('en-US')
      .padStart(9)} per job  ${((100 * n) / total).toFixed(1).padStart(5)}%`,
  );
}
const keep = Boolean(process.env.KEEP_CALLGRIND);
server.stop(keep);
if (keep) console.log(`kept ${dump}`);
