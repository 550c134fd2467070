// Writes .ci/test-durations.json from a vitest JSON report: each test
// file's wall time in whole seconds, longest first. vitest.config.ts runs
// the longest files first from it when vitest has no results cache of its
// own (a clean clone, as in CI). Refresh it after a CI run:
//   node scripts/test-durations.mjs [REPORT [ROOT]]
// REPORT defaults to .tmp/vitest.json; ROOT, the checkout the report's
// absolute paths are under, to the directory above the report's (CI writes
// it to <checkout>/.tmp/vitest.json).
import console from 'node:console';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import process from 'node:process';

const report = resolve(process.argv[2] ?? '.tmp/vitest.json');
const root = resolve(process.argv[3] ?? dirname(dirname(report)));
const repo = resolve(import.meta.dirname, '..');
const { testResults } = JSON.parse(readFileSync(report, 'utf8'));
const durations = Object.fromEntries(
  testResults
    .map((f) => [
      relative(root, f.name).split('\\').join('/'),
      Math.max(1, Math.round((f.endTime - f.startTime) / 1000)),
    ])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
);
writeFileSync(
  resolve(repo, '.ci/test-durations.json'),
  `${JSON.stringify(durations, null, 2)}\n`,
);
console.log(`${Object.keys(durations).length} files`);
