import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createJobsQueue } from '../src/generated/producer.ts';
import { uniqueQueue, useRedis } from '@jobwire/test-kit/vitest';
import { fastWorkerSettings } from '@jobwire/test-kit';
import { startEmailWorker } from '../src/email/worker.ts';

const redis = useRedis();
const script = fileURLToPath(
  new URL('../src/results/await-result.ts', import.meta.url),
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs await-result.ts with `args`; resolves when the process exits. */
function run(prefix: string, ...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, REDIS_URL: redis.url, JOBWIRE_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('results example: a typed result awaited from another process', () => {
  it('prints the id on enqueue, and another process prints the typed result', async () => {
    const prefix = uniqueQueue('results');
    const queue = createJobsQueue({ connection: redis.url, prefix });
    let worker: ReturnType<typeof startEmailWorker> | undefined;
    try {
      const enqueued = await run(prefix, 'enqueue');
      expect(enqueued, enqueued.stderr).toMatchObject({ code: 0 });
      const id = enqueued.stdout.trim();
      expect(id).toMatch(/^[0-9a-z]{17,}$/);
      // Nothing has run it yet.
      expect((await queue.getJob(id, { queue: 'email' }))?.state).toBe(
        'waiting',
      );

      // The awaiting process starts first; the worker (here) runs the job.
      const awaiting = run(prefix, 'await', id);
      worker = startEmailWorker({
        connection: redis.url,
        prefix,
        ...fastWorkerSettings,
      });
      const awaited = await awaiting;
      expect(awaited, awaited.stderr).toMatchObject({ code: 0 });
      expect(JSON.parse(awaited.stdout)).toEqual({ messageId: `msg-${id}` });

      // A process started after the job finished gets the same result.
      const later = await run(prefix, 'await', id);
      expect(later, later.stderr).toMatchObject({ code: 0 });
      expect(later.stdout).toBe(`{"messageId":"msg-${id}"}\n`);
    } finally {
      await worker?.close();
      await queue.close();
    }
  });

  it('prints the usage and exits 2 without a command', async () => {
    const prefix = uniqueQueue('results');
    const res = await run(prefix);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('usage: await-result.ts enqueue | await <id>');
  });
});
