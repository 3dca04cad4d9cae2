import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { explain, removeTempDirs, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * pipe writes its warehouse for DuckDB 1.1 and later readers (see STORAGE_COMPATIBILITY):
 * DuckDB would otherwise write every table's statistics in the form of its oldest readers,
 * which it decodes slowly each time it opens the file. Reading alone writes nothing, so a
 * read-only open keeps DuckDB's default. A project's `settings:` may name another, which the
 * file is created with (a newer one sets the file's format version, in its header).
 */

/** The storage format version in a DuckDB file's header (after the checksum and `DUCK`). */
function formatVersion(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(20);
    readSync(fd, header, 0, 20, 0);
    expect(header.subarray(8, 12).toString('latin1')).toBe('DUCK');
    return Number(header.readBigUInt64LE(12));
  } finally {
    closeSync(fd);
  }
}
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

  it("is created as the project's settings ask, and a version DuckDB does not know is refused at its line", async () => {
    const table = "{{ config(materialized='table') }}\nselect 1 as x\n";
    const plain = tempDir();
    writeProjectFiles(plain, { 'models/one.sql': table });
    expect((await runIn(plain, { date: '2024-01-02' })).code).toBe(0);
    const newer = tempDir();
    writeProjectFiles(newer, { 'pipe.yaml': 'name: shop\nsettings:\n  storage_compatibility_version: v1.4.0\n', 'models/one.sql': table });
    const built = await runIn(newer, { date: '2024-01-02' });
    expect(built.code, explain(built)).toBe(0);
    // DuckDB 1.4's format (67) where pipe's own choice keeps the one DuckDB 1.0 to 1.3 also know (64).
    expect(formatVersion(join(plain, 'warehouse.duckdb'))).toBe(64);
    expect(formatVersion(join(newer, 'warehouse.duckdb'))).toBe(67);

    const wrong = tempDir();
    writeProjectFiles(wrong, { 'pipe.yaml': 'name: shop\nsettings:\n  storage_compatibility_version: v9.9.9\n', 'models/one.sql': table });
    const refused = await runIn(wrong, { date: '2024-01-02' });
    expect(refused.code, explain(refused)).toBe(2);
    expect(refused.stderr).toMatch(/pipe\.yaml:3: error: .*storage_compatibility_version/);
    expect(existsSync(join(wrong, 'warehouse.duckdb'))).toBe(false);
  });
});
