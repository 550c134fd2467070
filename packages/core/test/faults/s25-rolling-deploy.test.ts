/**
 * Fault scenario S25 of docs/reliability.md: the rolling deploy of issue 14
 * (v1 -> v2 -> v3, processes/rolling-deploy/deploy.ts) with a v2 worker
 * SIGKILLed while it runs jobs during the overlap, and Redis SIGKILLed and
 * restarted (AOF always) while the v3 producer starts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  analyse,
  figureLine,
  runRollingDeploy,
} from '../processes/rolling-deploy/deploy.ts';
import { report } from './harness/report.ts';
import {
  CHECK_MS,
  LEASE_MS,
  startScenario,
  until,
} from './harness/scenario.ts';
import type { Scenario } from './harness/scenario.ts';

let sc: Scenario | undefined;
afterEach(async () => {
  await sc?.cleanup();
  sc = undefined;
});

const AOF_ALWAYS = { appendonly: true, extraArgs: ['--appendfsync', 'always'] };
const CONCURRENCY = 8;
const PREFETCH = 8;

// Seven process start-ups and a Redis restart on a loaded two-core machine:
// a deadline for a hang; the scenario's bounds are its own.
describe('faults: a rolling deploy', { timeout: 300_000 }, () => {
  it('S25 a rolling deploy v1 -> v2 -> v3 through a worker kill -9 and a Redis restart', async () => {
    sc = await startScenario(AOF_ALWAYS);
    const s = sc;
    let runsAtKill = 0;
    let workersAtRedisKill = 0;
    const run = await runRollingDeploy({
      url: s.redis.url,
      queue: s.queue,
      dir: s.dir,
      phaseMs: 2500,
      ratePerSec: 120,
      holdEvery: 40,
      worker: {
        concurrency: CONCURRENCY,
        prefetch: PREFETCH,
        leaseMs: LEASE_MS,
        stallCheckIntervalMs: CHECK_MS,
        // A job held by the killed worker stalls once, and a lease may run
        // out while Redis is down: room for both, so a stall never fails a
        // job here (S04 covers the limit).
        maxStalls: 3,
        blockTimeoutMs: 1000,
        workMs: [2, 15],
      },
      drainTimeoutMs: 90_000,
      async during(step, d) {
        if (step === '3 v2 producer starts') {
          // The v2 worker dies mid-flight while v1 and v2 jobs both flow;
          // a replacement v2 worker starts.
          const before = d.runs().filter((r) => r.worker === 'w2').length;
          await until(
            () =>
              d.runs().filter((r) => r.worker === 'w2').length >= before + 50,
            30_000,
            'w2 running jobs',
          );
          runsAtKill = d.runs().filter((r) => r.worker === 'w2').length;
          await d.kill9Worker('w2');
          await d.startWorker('w2', 2);
        }
        if (step === '6b v3 producer starts') {
          workersAtRedisKill = d.workers.size;
          await s.redis.kill9();
          await new Promise((r) => setTimeout(r, 1000));
          await s.redis.restart();
        }
      },
    });
    const v = await analyse(run, s.redis.url, s.queue);
    const f = v.figures;
    // docs/guarantees.md: duplicates are bounded by what a dead worker held
    // (running or prefetched); a Redis crash can cost each live worker as
    // much (S09).
    const dupBound = (1 + workersAtRedisKill) * (CONCURRENCY + PREFETCH);
    const rejectedKinds = Object.keys(f.rejectedEnqueues);
    const violations = await s.invariants();
    const pass =
      v.notCompleted.length === 0 &&
      v.failures.length === 0 &&
      f.failed === 0 &&
      v.tooNew.length === 0 &&
      v.wrongView.length === 0 &&
      v.wrongStored.length === 0 &&
      f.duplicates <= dupBound &&
      rejectedKinds.every((k) => k === 'RedisUnavailableError') &&
      violations.length === 0 &&
      f.nvTotal === 0;
    report(
      'S25',
      {
        ...figureLine(f),
        lost: v.notCompleted.length,
        tooNew: v.tooNew.length,
        wrongView: v.wrongView.length,
        dupBound,
        w2RunsBeforeKill: runsAtKill,
        unackedRuns: v.unacknowledgedRuns,
      },
      pass,
    );
    console.log(
      'S25 detail',
      JSON.stringify({
        perWorkerByStored: f.perWorkerByStored,
        timeline: run.timeline,
      }),
    );
    expect(v.notCompleted).toEqual([]);
    expect(v.failures).toEqual([]);
    expect(f.failed).toBe(0);
    expect(v.tooNew).toEqual([]);
    expect(v.wrongView).toEqual([]);
    expect(v.wrongStored).toEqual([]);
    expect(f.duplicates).toBeLessThanOrEqual(dupBound);
    expect(rejectedKinds.every((k) => k === 'RedisUnavailableError')).toBe(
      true,
    );
    expect(f.upcasts['1->3']).toBeGreaterThan(0);
    expect(f.upcasts['2->3']).toBeGreaterThan(0);
    expect(run.deploy.killed).toEqual(['w2']);
    expect(run.deploy.stopCodes.map((c) => c.code)).toEqual([0, 0, 0]);
    expect(violations).toEqual([]);
    expect(f.nvTotal).toBe(0);
  });
});
