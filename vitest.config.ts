import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests spawn the real binary and DuckDB uses several threads per process:
    // two test files at a time fit a 2-core machine.
    maxWorkers: 2,
  },
});
