import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { insertRowsSql, json, timestampFromMs } from '../../src/warehouse/bulk-rows.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * The run state appends rows in one statement (many as one JSON text): every value comes back
 * as it went in, whatever it holds (quotes, newlines, backslashes, text that looks like JSON,
 * a column named by a keyword,
 * characters outside ASCII, NULL), with times read as the TIMESTAMP of their milliseconds.
 */

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
});

describe('rows appended in one statement', () => {
  it('writes every value as it is, a few rows as a VALUES list and many as one JSON text', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:');
    s = await warehouse.session();
    const texts = ["it's", 'a "quoted" \\ back\\slash', 'two\nlines\ttab', '{"looks": ["like", "json"]}', 'žluťoučký 🐎 中文', "'); DROP TABLE t; --", ''];
    const columns = [
      { name: 'name', type: 'VARCHAR' },
      { name: 'n', type: 'BIGINT' },
      { name: 'i', type: 'INTEGER' },
      { name: 'at', type: 'BIGINT', value: timestampFromMs },
      { name: 'doc', type: 'VARCHAR', value: json },
    ] as const;
    for (const copies of [1, 4]) {
      await s.exec('CREATE OR REPLACE TABLE t (name VARCHAR, n BIGINT, i INTEGER, "at" TIMESTAMP, doc JSON)');
      const rows = [
        ...Array.from({ length: copies }, (_, c) =>
          texts.map((name, k) => ({ name, n: 2 ** 52 + k, i: 1000 * (c * texts.length + k) - 3, at: Date.UTC(2024, 0, 2, 3, 4, 5, 678) + k, doc: JSON.stringify({ k, name }) })),
        ).flat(),
        { name: null, n: null, i: null, at: null, doc: null },
      ];
      const sql = insertRowsSql('t', columns, rows)!;
      expect(sql.includes('from_json'), `${rows.length} rows`).toBe(copies > 1);
      await s.exec(sql);
      const back = await s.query('SELECT name, n::VARCHAR AS n, i, epoch_ms("at")::DOUBLE AS "at", doc::VARCHAR AS doc FROM t ORDER BY i NULLS LAST');
      expect(back).toEqual(rows.map((r) => ({ ...r, n: r.n === null ? null : String(r.n) })));
    }
    expect(insertRowsSql('t', [{ name: 'name', type: 'VARCHAR' }], [])).toBeUndefined();
  });
});
