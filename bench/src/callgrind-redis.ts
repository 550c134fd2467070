/**
 * A private redis-server under valgrind's callgrind, for counting the
 * instructions Redis runs in a measured phase: instrumentation starts off
 * (set-up runs several times faster), `measure()` zeroes the counters,
 * turns them on for the phase and dumps them after it. Needs valgrind
 * (`apt-get install -y valgrind`).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@jobwire/test-kit';
import { Redis } from 'ioredis';

export interface CallgrindRedis {
  readonly port: number;
  /** Runs `phase` counted; returns the path of its dump. */
  measure(phase: () => Promise<void>): Promise<string>;
  /** Kills the server; keeps the dumps when `keep` is set. */
  stop(keep?: boolean): void;
}

/** Starts redis-server under callgrind and waits until it answers. */
export async function startCallgrindRedis(): Promise<CallgrindRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobwire-callgrind-'));
  const port = await freePort();
  const server = spawn(
    'valgrind',
    [
      '--tool=callgrind',
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
  const dumps = (): string[] =>
    fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('callgrind.out'))
      .map((f) => path.join(dir, f));
  return {
    port,
    async measure(phase) {
      const before = new Set(dumps());
      control('--instr=on');
      control('-z');
      await phase();
      control('-d');
      control('--instr=off');
      const dump = dumps().find((f) => !before.has(f));
      if (dump === undefined) throw new Error('callgrind wrote no dump');
      return dump;
    },
    stop(keep = false) {
      server.kill('SIGKILL');
      if (!keep) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A dump's `callgrind_annotate --inclusive` report. */
export function annotate(dump: string): string {
  return execFileSync(
    'callgrind_annotate',
    ['--inclusive=yes', '--threshold=100', '--auto=no', dump],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
}

/** The instruction count at the start of a report line. */
export function countOf(line: string): number {
  return Number(line.trim().split(/\s+/)[0]!.replace(/,/g, ''));
}

/** A report's total instruction count. */
export function totalOf(report: string): number {
  return countOf(
    report.split('\n').find((l) => l.includes('PROGRAM TOTALS')) ?? '0',
  );
}
