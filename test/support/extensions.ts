import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, vi, type MockInstance } from 'vitest';

/** Extensions whose files have loaded in this process with DuckDB's signature check. */
const checked = new Set<string>();

/**
 * Whether a DuckDB extension can be loaded here: installed in DuckDB's extension folder
 * (`.ci/install-duckdb-extensions.sh` puts it there from its PyPI wheel). Tests that need one
 * are skipped without it, except where PIPE_REQUIRE_EXTENSIONS=1 (CI), where a missing
 * extension fails the run instead of hiding the tests. The load checks the file's signature.
 */
export async function extensionAvailable(name: string): Promise<boolean> {
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', allow_unsigned_extensions: 'false' });
  const c = await instance.connect();
  try {
    await c.run(`LOAD ${name}`);
    checked.add(name);
    return true;
  } catch (e) {
    if (process.env.PIPE_REQUIRE_EXTENSIONS === '1') throw new Error(`the DuckDB extension ${name} is required here (PIPE_REQUIRE_EXTENSIONS=1): ${String(e)}`);
    return false;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

const create = DuckDBInstance.create.bind(DuckDBInstance);

/**
 * For the calling test file: once `names` have loaded in this process with DuckDB's signature
 * check (extensionAvailable), the instances its tests create load the same files without
 * checking them again. Each instance checks every extension it loads, hashing the whole file:
 * a third of a second of CPU for ducklake and postgres_scanner, paid by every lake pipe opens
 * in this process, for files whose signature it has already checked. The extensions loaded
 * are the real ones, from the same files; processes the tests start check them as usual.
 */
export function extensionsCheckedOnce(names: readonly string[]): void {
  let spy: MockInstance<typeof DuckDBInstance.create> | undefined;
  beforeAll(() => {
    if (!names.every((n) => checked.has(n))) return;
    spy = vi.spyOn(DuckDBInstance, 'create').mockImplementation((path, options) => create(path, { allow_unsigned_extensions: 'true', ...options }));
  });
  afterAll(() => spy?.mockRestore());
}
