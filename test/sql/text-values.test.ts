import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * Text read from DuckDB comes back as DuckDB holds it, every character kept: DuckDB's client
 * decodes text with a decoder that would drop a leading U+FEFF (see duckdb-client.ts).
 */

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
});

describe('text read from the warehouse', () => {
  it('keeps a leading U+FEFF, in rows, in lists and in structs', async () => {
    warehouse = await DuckDBWarehouse.open(':memory:');
    s = await warehouse.session();
    const [row] = await s.query("SELECT chr(65279) || 'x' AS v, length(chr(65279) || 'x') AS n, [chr(65279) || 'y'] AS l, {'k': chr(65279) || 'z'} AS st, 'x' || chr(65279) AS tail");
    expect(row.v).toBe('\ufeffx');
    expect(Number(row.n)).toBe(2);
    expect(row.l).toEqual(['\ufeffy']);
    expect(row.st).toEqual({ k: '\ufeffz' });
    expect(row.tail).toBe('x\ufeff');
  });
});
