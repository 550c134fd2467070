import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort, useRedis } from './helpers/redis-server.ts';

// A QueueEvents closed before it had connected, with no 'error' listener,
// crashed its process: its start failed with CLOSED (before: after 60 s,
// "not reachable"), and that failure was emitted as 'error' although the
// caller had closed it. A reader closed by its caller reports nothing.

const HERE = path.dirname(fileURLToPath(import.meta.url));

const CHILD = `
import { createQueueEvents } from '../src/index.ts';

const [target, listen] = process.argv.slice(1);
const quiet = { warn: () => {}, error: () => {} };
const events = createQueueEvents({ queue: 'qe-close', connection: target, logger: quiet });
const errors = [];
if (listen === 'listen') events.on('error', (err) => errors.push(err.code ?? err.message));
await events.close();
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(JSON.stringify({ errors }) + '\\n');
`;

function runChild(
  target: string,
  listen: boolean,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      CHILD,
      target,
      listen ? 'listen' : 'none',
    ],
    { cwd: HERE, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
}

const redis = useRedis();

describe(
  'issue 15: a QueueEvents closed before it connected',
  { timeout: 60_000 },
  () => {
    it('does not crash a process without an error listener (Redis unreachable)', async () => {
      const port = await freePort();
      const run = await runChild(`redis://127.0.0.1:${String(port)}`, false);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ errors: [] });
    });

    it('emits no error to its listener when closed at once (Redis up)', async () => {
      const run = await runChild(redis.url, true);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ errors: [] });
    });
  },
);
