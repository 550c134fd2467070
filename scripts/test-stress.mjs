#!/usr/bin/env node
// `pnpm test:stress [vitest args...]`: the test suite (vitest, the same config
// as `npm test`) beside CPU-burning processes, so timing assumptions that only
// hold on an idle machine fail here instead of in CI. Prints the vitest
// summary, the failed tests and the elapsed time; exits non-zero on any
// failure. JOBWIRE_STRESS_BURNERS sets the number of burners (default: one
// per core).
import { spawn } from 'node:child_process';
import console from 'node:console';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cores = os.availableParallelism?.() ?? os.cpus().length;
const burnerCount = Number(process.env.JOBWIRE_STRESS_BURNERS ?? cores);
if (!Number.isInteger(burnerCount) || burnerCount < 0) {
  console.error('test:stress: JOBWIRE_STRESS_BURNERS must be a whole number');
  process.exit(2);
}

// A burner spins, and every few million iterations checks that this script is
// still alive: if it was SIGKILLed (no exit hook runs then) the burners end
// themselves instead of eating a core forever.
const burnerSource = `
const parent = Number(process.argv[1]);
for (;;) {
  for (let i = 0; i < 5e6; i++);
  try { process.kill(parent, 0); } catch { process.exit(0); }
}`;

const burners = [];
for (let i = 0; i < burnerCount; i++) {
  burners.push(
    spawn(process.execPath, ['-e', burnerSource, String(process.pid)], {
      stdio: 'ignore',
    }),
  );
}

function killBurners() {
  for (const b of burners) {
    if (b.exitCode === null && b.signalCode === null) b.kill('SIGKILL');
  }
}
process.on('exit', killBurners);

const reportDir = path.join(root, '.tmp');
fs.mkdirSync(reportDir, { recursive: true });
// One report per run: two runs side by side must not read each other's.
const report = path.join(reportDir, `stress-vitest-${process.pid}.json`);

const vitestBin = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = [
  vitestBin,
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile=${report}`,
  ...process.argv.slice(2),
];
console.log(
  `test:stress: ${burnerCount} CPU burner(s) on ${cores} core(s), ` +
    `load average ${os.loadavg()[0].toFixed(2)} at start`,
);
const started = Date.now();
// vitest leads its own process group, so that a signal reaches its test
// workers and what they started too (a SIGTERM to vitest alone leaves its
// forked workers running).
const vitest = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  detached: true,
});
const signalVitest = (sig) => {
  try {
    process.kill(-vitest.pid, sig);
  } catch {
    // the group is gone
  }
};

// Ctrl-C (or a SIGTERM to this script) is forwarded to vitest's group, with
// a SIGKILL after a grace period; the burners go at once.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killBurners();
    signalVitest(sig);
    setTimeout(() => signalVitest('SIGKILL'), 5000);
  });
}

vitest.on('exit', (code, signal) => {
  killBurners();
  // Whatever a test left behind in the group.
  signalVitest('SIGKILL');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  let passed = 0;
  let failed = 0;
  const failures = [];
  try {
    const r = JSON.parse(fs.readFileSync(report, 'utf8'));
    passed = r.numPassedTests ?? 0;
    failed = r.numFailedTests ?? 0;
    for (const file of r.testResults ?? []) {
      const rel = path.relative(root, file.name);
      const failedTests = (file.assertionResults ?? []).filter(
        (t) => t.status === 'failed',
      );
      for (const t of failedTests) {
        failures.push(`${rel} › ${t.fullName ?? t.title}`);
      }
      // A file that failed outside any test (e.g. in beforeAll) has none.
      if (file.status === 'failed' && failedTests.length === 0) {
        failures.push(`${rel} (file: ${String(file.message).split('\n')[0]})`);
      }
    }
  } catch {
    failures.push('(no vitest JSON report)');
  }
  console.log('\n== test:stress summary ==');
  for (const f of failures) console.log(`FAILED ${f}`);
  console.log(
    `${passed} passed, ${failed} failed, ${seconds} s elapsed ` +
      `(${burnerCount} burner(s), load average ${os.loadavg()[0].toFixed(2)} at end)`,
  );
  fs.rmSync(report, { force: true });
  const ok = code === 0 && signal === null && failures.length === 0;
  process.exit(ok ? 0 : (code ?? 1) || 1);
});
