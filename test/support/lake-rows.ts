import { DuckDBInstance } from '@duckdb/node-api';
import { attachLakeSql } from '../../src/warehouse/ducklake/ducklake-warehouse.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';

/** Rows of `sql` read by an instance of DuckDB of its own, attaching the lake read-only. */
export async function lakeRows(lake: LakeTarget, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`${attachLakeSql(lake, true)}; USE lake`);
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
