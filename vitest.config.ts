import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

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
    // other jobs, `pnpm test:stress`) starts a tsx child or a Chromium in
    // seconds, not milliseconds. Files that spawn processes set more.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The dashboard tests wait on the page with expect.poll: 1 s by default.
    expect: { poll: { timeout: 10_000 } },
    // Two cores: each file runs its own redis-server, so keep parallelism modest.
    maxWorkers: 2,
    typecheck: { enabled: false },
  },
});
