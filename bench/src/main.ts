/**
 * `pnpm bench [--quick] [--scenario a,b] [--runs n]`
 *
 * Runs jobwire, BullMQ and Bee-Queue through the same scenarios on one
 * private redis-server (persistence off), FLUSHDB between runs, systems in
 * rotating order, and prints medians with min–max plus jobwire's ratios.
 * Results go to bench/results/latest.json, latest.md and a dated copy (a
 * full run of every scenario), subset.json and subset.md (`--scenario`) or
 * quick.json (`--quick`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { diff, startRedis, type PrivateRedis } from './redis.ts';
import {
  fmt,
  markdownTable,
  max,
  median,
  min,
  percentile,
  round,
} from './stats.ts';
import { runEvents, runMixed, type MixedOptions } from './steady.ts';
import { targetCells } from './targets.ts';
import { beequeueVersion, createBeeQueue } from './systems/beequeue.ts';
import { bullmqVersion, createBullmq } from './systems/bullmq.ts';
import { createJobwire, jobwireVersion } from './systems/jobwire.ts';
import {
  FLOW_VARIANTS,
  PAYLOAD_10K_BYTES,
  PAYLOAD_BYTES,
  systemLabels,
  type AdapterOptions,
  type FlowVariant,
  type SystemAdapter,
  type SystemName,
} from './systems/types.ts';

// ----- options -----

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    scenario: { type: 'string', multiple: true },
    runs: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (args.help) {
  console.log(`usage: pnpm bench [--quick] [--scenario name[,name]] [--runs n]

  --quick      smoke run: 1 run, small sizes (under a minute)
  --scenario   run only these scenarios (a prefix selects a group: "process"):
               enqueue_seq, enqueue_concurrent, enqueue_bulk, process_c1,
               process_c10, process_c100, latency, memory, backlog,
               validation, mixed, types50, payload_10k, events, flow
  --runs       runs per system and scenario (default 3, quick 1)`);
  process.exit(0);
}

const quick = args.quick === true;
const sizes = quick
  ? {
      jobs: 2000,
      inFlight: 1000,
      chunk: 1000,
      latencyJobs: 300,
      memoryJobs: 2000,
      backlogSmall: 2000,
      backlogLarge: 20_000,
      runTimeoutMs: 30_000,
      backlogTimeoutMs: 30_000,
      typesJobs: 1000,
      payload10kJobs: 500,
      eventsJobs: 500,
      flowJobs: 1000,
    }
  : {
      jobs: 20_000,
      inFlight: 1000,
      chunk: 1000,
      latencyJobs: 2000,
      memoryJobs: 20_000,
      backlogSmall: 10_000,
      backlogLarge: 1_000_000,
      runTimeoutMs: 180_000,
      backlogTimeoutMs: 600_000,
      typesJobs: 20_000,
      payload10kJobs: 10_000,
      eventsJobs: 10_000,
      flowJobs: 20_000,
    };
const LATENCY_RATE = 1000;
const LATENCY_CONCURRENCY = 10;
const BACKLOG_CONCURRENCY = 100;
const VALIDATION_CONCURRENCY = 100;
/** Worker concurrency of types50, payload_10k, mixed and events. */
const STEADY_CONCURRENCY = 100;
/** Producers each awaiting its job's completion in `events`. */
const EVENTS_IN_FLIGHT = 100;
const TYPES = 50;
const mixedOptions: MixedOptions = quick
  ? {
      stepMs: 300,
      start: 500,
      factor: 2,
      refinements: 0,
      max: 2000,
      concurrency: STEADY_CONCURRENCY,
      drainTimeoutMs: 20_000,
    }
  : {
      stepMs: 2000,
      start: 2000,
      factor: 1.5,
      refinements: 2,
      max: 200_000,
      concurrency: STEADY_CONCURRENCY,
      drainTimeoutMs: 60_000,
    };
const runs = Number(args.runs ?? (quick ? 1 : 3));
if (!Number.isInteger(runs) || runs < 1) {
  console.error('--runs must be a positive integer');
  process.exit(2);
}

const ALL: SystemName[] = ['jobwire', 'bullmq', 'beequeue'];
const factories: Record<SystemName, (o: AdapterOptions) => SystemAdapter> = {
  jobwire: createJobwire,
  bullmq: createBullmq,
  beequeue: createBeeQueue,
};

// ----- measurement -----

/** One measured value of one run. */
interface Sample {
  scenario: string;
  unit: string;
  value: number;
}

/** Per scenario and system: commands per job, from the latest run. */
const breakdown: Record<string, Record<string, Record<string, number>>> = {};

interface Ctx {
  system: SystemName;
  redis: PrivateRedis;
  adapter: (o: Omit<AdapterOptions, 'host' | 'port'>) => SystemAdapter;
}

/**
 * Measures `fn` processing `jobs` jobs: throughput, Node CPU (this process),
 * Redis CPU and commands per job.
 */
async function measure(
  ctx: Ctx,
  scenario: string,
  jobs: number,
  fn: () => Promise<void>,
  throughput = true,
): Promise<Sample[]> {
  const redis = ctx.redis;
  const before = await redis.snapshot();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const d = diff(before, await redis.snapshot());
  const perJob: Record<string, number> = {};
  for (const [cmd, calls] of [...d.byCommand].sort((x, y) => y[1] - x[1])) {
    perJob[cmd] = round(calls / jobs);
  }
  (breakdown[scenario] ??= {})[ctx.system] = perJob;
  const out: Sample[] = [];
  if (throughput)
    out.push({ scenario, unit: 'jobs/s', value: (jobs * 1000) / ms });
  out.push(
    {
      scenario: `${scenario}:node_cpu`,
      unit: 'µs/job',
      value: (cpu.user + cpu.system) / jobs,
    },
    {
      scenario: `${scenario}:redis_cpu`,
      unit: 'µs/job',
      value: d.cpuUs / jobs,
    },
    {
      scenario: `${scenario}:commands`,
      unit: 'cmds/job',
      value: d.commands / jobs,
    },
    { scenario: `${scenario}:lua`, unit: 'calls/job', value: d.scripts / jobs },
  );
  // Exact only for a client that sends scripts and blocking reads alone.
  if (ctx.system === 'jobwire') {
    out.push(
      {
        scenario: `${scenario}:redis_cmd_us`,
        unit: 'µs/job',
        value: d.topLevelUsec / jobs,
      },
      {
        scenario: `${scenario}:redis_calls`,
        unit: 'calls/job',
        value: d.scriptableCalls / jobs,
      },
    );
  }
  return out;
}

/**
 * Drains `count` jobs at `concurrency` from a backlog of `waiting` with a
 * worker, `drains` times (topped up by `count` before each drain after the
 * first), and gives each sample's median over the drains. `backlog` drains
 * three times: one drain of 10k jobs at c100 lasts about a quarter of a
 * second, short enough for one pause of the machine to move it by a fifth.
 * Each sample's median is taken on its own (the rate's and the CPU's may
 * come from different drains), and the command breakdown printed is the
 * last drain's.
 */
async function processRun(
  ctx: Ctx,
  scenario: string,
  concurrency: number,
  waiting: number,
  count: number,
  drains = 1,
): Promise<Sample[]> {
  const a = ctx.adapter({ removeCompleted: true });
  try {
    await a.fill(waiting);
    const runs: Sample[][] = [];
    for (let r = 0; r < drains; r++) {
      if (r > 0) await a.fill(count);
      const w = await a.worker(concurrency, count);
      try {
        runs.push(
          await measure(ctx, scenario, count, async () => {
            w.start();
            await w.finished;
          }),
        );
      } finally {
        await w.close();
      }
    }
    return runs[0]!.map((s, i) => ({
      ...s,
      value: median(runs.map((d) => d[i]!.value)),
    }));
  } finally {
    await a.close();
  }
}

/**
 * Enqueues `n` jobs (`inFlight` calls outstanding) and then processes them
 * at `STEADY_CONCURRENCY`, both measured, on an adapter made with `o`.
 */
async function enqueueThenProcess(
  ctx: Ctx,
  scenario: string,
  n: number,
  o: Omit<AdapterOptions, 'host' | 'port' | 'removeCompleted'>,
): Promise<Sample[]> {
  const a = ctx.adapter({ ...o, removeCompleted: true });
  try {
    await a.warmUp();
    const enq = await measure(ctx, `${scenario}:enqueue_concurrent`, n, () =>
      a.enqueueConcurrent(n, sizes.inFlight),
    );
    // The warm-up job is waiting too.
    const w = await a.worker(STEADY_CONCURRENCY, n + 1);
    try {
      const proc = await measure(
        ctx,
        `${scenario}:process_c${STEADY_CONCURRENCY}`,
        n,
        async () => {
          w.start();
          await w.finished;
        },
      );
      return [enq[0]!, proc[0]!, ...enq.slice(1), ...proc.slice(1)];
    } finally {
      await w.close();
    }
  } finally {
    await a.close();
  }
}

/**
 * The `flow` scenario (issue 16): enqueue and process `sizes.flowJobs` jobs
 * with each flow-control rule in turn, set so it never binds (cost, not
 * limit), and each rule's throughput and commands per job against no rule
 * in the same run (`flow_<rule>:*_vs_none`, a ratio). BullMQ runs `none`
 * and `rate` (its queue-wide worker limiter, as high); its keyed limits
 * are BullMQ Pro only.
 */
async function flowRun(ctx: Ctx, system: SystemName): Promise<Sample[]> {
  const variants: readonly FlowVariant[] =
    system === 'jobwire' ? FLOW_VARIANTS : ['none', 'rate'];
  const out: Sample[] = [];
  const none: Record<string, number> = {};
  for (const v of variants) {
    const o =
      system === 'bullmq'
        ? v === 'rate'
          ? { limiter: { max: 1_000_000, duration: 1000 } }
          : {}
        : { flow: v };
    const got = await enqueueThenProcess(ctx, `flow_${v}`, sizes.flowJobs, o);
    await ctx.redis.flush();
    const pick = (suffix: string) =>
      got.find((x) => x.scenario === `flow_${v}:${suffix}`)!.value;
    const figures = {
      enqueue: pick('enqueue_concurrent'),
      process: pick(`process_c${STEADY_CONCURRENCY}`),
      enqueue_commands: pick('enqueue_concurrent:commands'),
      process_commands: pick(`process_c${STEADY_CONCURRENCY}:commands`),
    };
    if (v === 'none') Object.assign(none, figures);
    out.push(...got);
    if (v !== 'none') {
      for (const [what, value] of Object.entries(figures)) {
        out.push({
          scenario: `flow_${v}:${what}_vs_none`,
          unit: 'ratio',
          value: value / none[what]!,
        });
      }
    }
  }
  return out;
}

interface Scenario {
  id: string;
  /** Systems it runs on, or variants of jobwire. */
  systems: SystemName[];
  timeoutMs: number;
  run(ctx: Ctx, system: SystemName): Promise<Sample[]>;
}

function enqueueScenario(
  id: string,
  call: (a: SystemAdapter, n: number) => Promise<void>,
): Scenario {
  return {
    id,
    systems: ALL,
    timeoutMs: sizes.runTimeoutMs,
    async run(ctx) {
      const a = ctx.adapter({ removeCompleted: false });
      try {
        await a.warmUp();
        return await measure(ctx, id, sizes.jobs, () => call(a, sizes.jobs));
      } finally {
        await a.close();
      }
    },
  };
}

const scenarios: Scenario[] = [
  enqueueScenario('enqueue_seq', (a, n) => a.enqueueSeq(n)),
  enqueueScenario('enqueue_concurrent', (a, n) =>
    a.enqueueConcurrent(n, sizes.inFlight),
  ),
  enqueueScenario('enqueue_bulk', (a, n) => a.enqueueBulk(n, sizes.chunk)),
  ...[1, 10, 100].map((c): Scenario => ({
    id: `process_c${c}`,
    systems: ALL,
    timeoutMs: sizes.runTimeoutMs,
    run: (ctx) => processRun(ctx, `process_c${c}`, c, sizes.jobs, sizes.jobs),
  })),
  {
    id: 'latency',
    systems: ALL,
    timeoutMs: sizes.runTimeoutMs,
    async run(ctx) {
      const a = ctx.adapter({ removeCompleted: true });
      try {
        const n = sizes.latencyJobs;
        let r = { pickup: [] as number[], completion: [] as number[] };
        const cost = await measure(
          ctx,
          'latency',
          n,
          async () => {
            r = await a.latency(n, LATENCY_RATE, LATENCY_CONCURRENCY);
          },
          false,
        );
        for (const [what, xs] of Object.entries(r)) {
          const missing = xs.filter((x) => !Number.isFinite(x)).length;
          if (missing > 0) throw new Error(`${missing} ${what} times missing`);
        }
        const out: Sample[] = [];
        for (const p of [50, 95, 99]) {
          out.push({
            scenario: `latency:pickup_p${p}`,
            unit: 'ms',
            value: percentile(r.pickup, p),
          });
        }
        for (const p of [50, 95, 99]) {
          out.push({
            scenario: `latency:completion_p${p}`,
            unit: 'ms',
            value: percentile(r.completion, p),
          });
        }
        return [...out, ...cost];
      } finally {
        await a.close();
      }
    },
  },
  {
    id: 'memory',
    systems: ALL,
    timeoutMs: sizes.runTimeoutMs,
    async run(ctx) {
      const a = ctx.adapter({ removeCompleted: false });
      try {
        await a.warmUp();
        const settle = () => new Promise((r) => setTimeout(r, 200));
        await settle();
        const before = await ctx.redis.snapshot();
        await a.enqueueBulk(sizes.memoryJobs, sizes.chunk);
        await settle();
        const after = await ctx.redis.snapshot();
        return [
          {
            scenario: 'memory',
            unit: 'bytes/job',
            value: (after.usedMemory - before.usedMemory) / sizes.memoryJobs,
          },
        ];
      } finally {
        await a.close();
      }
    },
  },
  {
    id: 'backlog',
    systems: ALL,
    timeoutMs: sizes.backlogTimeoutMs,
    async run(ctx) {
      const n = sizes.backlogSmall;
      const small = await processRun(
        ctx,
        'backlog_small',
        BACKLOG_CONCURRENCY,
        n,
        n,
        3,
      );
      await ctx.redis.flush();
      const large = await processRun(
        ctx,
        'backlog_large',
        BACKLOG_CONCURRENCY,
        sizes.backlogLarge,
        n,
        3,
      );
      await ctx.redis.flush();
      return [
        ...small,
        ...large,
        {
          scenario: 'backlog_large/small',
          unit: 'ratio',
          value: large[0]!.value / small[0]!.value,
        },
      ];
    },
  },
  {
    id: 'validation',
    systems: ['jobwire'],
    timeoutMs: sizes.runTimeoutMs * 2,
    async run(ctx) {
      const out: Sample[] = [];
      const rate: Record<string, number> = {};
      const cpu: Record<string, { node: number; redis: number }> = {};
      // Alternate on/off inside the run so drift hits both alike.
      for (const validate of [true, false]) {
        const tag = validate ? 'on' : 'off';
        const a = ctx.adapter({ removeCompleted: true, validate });
        try {
          await a.warmUp();
          const enq = await measure(
            ctx,
            `validation_${tag}:enqueue_concurrent`,
            sizes.jobs,
            () => a.enqueueConcurrent(sizes.jobs, sizes.inFlight),
          );
          const w = await a.worker(VALIDATION_CONCURRENCY, sizes.jobs);
          let proc: Sample[];
          try {
            proc = await measure(
              ctx,
              `validation_${tag}:process_c${VALIDATION_CONCURRENCY}`,
              sizes.jobs,
              async () => {
                w.start();
                await w.finished;
              },
            );
          } finally {
            await w.close();
          }
          rate[`enqueue_${tag}`] = enq[0]!.value;
          rate[`process_${tag}`] = proc[0]!.value;
          cpu[`enqueue_${tag}`] = { node: enq[1]!.value, redis: enq[2]!.value };
          cpu[`process_${tag}`] = {
            node: proc[1]!.value,
            redis: proc[2]!.value,
          };
          out.push(enq[0]!, enq[1]!, proc[0]!, proc[1]!);
        } finally {
          await a.close();
        }
        await ctx.redis.flush();
      }
      for (const phase of ['enqueue', 'process']) {
        out.push({
          scenario: `validation_cost:${phase}`,
          unit: '%',
          value: (1 - rate[`${phase}_on`]! / rate[`${phase}_off`]!) * 100,
        });
      }
      // Validation's share of the CPU a job costs (Node + Redis) with it on:
      // steadier than the throughput ratio when both sides are near balance.
      for (const phase of ['enqueue', 'process']) {
        const on = cpu[`${phase}_on`]!;
        const off = cpu[`${phase}_off`]!;
        out.push({
          scenario: `validation_cpu:${phase}`,
          unit: '%',
          value: ((on.node - off.node) / (on.node + on.redis)) * 100,
        });
      }
      return out;
    },
  },
  {
    id: 'mixed',
    systems: ALL,
    timeoutMs: quick ? 60_000 : 600_000,
    async run(ctx) {
      const a = ctx.adapter({ removeCompleted: true });
      try {
        await a.warmUp();
        const r = await runMixed(a, mixedOptions);
        const trail = r.steps
          .map(
            (s) => `${s.rate}${s.held ? '' : '✗'} (p99 ${fmt(s.pickupP99)} ms)`,
          )
          .join(', ');
        console.log(`    mixed steps, jobs/s (✗: not held): ${trail}`);
        if (!Number.isFinite(r.rate)) {
          throw new Error(`no rate held (steps: ${trail})`);
        }
        return [
          { scenario: 'mixed', unit: 'jobs/s', value: r.rate },
          { scenario: 'mixed:pickup_p50', unit: 'ms', value: r.pickupP50 },
          { scenario: 'mixed:pickup_p99', unit: 'ms', value: r.pickupP99 },
        ];
      } finally {
        await a.close();
      }
    },
  },
  {
    id: 'types50',
    systems: ALL,
    timeoutMs: sizes.runTimeoutMs,
    run: (ctx) =>
      enqueueThenProcess(ctx, 'types50', sizes.typesJobs, { types: TYPES }),
  },
  {
    id: 'payload_10k',
    systems: ALL,
    timeoutMs: sizes.runTimeoutMs,
    run: (ctx) =>
      enqueueThenProcess(ctx, 'payload_10k', sizes.payload10kJobs, {
        payloadBytes: PAYLOAD_10K_BYTES,
      }),
  },
  {
    id: 'events',
    systems: ALL,
    // A run takes seconds; Bee-Queue's loses a `succeeded` event now and
    // then and would wait out the whole run timeout, three times per run.
    timeoutMs: Math.min(sizes.runTimeoutMs, 60_000),
    async run(ctx) {
      const a = ctx.adapter({ removeCompleted: true });
      try {
        await a.warmUp();
        const n = sizes.eventsJobs;
        let cost: Sample[] = [];
        const r = await runEvents(
          a,
          n,
          EVENTS_IN_FLIGHT,
          STEADY_CONCURRENCY,
          async (fn) => {
            cost = await measure(ctx, 'events', n, fn);
          },
        );
        const missing = r.roundTrip.filter((x) => !Number.isFinite(x)).length;
        if (missing > 0) throw new Error(`${missing} round trips missing`);
        return [
          cost[0]!,
          {
            scenario: 'events:roundtrip_p50',
            unit: 'ms',
            value: percentile(r.roundTrip, 50),
          },
          {
            scenario: 'events:roundtrip_p99',
            unit: 'ms',
            value: percentile(r.roundTrip, 99),
          },
          ...cost.slice(1),
        ];
      } finally {
        await a.close();
      }
    },
  },
  {
    id: 'flow',
    systems: ['jobwire', 'bullmq'],
    timeoutMs: sizes.runTimeoutMs * 3,
    run: flowRun,
  },
];

// ----- orchestration -----

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: timed out after ${ms / 1000} s`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

interface Failure {
  scenario: string;
  system: SystemName;
  run: number;
  error: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.resolve(here, '../results');

async function main(): Promise<number> {
  const selected = args.scenario?.flatMap((s) => s.split(',')) ?? [];
  const chosen = scenarios.filter(
    (s) => selected.length === 0 || selected.some((p) => s.id.startsWith(p)),
  );
  if (chosen.length === 0) {
    console.error(
      `no scenario matches ${selected.join(',')}; known: ${scenarios.map((s) => s.id).join(', ')}`,
    );
    return 2;
  }

  const started = Date.now();
  const loadBefore = os.loadavg()[0]!;
  const redis = await startRedis();
  const samples = new Map<string, { unit: string; values: number[] }>();
  const failures: Failure[] = [];
  const leaks: string[] = [];
  const adapters = new Set<SystemAdapter>();
  try {
    console.log(
      `bench: ${quick ? 'quick' : 'full'} mode, ${runs} run(s), redis-server ${redis.version} on port ${redis.port}, ${sizes.jobs} jobs, ${PAYLOAD_BYTES}-byte payload`,
    );
    for (const scenario of chosen) {
      for (let r = 0; r < runs; r++) {
        const k = r % scenario.systems.length;
        const order = [
          ...scenario.systems.slice(k),
          ...scenario.systems.slice(0, k),
        ];
        for (const system of order) {
          await redis.flush();
          const ctx: Ctx = {
            system,
            redis,
            adapter: (o) => {
              const a = factories[system]({
                ...o,
                host: redis.host,
                port: redis.port,
              });
              adapters.add(a);
              return a;
            },
          };
          const label = `${scenario.id} ${systemLabels[system]} run ${r + 1}/${runs}`;
          const t0 = performance.now();
          try {
            const got = await withTimeout(
              scenario.run(ctx, system),
              scenario.timeoutMs,
              label,
            );
            for (const s of got) {
              const key = `${s.scenario}\u0000${system}`;
              const entry = samples.get(key) ?? { unit: s.unit, values: [] };
              entry.values.push(s.value);
              samples.set(key, entry);
            }
            const head = got[0]!;
            console.log(
              `  ${label}: ${fmt(head.value)} ${head.unit} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
            );
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            console.error(`  ${label}: FAILED: ${message}`);
            failures.push({
              scenario: scenario.id,
              system,
              run: r + 1,
              error: message,
            });
            // A hung system: close what it opened, cut what is left.
            await Promise.all(
              [...adapters].map((a) =>
                withTimeout(a.close(), 5000, 'close').catch(() => {}),
              ),
            );
          }
          adapters.clear();
          // Every adapter must have closed its connections.
          let open = await redis.otherClients();
          for (let i = 0; i < 20 && open > 0; i++) {
            await new Promise((res) => setTimeout(res, 50));
            open = await redis.otherClients();
          }
          if (open > 0) {
            leaks.push(`${label}: ${open} connection(s) left open`);
            console.error(
              `  ${label}: ${open} connection(s) left open; killed`,
            );
            await redis.killOtherClients();
          }
        }
      }
    }
  } finally {
    for (const a of adapters) {
      await withTimeout(a.close(), 5000, 'close').catch(() => {});
    }
    await redis.stop();
  }

  await report(
    samples,
    failures,
    leaks,
    redis.version,
    started,
    loadBefore,
    chosen.map((s) => s.id),
  );
  // Peers failing is reported; jobwire failing fails the run.
  return failures.some((f) => f.system === 'jobwire') ? 1 : 0;
}

// ----- output -----

interface Row {
  scenario: string;
  system: string;
  version: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number[];
}

async function report(
  samples: Map<string, { unit: string; values: number[] }>,
  failures: Failure[],
  leaks: string[],
  redisVersion: string,
  started: number,
  loadBefore: number,
  chosenIds: string[],
): Promise<void> {
  const subset = chosenIds.length < scenarios.length;
  const versions: Record<SystemName, string> = {
    jobwire: jobwireVersion,
    bullmq: bullmqVersion,
    beequeue: beequeueVersion,
  };
  const rows: Row[] = [];
  for (const [key, { unit, values }] of samples) {
    const [scenario, system] = key.split('\u0000') as [string, SystemName];
    rows.push({
      scenario,
      system,
      version: versions[system],
      unit,
      median: round(median(values)),
      min: round(min(values)),
      max: round(max(values)),
      runs: values.map(round),
    });
  }
  const cpus = os.cpus();
  const machine = {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    redis: redisVersion,
    // 1-minute load averages: the machine may be shared.
    loadBefore: loadBefore.toFixed(2),
    loadAfter: os.loadavg()[0]!.toFixed(2),
  };
  const doc = {
    machine,
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    scenarios: subset ? chosenIds : 'all',
    runsPerSystem: runs,
    sizes: { ...sizes, payloadBytes: PAYLOAD_BYTES },
    rows,
    commandsPerJob: breakdown,
    failures,
    leaks,
  };

  const byScenario = new Map<string, Map<string, Row>>();
  for (const r of rows) {
    const m = byScenario.get(r.scenario) ?? new Map<string, Row>();
    m.set(r.system, r);
    byScenario.set(r.scenario, m);
  }
  const cell = (r: Row | undefined) =>
    r === undefined
      ? '–'
      : r.runs.length > 1
        ? `${fmt(r.median)} (${fmt(r.min)}–${fmt(r.max)})`
        : fmt(r.median);
  const ratio = (a: Row | undefined, b: Row | undefined) =>
    a && b && b.median !== 0 ? `${(a.median / b.median).toFixed(2)}×` : '–';
  const table = (filter: (scenario: string) => boolean) => {
    const body: string[][] = [];
    for (const [scenario, m] of byScenario) {
      if (!filter(scenario)) continue;
      const jw = m.get('jobwire');
      const bull = m.get('bullmq');
      const bee = m.get('beequeue');
      const unit = (jw ?? bull ?? bee)!.unit;
      // A ratio of script calls per job says nothing (Bee-Queue runs ~none).
      const noRatio = scenario.endsWith(':lua');
      const [target, met] = targetCells(scenario, {
        jobwire: jw?.median,
        bullmq: bull?.median,
        beequeue: bee?.median,
      });
      body.push([
        scenario,
        unit,
        cell(jw),
        cell(bull),
        cell(bee),
        noRatio ? '–' : ratio(jw, bull),
        noRatio ? '–' : ratio(jw, bee),
        target,
        met,
      ]);
    }
    return markdownTable(
      [
        'scenario',
        'unit',
        `jobwire ${versions.jobwire}`,
        `BullMQ ${versions.bullmq}`,
        `Bee-Queue ${versions.beequeue}`,
        'jobwire/BullMQ',
        'jobwire/Bee-Queue',
        'target (#15)',
        'met',
      ],
      body,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'l'],
    );
  };
  const isCost = (s: string) =>
    /:(node_cpu|redis_cpu|redis_cmd_us|commands|redis_calls|lua)$/.test(s);
  const main = table((s) => !isCost(s));
  const cost = table(isCost);
  const header =
    `${machine.cores} cores (${machine.cpuModel}), Node ${machine.node}, ` +
    `Redis ${machine.redis}, persistence off; ${doc.mode} mode, ` +
    `median of ${runs} run(s)${runs > 1 ? ' (min–max)' : ''}; ${doc.date}; ` +
    `load average ${machine.loadBefore} before, ${machine.loadAfter} after`;
  const text = [
    header,
    '',
    'Throughput, latency, memory (ratio = jobwire ÷ peer: above 1 is better for jobs/s, below 1 for ms, bytes, %):',
    '',
    main,
    '',
    'Cost per job over each measured phase (Node CPU of this process; Redis CPU from INFO cpu; commands from INFO commandstats, those run inside Lua included; jobwire only: redis_cmd_us is the commandstats time of its scripts and blocking reads, redis_calls the commands its scripts ran):',
    '',
    cost,
  ].join('\n');
  console.log(`\n${text}\n`);
  if (failures.length > 0) {
    console.log(`${failures.length} failed run(s):`);
    for (const f of failures)
      console.log(`  ${f.scenario} ${f.system} run ${f.run}: ${f.error}`);
  }
  if (leaks.length > 0)
    console.log(`connection leaks:\n  ${leaks.join('\n  ')}`);

  fs.mkdirSync(resultsDir, { recursive: true });
  // Formatted like the rest of the repository, so `prettier --check` passes.
  const style = (await resolveConfig(path.join(resultsDir, 'latest.md'))) ?? {};
  const json = await format(JSON.stringify(doc), { ...style, parser: 'json' });
  const written: string[] = [];
  // A subset of scenarios must not replace the full run's results.
  const stem = quick ? 'quick' : subset ? 'subset' : undefined;
  if (stem !== undefined) {
    written.push(path.join(resultsDir, `${stem}.json`));
  } else {
    written.push(
      path.join(resultsDir, 'latest.json'),
      path.join(resultsDir, `${doc.date.slice(0, 10)}.json`),
    );
  }
  for (const f of written) fs.writeFileSync(f, json);
  if (!quick) {
    const md = await format(text, { ...style, parser: 'markdown' });
    const mdFile = path.join(resultsDir, `${stem ?? 'latest'}.md`);
    fs.writeFileSync(mdFile, md);
    written.push(mdFile);
  }
  console.log(
    `wrote ${written.map((f) => path.relative(process.cwd(), f)).join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench: failed:', err);
    process.exit(1);
  },
);
