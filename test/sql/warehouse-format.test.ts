import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { explain, removeTempDirs, tempDir, writeProjectFiles } from '../e2e/helpers.js';
import { runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * pipe writes its warehouse for DuckDB 1.2 and later readers (see STORAGE_COMPATIBILITY):
 * DuckDB would otherwise write every table's statistics in the form of its oldest readers,
 * which it decodes slowly each time it opens the file. The file's header keeps the choice for
 * later writes only from 1.2's format on: a file created for 1.1 has the header of 1.0, and
 * every write after the session that created it took the old form again. Reading alone writes
 * nothing, so a read-only open keeps DuckDB's default. A project's `settings:` may name
 * another, which the file is created with.
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
  /** The one value `sql` reads through `warehouse`. */
  const valueOf = async (warehouse: DuckDBWarehouse, sql: string): Promise<unknown> => {
    const session = await warehouse.session();
    try {
      const [row] = await session.query(sql);
      return Object.values(row)[0];
    } finally {
      session.close();
    }
  };
  const setting = async (warehouse: DuckDBWarehouse) => String(await valueOf(warehouse, "SELECT current_setting('storage_compatibility_version') AS v"));
  /** Metadata blocks in use: a table's statistics in the old form take 3 KB a column, in the new 64 bytes. */
  const metadataInUse = async (warehouse: DuckDBWarehouse) => Number(await valueOf(warehouse, 'SELECT sum(total_blocks - free_blocks)::INTEGER AS n FROM pragma_metadata_info()'));

  /** A table of 40 columns, written and checkpointed through `warehouse`: its metadata in use after. */
  const writeWide = async (warehouse: DuckDBWarehouse) => {
    const session = await warehouse.session();
    const columns = Array.from({ length: 40 }, (_, i) => `range + ${i} AS c${i}`).join(', ');
    await session.exec(`CREATE OR REPLACE TABLE t AS SELECT ${columns} FROM range(10)`);
    await session.exec('CHECKPOINT');
    session.close();
    return metadataInUse(warehouse);
  };

  it('is written for DuckDB 1.2 and later, whether pipe creates it or opens it again', async () => {
    const path = join(tempDir(), 'warehouse.duckdb');
    const created = await DuckDBWarehouse.open(path);
    let first: number;
    try {
      expect(await setting(created)).toBe('v1.2.0');
      first = await writeWide(created);
    } finally {
      created.close();
    }
    expect(formatVersion(path)).toBe(65);
    const again = await DuckDBWarehouse.open(path);
    try {
      expect(await setting(again)).toBe('v1.2.0');
      // Written again by a later session, the statistics keep their new form (a file created for v1.1.0: 35 blocks against 5).
      expect(await writeWide(again)).toBe(first);
    } finally {
      again.close();
    }
    const read = await DuckDBWarehouse.open(path, { readOnly: true });
    try {
      expect(await setting(read)).not.toBe('v1.2.0');
      const session = await read.session();
      expect(await session.query('SELECT count(*)::INTEGER AS n FROM t')).toEqual([{ n: 10 }]);
      session.close();
    } finally {
      read.close();
    }
  });

  it('an earlier pipe\'s warehouse (created for v1.1.0) is opened and written, and keeps its header', async () => {
    const path = join(tempDir(), 'warehouse.duckdb');
    const earlier = await DuckDBInstance.create(path, { storage_compatibility_version: 'v1.1.0' });
    const c = await earlier.connect();
    await c.run('CREATE TABLE kept AS SELECT 1 AS id');
    c.closeSync();
    earlier.closeSync();
    const now = await DuckDBWarehouse.open(path);
    try {
      await writeWide(now);
      const session = await now.session();
      expect(await session.query('SELECT count(*)::INTEGER AS n FROM kept')).toEqual([{ n: 1 }]);
      session.close();
    } finally {
      now.close();
    }
    expect(formatVersion(path)).toBe(64);
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
    // DuckDB 1.4's format (67) where pipe's own choice is DuckDB 1.2's (65).
    expect(formatVersion(join(plain, 'warehouse.duckdb'))).toBe(65);
    expect(formatVersion(join(newer, 'warehouse.duckdb'))).toBe(67);

    const wrong = tempDir();
    writeProjectFiles(wrong, { 'pipe.yaml': 'name: shop\nsettings:\n  storage_compatibility_version: v9.9.9\n', 'models/one.sql': table });
    const refused = await runIn(wrong, { date: '2024-01-02' });
    expect(refused.code, explain(refused)).toBe(2);
    expect(refused.stderr).toMatch(/pipe\.yaml:3: error: .*storage_compatibility_version/);
    expect(existsSync(join(wrong, 'warehouse.duckdb'))).toBe(false);
  });
});
