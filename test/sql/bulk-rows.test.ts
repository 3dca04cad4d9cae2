import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { insertRowsSql, json, timestampFromMs } from '../../src/warehouse/bulk-rows.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * The run state appends many rows in one statement as one JSON text: every value comes back
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

describe('rows appended as one JSON text', () => {
  it('writes every value as it is', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:');
    s = await warehouse.session();
    await s.exec('CREATE TABLE t (name VARCHAR, n BIGINT, i INTEGER, "at" TIMESTAMP, doc JSON)');
    const texts = ["it's", 'a "quoted" \\ back\\slash', 'two\nlines\ttab', '{"looks": ["like", "json"]}', 'žluťoučký 🐎 中文', "'); DROP TABLE t; --", ''];
    const rows = [
      ...texts.map((name, k) => ({ name, n: 2 ** 52 + k, i: 1000 * k - 3, at: Date.UTC(2024, 0, 2, 3, 4, 5, 678) + k, doc: JSON.stringify({ k, name }) })),
      { name: null, n: null, i: null, at: null, doc: null },
    ];
    const sql = insertRowsSql(
      't',
      [
        { name: 'name', type: 'VARCHAR' },
        { name: 'n', type: 'BIGINT' },
        { name: 'i', type: 'INTEGER' },
        { name: 'at', type: 'BIGINT', value: timestampFromMs },
        { name: 'doc', type: 'VARCHAR', value: json },
      ],
      rows,
    );
    await s.exec(sql!);
    const back = await s.query('SELECT name, n::VARCHAR AS n, i, epoch_ms("at")::DOUBLE AS "at", doc::VARCHAR AS doc FROM t ORDER BY i NULLS LAST');
    expect(back).toEqual(rows.map((r) => ({ ...r, n: r.n === null ? null : String(r.n) })));
    expect(insertRowsSql('t', [{ name: 'name', type: 'VARCHAR' }], [])).toBeUndefined();
  });
});
