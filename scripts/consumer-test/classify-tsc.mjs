/**
 * Reads the output of the consumer project's `tsc --pretty false --listFiles`
 * and sorts its errors by origin: jobwire's declaration files, the user's
 * code (generated code included), third-party declaration files, and the
 * rest (config, global). Only the first two and the rest fail the step:
 * third-party errors are printed, and said to be left out of the count.
 * It also checks that the declaration files of all four packages were part
 * of the program, so zero errors means they were checked.
 *
 *   node classify-tsc.mjs <tsc output file> <tsc exit code>
 */
import console from 'node:console';
import { readFileSync } from 'node:fs';
import process from 'node:process';

const [file, exitCode] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split(/\r?\n/);
const PACKAGES = ['core', 'codegen', 'server', 'cli'];

/** Which group a diagnostic's file belongs to. */
function origin(path) {
  const p = path.replaceAll('\\', '/');
  // npm: node_modules/@jobwire/x; pnpm: node_modules/.pnpm/…/node_modules/@jobwire/x.
  if (/(^|\/)node_modules\/(.*\/node_modules\/)?@jobwire\//.test(p)) {
    return 'jobwire';
  }
  if (/(^|\/)node_modules\//.test(p)) return 'thirdParty';
  if (/^src\//.test(p)) return 'user';
  return 'other';
}

const groups = { jobwire: [], user: [], thirdParty: [], other: [] };
const listed = [];
let last;
for (const line of lines) {
  const located = /^(.+?)\((\d+),(\d+)\): error (TS\d+): /.exec(line);
  if (located) {
    last = [line];
    groups[origin(located[1])].push(last);
  } else if (/^error TS\d+: /.test(line)) {
    last = [line];
    groups.other.push(last);
  } else if (/^\s/.test(line) && last !== undefined) {
    // A message's continuation lines are indented.
    last.push(line);
  } else if (line.trim() !== '') {
    last = undefined;
    listed.push(line.trim().replaceAll('\\', '/'));
  }
}

const problems = [];
const checked = PACKAGES.map((name) => {
  const files = listed.filter((f) =>
    new RegExp(`/node_modules/@jobwire/${name}/.*\\.d\\.[cm]?ts$`).test(f),
  );
  if (files.length === 0) {
    problems.push(`tsc did not load @jobwire/${name}'s declaration files`);
  }
  return `@jobwire/${name} ${files.length}`;
});
console.log(`jobwire declaration files in the program: ${checked.join(', ')}`);

const show = (title, list) => {
  console.log(`${title}: ${list.length}`);
  for (const d of list) console.log(`  ${d.join('\n  ')}`);
};
show("errors from jobwire's declaration files", groups.jobwire);
show(
  "errors from the user's code (src/, generated code included)",
  groups.user,
);
show(
  'errors from third-party declaration files (shown, not counted: only jobwire and user code must be clean)',
  groups.thirdParty,
);
show('other errors (config, global)', groups.other);

const counted =
  groups.jobwire.length + groups.user.length + groups.other.length;
if (counted > 0) problems.push(`${counted} counted errors`);
const all = counted + groups.thirdParty.length;
if (exitCode !== '0' && all === 0) {
  problems.push(`tsc exited ${exitCode} without a diagnostic`);
}
if (problems.length > 0) {
  console.log(`check failed: ${problems.join('; ')}`);
  process.exitCode = 1;
}
