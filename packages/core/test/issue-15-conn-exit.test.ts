import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './helpers/redis-cluster.ts';
import { freePort, useRedis } from './helpers/redis-server.ts';

// Node stayed alive after close() of a Queue or Worker, for timers of
// connections jobwire owns: ioredis's 2 s disconnectTimeout on a socket
// that had already failed (Redis unreachable), a wait for a connection
// (connectTimeoutMs) that outlived the close, and on a Cluster a wait for
// an 'end' the client had already emitted (close() took 2 s). Each child
// process closes everything it opened and never calls process.exit.

const HERE = path.dirname(fileURLToPath(import.meta.url));
// Far below each defect's hold (2000 ms, 3000 ms connectTimeoutMs, 2000 ms),
// far above an exit with nothing left open.
const EXIT_BOUND_MS = 500;

const CHILD = `
import { Cluster } from 'ioredis';
import { z } from 'zod';
import { createQueue, createWorker, defineJobs, job } from '../src/index.ts';

const [scenario, target] = process.argv.slice(1);
const quiet = { warn: () => {}, error: () => {} };
const jobs = defineJobs({ echo: job({ queue: 'conn-exit', payload: z.object({ n: z.number() }) }) });
const out = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let user;
let closing;
if (scenario === 'unreachable') {
  // Nothing listens at target: every connection keeps retrying.
  const worker = createWorker(jobs, { echo: () => undefined }, { connection: target, logger: quiet });
  const queue = createQueue(jobs, { connection: target, logger: quiet });
  await sleep(300);
  closing = () => Promise.all([worker.close(), queue.close()]);
} else if (scenario === 'finished') {
  const queue = createQueue(jobs, { connection: target, logger: quiet, connectTimeoutMs: 3000 });
  const handle = await queue.enqueue('echo', { n: 1 });
  // Its connection for results is still connecting when close() comes.
  handle.finished().then(() => out({ finished: 'resolved' }), (err) => out({ finished: err.code }));
  closing = () => queue.close();
} else {
  user = new Cluster(target.split(',').map((port) => ({ host: '127.0.0.1', port: Number(port) })));
  const queue = createQueue(jobs, { connection: user, logger: quiet });
  const worker = createWorker(jobs, { echo: () => undefined }, { connection: user, logger: quiet, blockTimeoutMs: 5000 });
  await worker.ready;
  await (await queue.enqueue('echo', { n: 1 })).finished();
  // The worker waits in its blocking read.
  await sleep(300);
  closing = () => Promise.all([worker.close(), queue.close()]);
}
const closeStart = Date.now();
await closing();
const closeMs = Date.now() - closeStart;
// The caller's own client is the caller's to close.
await user?.quit();
out({ closeStart, closeMs });
`;

interface ChildRun {
  code: number | null;
  /** From the start of close() to the child's exit. */
  exitMs: number;
  closeMs: number;
  lines: Record<string, unknown>[];
  stderr: string;
}

function runChild(scenario: string, target: string): Promise<ChildRun> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', CHILD, scenario, target],
    { cwd: HERE, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on(
    'data',
    (chunk: Buffer) => (stderr += chunk.toString('utf8')),
  );
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      const exitAt = Date.now();
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const closed = lines.find((l) => typeof l.closeStart === 'number');
      resolve({
        code,
        exitMs: closed ? exitAt - (closed.closeStart as number) : NaN,
        closeMs: closed ? (closed.closeMs as number) : NaN,
        lines,
        stderr,
      });
    });
  });
}

describe('the process exits soon after close()', () => {
  it('of a worker and a queue whose Redis is unreachable', async () => {
    const port = await freePort(); // nothing listens there
    const run = await runChild('unreachable', `redis://127.0.0.1:${port}`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.exitMs, run.stderr).toBeLessThan(EXIT_BOUND_MS);
  }, 90_000);

  describe('on a standalone Redis', () => {
    const redis = useRedis();

    it('of a queue whose finished() wait was still connecting', async () => {
      const run = await runChild('finished', redis.url);
      expect(run.code, run.stderr).toBe(0);
      expect(run.exitMs, run.stderr).toBeLessThan(EXIT_BOUND_MS);
      // The wait itself ends at the close, with CLOSED.
      expect(run.lines).toContainEqual({ finished: 'CLOSED' });
    }, 90_000);
  });

  describe('on a Redis Cluster', () => {
    let cluster: TestCluster;
    beforeAll(async () => {
      cluster = await startCluster();
    }, 90_000);
    afterAll(async () => {
      await cluster?.stop();
    });

    it('of a worker waiting in its blocking read (close() took 2 s)', async () => {
      const ports = cluster.nodes.map((n) => n.port).join(',');
      const run = await runChild('cluster', ports);
      expect(run.code, run.stderr).toBe(0);
      expect(run.closeMs, run.stderr).toBeLessThan(EXIT_BOUND_MS);
      expect(run.exitMs, run.stderr).toBeLessThan(EXIT_BOUND_MS);
    }, 90_000);
  });
});
