import { DuckDBInstance } from '@duckdb/node-api';
import { attachLakeSql } from '../../src/warehouse/ducklake/ducklake-warehouse.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';

/** Rows of `sql` read by an instance of DuckDB of its own, attaching the lake read-only. */
export async function lakeRows(lake: LakeTarget, sql: string): Promise<Record<string, unknown>[]> {
  return (await lakeRowsOf(lake, [sql]))[0];
}

/** The rows of each query, read on one attach of the lake (an attach costs more than a small query). */
export async function lakeRowsOf(lake: LakeTarget, sqls: readonly string[]): Promise<Record<string, unknown>[][]> {
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`${attachLakeSql(lake, true)}; USE lake`);
    const out: Record<string, unknown>[][] = [];
    for (const sql of sqls) out.push((await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]);
    return out;
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
