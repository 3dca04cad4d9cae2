import { DuckDBInstance } from '@duckdb/node-api';

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

/** Whether the files of `names` have loaded in this process with their signature checked (extensionAvailable). */
export function signaturesChecked(names: readonly string[]): boolean {
  return names.every((n) => checked.has(n));
}
