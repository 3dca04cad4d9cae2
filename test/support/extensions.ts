import { DuckDBInstance } from '@duckdb/node-api';

/**
 * Whether a DuckDB extension can be loaded here: installed in DuckDB's extension folder
 * (`.ci/install-duckdb-extensions.sh` puts it there from its PyPI wheel). Tests that need one
 * are skipped without it, except where PIPE_REQUIRE_EXTENSIONS=1 (CI), where a missing
 * extension fails the run instead of hiding the tests.
 */
export async function extensionAvailable(name: string): Promise<boolean> {
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
  const c = await instance.connect();
  try {
    await c.run(`LOAD ${name}`);
    return true;
  } catch (e) {
    if (process.env.PIPE_REQUIRE_EXTENSIONS === '1') throw new Error(`the DuckDB extension ${name} is required here (PIPE_REQUIRE_EXTENSIONS=1): ${String(e)}`);
    return false;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
