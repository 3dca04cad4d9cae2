import { signaturesChecked } from './extensions.js';
import { instanceDefaults } from './instance-defaults.js';
import { LAKE_EXTENSIONS } from './postgres.js';

/**
 * The DuckDB instances of a lake test file in the test's process (pipe's, run in-process, and
 * the test's own readers and writers), made cheaper where that changes nothing the tests show:
 *
 * - The extensions' signatures are checked once per process. Each instance checks every
 *   extension it loads, hashing the whole file: a third of a second of CPU for ducklake and
 *   postgres_scanner, paid by every lake pipe opens, for files whose signature the process has
 *   checked already (testPostgres loads both with the check before any lake test runs). The
 *   extensions loaded are the real ones, from the same files.
 * - One thread each. DuckDB hands a query's tasks to its other threads and the thread that
 *   asked polls until they are done (locks and its task queue top the profile): on a lake,
 *   where each statement is many small queries of the catalog, that polling was a third of
 *   these files' CPU. Their data fit in one row group, so no query of theirs has work to share
 *   between threads, and pipe's own concurrency (connections running statements at once, on
 *   libuv's threads) is unchanged.
 *
 * The pipe processes the tests start (workers, a run killed with -9, concurrent writers) keep
 * DuckDB's defaults, signature checks and threads alike.
 */
export function lakeInstances(): void {
  instanceDefaults(() => ({ threads: '1', ...(signaturesChecked(LAKE_EXTENSIONS) ? { allow_unsigned_extensions: 'true' } : {}) }));
}
