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
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createJobwire } from './systems/jobwire.ts';

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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-callgrind-'));
const port = await freePort();
const server = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    // Set-up (warm-up, fill) runs uninstrumented, several times faster.
    '--instr-atstart=no',
    `--callgrind-out-file=${dir}/callgrind.out`,
    'redis-server',
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ],
  { stdio: 'ignore' },
);
process.once('exit', () => server.kill('SIGKILL'));

const control = (...flags: string[]): void => {
  execFileSync('callgrind_control', [...flags, String(server.pid)], {
    stdio: 'ignore',
  });
};

// valgrind starts Redis in seconds, not milliseconds.
for (let i = 0; ; i++) {
  const probe = new Redis({
    port,
    lazyConnect: true,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    probe.disconnect();
    break;
  } catch {
    probe.disconnect();
    if (i > 300) throw new Error('redis-server under valgrind did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

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
control('--instr=on');
control('-z');
await phase();
control('-d');
await adapter.close();
server.kill('SIGKILL');

const dump = fs
  .readdirSync(dir)
  .filter((f) => f.startsWith('callgrind.out'))
  .map((f) => path.join(dir, f))
  .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
if (dump === undefined) throw new Error('callgrind wrote no dump');
const report = execFileSync(
  'callgrind_annotate',
  ['--inclusive=yes', '--threshold=100', '--auto=no', dump],
  { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
);
const count = (line: string): number =>
  Number(line.trim().split(/\s+/)[0]!.replace(/,/g, ''));
const total = count(
  report.split('\n').find((l) => l.includes('PROGRAM TOTALS')) ?? '0',
);
console.log(
  `${scenario}: ${jobs} jobs, ${Math.round(total / jobs).toLocaleString('en-US')} Redis instructions per job`,
);
for (const name of NAMED) {
  const line = report
    .split('\n')
    .find((l) => new RegExp(`[:?]${name} \\[`).test(l));
  if (line === undefined) continue;
  const n = count(line);
  console.log(
    `  ${name.padEnd(20)} ${Math.round(n / jobs)
      .toLocaleString('en-US')
      .padStart(9)} per job  ${((100 * n) / total).toFixed(1).padStart(5)}%`,
  );
}
if (process.env.KEEP_CALLGRIND) console.log(`kept ${dump}`);
else fs.rmSync(dir, { recursive: true, force: true });
