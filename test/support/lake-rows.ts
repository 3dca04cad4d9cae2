import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { attachLakeSql } from '../../src/warehouse/ducklake/ducklake-warehouse.js';
import type { LakeTarget } from '../../src/warehouse/warehouse-setup.js';

/**
 * One instance of DuckDB per test process for reading lakes, apart from pipe's: loading the
 * ducklake and postgres extensions costs a third of a second of CPU per instance (DuckDB
 * hashes each extension file to check its signature), far more than a read. Each read attaches
 * the lake anew and detaches it after, so it sees the lake's last commit; reads take turns.
 */
let reader: Promise<DuckDBConnection> | undefined;
let turn: Promise<unknown> = Promise.resolve();

/** Rows of `sql` read on the lake attached read-only. */
export async function lakeRows(lake: LakeTarget, sql: string): Promise<Record<string, unknown>[]> {
  return (await lakeRowsOf(lake, [sql]))[0];
}

/** The rows of each query, read on one attach of the lake (an attach costs more than a small query). */
export function lakeRowsOf(lake: LakeTarget, sqls: readonly string[]): Promise<Record<string, unknown>[][]> {
  const read = turn.then(async () => {
    reader ??= DuckDBInstance.create(':memory:').then((instance) => instance.connect());
    const c = await reader;
    await c.run(attachLakeSql(lake, true));
    try {
      await c.run('USE lake');
      const out: Record<string, unknown>[][] = [];
      for (const sql of sqls) out.push((await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]);
      return out;
    } finally {
      await c.run('USE memory; DETACH lake');
    }
  });
  turn = read.catch(() => undefined);
  return read;
}
