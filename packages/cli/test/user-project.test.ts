/**
 * The CLI in a project as `jobwire init` leaves it, outside the repository
 * root (defects the outside review found on the new-user path): every
 * command finds the schema jobwire.config.json names; a CommonJS package
 * gets one line naming the fix; a reader that closes the pipe early
 * (`jobwire stats | head -1`) gets no stack trace; errors speak CLI, not
 * the library's function and option names (error-fields.test.ts checks
 * how, from the errors' fields).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { uniqueQueue, useRedis } from '../../core/test/helpers/redis-server.ts';
import { jobwire } from './jobwire-bin.ts';

const redis = useRedis();
const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * A project under packages/cli/test/.tmp/ (git-ignored), so its schema
 * resolves @jobwire/core and zod as the fixtures do: the schema in src/,
 * named by jobwire.config.json as `jobwire init` writes it when src/ exists.
 */
function project(): string {
  mkdirSync(join(here, '.tmp'), { recursive: true });
  const dir = mkdtempSync(join(here, '.tmp', 'project-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'src'));
  copyFileSync(
    join(here, 'fixtures/proto-names.schema.ts'),
    join(dir, 'src/jobs.schema.ts'),
  );
  writeFileSync(
    join(dir, 'jobwire.config.json'),
    JSON.stringify({ schema: 'src/jobs.schema.ts', out: 'src/generated' }),
  );
  return dir;
}

function cli(dir: string, args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [...jobwire(), ...args], {
    cwd: dir,
    env: { ...process.env, REDIS_URL: redis.url, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('jobwire in a user project', { timeout: 300_000 }, () => {
  it("loads the schema jobwire.config.json names, unless --schema says otherwise; errors say the CLI's words", () => {
    const dir = project();
    const prefix = uniqueQueue('cli');
    const stats = cli(dir, ['stats', '--json', '--prefix', prefix]);
    expect(stats.stderr).toBe('');
    expect(stats.status).toBe(0);
    // The fixture's job types, not the root jobs.schema.ts's.
    const byType = (JSON.parse(stats.stdout) as { byType: object }).byType;
    expect(Object.keys(byType).sort()).toEqual([
      'constructor',
      'hasOwnProperty',
      'toString',
      'valueOf',
    ]);

    const paused = cli(dir, ['pause', '--queue', 'proto', '--prefix', prefix]);
    expect(paused.stderr).toBe('');
    expect(paused.status).toBe(0);

    // The library's message names its function (removeJob: …); the CLI's does not.
    const missing = cli(dir, [
      'remove',
      'nosuchjob',
      '--queue',
      'proto',
      '--prefix',
      prefix,
    ]);
    expect(missing.stderr).toBe('error: job nosuchjob does not exist\n');
    expect(missing.status).toBe(1);

    const flag = cli(dir, ['stats', '--schema', 'jobs.schema.ts']);
    expect(flag.stderr).toBe('error: schema file not found: jobs.schema.ts\n');
    expect(flag.status).toBe(2);

    rmSync(join(dir, 'src/jobs.schema.ts'));
    const gone = cli(dir, ['jobs', 'waiting']);
    expect(gone.stderr).toBe(
      'error: schema file not found: src/jobs.schema.ts (the "schema" of jobwire.config.json)\n',
    );
    expect(gone.status).toBe(2);
  });

  it('a CommonJS package (as `npm init -y` writes it): one line naming the fix', () => {
    const dir = project();
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', type: 'commonjs' }),
    );
    // --schema: this case is about the package type, not about the config.
    const run = cli(dir, ['stats', '--schema', 'src/jobs.schema.ts']);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `error: cannot load the schema src/jobs.schema.ts: Node loads it as CommonJS (package.json says "type": "commonjs"), but jobwire's schema and generated modules are ES modules: set "type": "module" in package.json (jobwire init does this)\n`,
    );
    expect(run.status).toBe(2);
  });

  it('a reader that closes the pipe early (stats | head -1): no stack trace, exit 0', async () => {
    const dir = project();
    const child = spawn(
      process.execPath,
      [...jobwire(), 'stats', '--schema', 'src/jobs.schema.ts'],
      {
        cwd: dir,
        env: { ...process.env, REDIS_URL: redis.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    // Closed before the command writes anything: every write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) =>
      child.once('close', (c) => resolve(c)),
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
