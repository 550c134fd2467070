/**
 * Issue 14: a real rolling deploy, v1 -> v2 -> v3, with separate producer
 * and worker processes on a real redis-server under steady load (see
 * processes/rolling-deploy/deploy.ts for the steps). No process is killed,
 * so every acknowledged job must run exactly once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll } from './faults/harness/children.ts';
import { checkInvariants } from './faults/harness/invariants.ts';
import { uniqueQueue, useRedis } from './helpers/redis-server.ts';
import {
  analyse,
  figureLine,
  runRollingDeploy,
} from './processes/rolling-deploy/deploy.ts';

const redis = useRedis();
const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0))
    fs.rmSync(d, { recursive: true, force: true });
});

// Six process start-ups on a loaded two-core machine take many seconds
// each; the deadline is for a hang, the assertions are about outcomes.
describe(
  'issue 14: a rolling deploy v1 -> v2 -> v3',
  { timeout: 240_000 },
  () => {
    it('loses nothing, fails nothing, and no worker runs a job newer than it knows', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-deploy-'));
      dirs.push(dir);
      const queue = uniqueQueue('deploy');
      const run = await runRollingDeploy({
        url: redis.url,
        queue,
        dir,
        phaseMs: 2500,
        ratePerSec: 120,
        holdEvery: 40,
        // No enqueue may fail here: a starved box must not time one out.
        producerCommandTimeoutMs: 30_000,
        // A lease far longer than any stall of a loaded machine: with no
        // kills, a re-delivery would be a bug, not a slow box.
        worker: {
          concurrency: 8,
          leaseMs: 15_000,
          stallCheckIntervalMs: 1000,
          maxStalls: 1,
          blockTimeoutMs: 1000,
          workMs: [2, 15],
        },
        drainTimeoutMs: 60_000,
      });
      const v = await analyse(run, redis.url, queue);
      const f = v.figures;
      console.log(
        'rolling deploy',
        JSON.stringify({
          ...figureLine(f),
          perWorkerByStored: f.perWorkerByStored,
          timeline: run.timeline,
          stopCodes: run.deploy.stopCodes,
        }),
      );

      // Every acknowledged enqueue completed, each by exactly one handler call.
      expect(v.notCompleted).toEqual([]);
      expect(v.notExactlyOnce).toEqual([]);
      expect(v.unacknowledgedRuns).toBe(0);
      // Nothing failed validation, an upcaster or anything else.
      expect(v.failures).toEqual([]);
      expect(f.failed).toBe(0);
      expect(f.rejectedEnqueues).toEqual({});
      // No worker ran a job stored at a version it does not know, and each
      // handler saw its own version's shape of the job.
      expect(v.tooNew).toEqual([]);
      expect(v.wrongView).toEqual([]);
      expect(v.wrongStored).toEqual([]);
      // The deploy exercised what it claims: every version produced, each
      // upcast path ran (v1 -> v3 through both steps), graceful stops.
      expect(Object.keys(f.producedPerVersion).sort()).toEqual(['1', '2', '3']);
      expect(f.upcasts['1->2']).toBeGreaterThan(0);
      expect(f.upcasts['1->3']).toBeGreaterThan(0);
      expect(f.upcasts['2->3']).toBeGreaterThan(0);
      expect(run.deploy.stopCodes.map((s) => s.code)).toEqual([0, 0, 0]);
      expect(await checkInvariants(redis.url, 'jobwire', queue)).toEqual([]);
      // Hand-backs agree between the workers' events and Redis' `nv` counts.
      expect(f.handBacks).toBe(f.nvTotal);
      expect(f.handBacks).toBe(0);
    });
  },
);
