import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { removeTempDirs, tempDir } from '../e2e/helpers.js';

afterAll(removeTempDirs);

/**
 * pipe writes its warehouse for DuckDB 1.1 and later readers (see STORAGE_COMPATIBILITY):
 * DuckDB would otherwise write every table's statistics in the form of its oldest readers,
 * which it decodes slowly each time it opens the file. Reading alone writes nothing, so a
 * read-only open keeps DuckDB's default.
 */
describe('the warehouse file', () => {
  const setting = async (warehouse: DuckDBWarehouse) => {
    const session = await warehouse.session();
    try {
      const [row] = await session.query("SELECT current_setting('storage_compatibility_version') AS v");
      return String(row.v);
    } finally {
      session.close();
    }
  };

  it('is written for DuckDB 1.1 and later, whether pipe creates it or opens it again', async () => {
    const path = join(tempDir(), 'warehouse.duckdb');
    const created = await DuckDBWarehouse.open(path);
    try {
      expect(await setting(created)).toBe('v1.1.0');
      const session = await created.session();
      await session.exec('CREATE TABLE t AS SELECT range AS id FROM range(10)');
      session.close();
    } finally {
      created.close();
    }
    const again = await DuckDBWarehouse.open(path);
    try {
      expect(await setting(again)).toBe('v1.1.0');
    } finally {
      again.close();
    }
    const read = await DuckDBWarehouse.open(path, { readOnly: true });
    try {
      expect(await setting(read)).not.toBe('v1.1.0');
      const session = await read.session();
      expect(await session.query('SELECT count(*)::INTEGER AS n FROM t')).toEqual([{ n: 10 }]);
      session.close();
    } finally {
      read.close();
    }
  });
});
