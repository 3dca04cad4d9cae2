import { instanceDefaults } from './instance-defaults.js';

/**
 * vitest's setup of every test file: the DuckDB instances its tests create in the test's own
 * process (pipe's, run in-process, and the test's readers) run on one thread each, as the lake
 * tests' do (lake-instances.ts). DuckDB hands a query's tasks to its other threads and the
 * thread that asked polls until they are done; the tests' tables fit in one row group, so no
 * query of theirs has work to share between threads, and that polling was a sixth of the CPU
 * of the in-process command tests. pipe's own concurrency (connections running statements at
 * once, on libuv's threads) is unchanged, and a setting a project gives (`threads:`) still
 * applies. The pipe processes the tests start keep DuckDB's defaults.
 */
instanceDefaults(() => ({ threads: '1' }));
