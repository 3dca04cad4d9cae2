import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Temporary folders in memory where there is room (first: the Postgres cluster's folder
    // is a temporary one); then the stop of the Postgres cluster the DuckLake tests share, if one
    // of them started it.
    globalSetup: ['test/support/temp-in-memory.ts', 'test/support/postgres-teardown.ts'],
    // DuckDB instances in the test processes run on one thread: see the file.
    setupFiles: ['test/support/one-thread.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // A poll waits for something another process or the browser does: on a loaded 2-core
    // machine that can take seconds (a spawned pipe's start alone), never the default 1 s.
    expect: { poll: { timeout: 30_000 } },
    // End-to-end tests spawn the real binary and DuckDB uses several threads per process:
    // two test files at a time fit a 2-core machine.
    maxWorkers: 2,
    // Each worker process loads pipe's modules once for all the files it runs, not once per
    // file: a fifth of the suite's CPU time was module loading. Tests that change process.env
    // put it back; nothing of pipe's keeps state between commands.
    isolate: false,
    // Read only by `npm run coverage` (`--coverage`): instrumenting is off in `npm test`.
    // Code run by a spawned `pipe` is not counted, only code run in the test processes.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.{ts,tsx}'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
