import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native bridge crashes in worker threads: one forked process per test file.
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
