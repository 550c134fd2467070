import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Seconds per test file from a recent run (scripts/test-durations.mjs). */
function recentDurations(): Record<string, number> {
  try {
    return JSON.parse(
      readFileSync(
        new URL('./.ci/test-durations.json', import.meta.url),
        'utf8',
      ),
    ) as Record<string, number>;
  } catch {
    return {};
  }
}

/**
 * Longest files first, so the two workers end together rather than one
 * starting a long file while the other runs out of work. Vitest orders
 * files so from its results cache; a clean clone (CI) has none and would
 * go by file size, so the durations of a recent run stand in. A file they
 * do not list (a new one) counts as a file of median length.
 */
class LongestFirst extends BaseSequencer {
  override async sort(
    files: TestSpecification[],
  ): Promise<TestSpecification[]> {
    const cached = files.every((f) =>
      this.ctx.cache.getFileTestResults(
        `${f.project.name}:${relative(this.ctx.config.root, f.moduleId)}`,
      ),
    );
    if (cached) return super.sort(files);
    const seconds = recentDurations();
    const known = Object.values(seconds).sort((a, b) => a - b);
    const median = known[Math.floor(known.length / 2)] ?? 0;
    const estimate = (f: TestSpecification) =>
      seconds[relative(root, f.moduleId).split('\\').join('/')] ?? median;
    return [...files].sort((a, b) => estimate(b) - estimate(a));
  }
}

export default defineConfig({
  // Workspace packages resolve to their sources, so tests need no build
  // (their package.json exports point at dist/ for users).
  resolve: {
    alias: {
      '@jobwire/core': fileURLToPath(
        new URL('./packages/core/src/index.ts', import.meta.url),
      ),
      '@jobwire/server': fileURLToPath(
        new URL('./packages/server/src/index.ts', import.meta.url),
      ),
      '@jobwire/codegen': fileURLToPath(
        new URL('./packages/codegen/src/index.ts', import.meta.url),
      ),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    setupFiles: ['packages/core/test/setup/leak-check.ts'],
    // Deadlines for a hang, not speeds: a loaded two-core machine (CI beside
    // other jobs, `pnpm test:stress`) starts a child process or a Chromium in
    // seconds, not milliseconds. Files that spawn processes set more.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The dashboard tests wait on the page with expect.poll: 1 s by default.
    expect: { poll: { timeout: 10_000 } },
    // Two cores: each file runs its own redis-server, so keep parallelism modest.
    maxWorkers: 2,
    // Files share a worker's module cache instead of importing core, zod,
    // ioredis and the rest afresh each: on this two-core machine the whole
    // run took 622 s and 924 s of CPU against 762 s and 1,172 s isolated
    // (2026-12-01). Test files keep no state at module level that another
    // file could see: fake timers and spies are undone in afterEach, and
    // each file starts its own redis-server and key prefixes.
    isolate: false,
    sequence: { sequencer: LongestFirst },
    typecheck: { enabled: false },
  },
});
