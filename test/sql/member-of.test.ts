import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { DUCKDB } from '../../src/warehouse/duckdb/dialect.js';
import { quoteLiteral } from '../../src/sql/sql-text.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * memberOf keeps exactly the rows whose value is one of the values given, written as literals
 * for a few and as one JSON text for many: the two forms must agree on every string a name can
 * hold (quotes of both kinds, backslashes, JSON's escapes, other scripts, the empty string).
 */

let warehouse: DuckDBWarehouse;
let s: WarehouseSession;
beforeAll(async () => {
  warehouse = await DuckDBWarehouse.inMemory();
  s = await warehouse.session();
});
afterAll(() => {
  s?.close();
  warehouse?.close();
});

const awkward = ["it's", 'say "hi"', 'back\\slash', 'tab\there', 'line\nbreak', 'ünïcödé', '名前', '😀', '', ' ', '\\u0041', '{"a":1}', '[1]', 'NULL', 'null'];

async function kept(candidates: readonly string[], values: readonly string[]): Promise<string[]> {
  const rows = await s.query(`SELECT v FROM unnest([${candidates.map(quoteLiteral).join(', ')}]::VARCHAR[]) AS t(v) WHERE ${DUCKDB.memberOf('v', values)}`);
  return rows.map((r) => String(r.v)).sort();
}

describe('memberOf', () => {
  it.each([0, 1, 15, 64, 65, 2000])('keeps the candidates that are among %i values, and no other', async (count) => {
    const filler = Array.from({ length: Math.max(0, count - awkward.length) }, (_, i) => `model_${i}`);
    const values = [...awkward, ...filler].slice(0, count);
    const candidates = [...awkward, 'model_0', 'model_1999', 'model_2000', "it''s", 'IT\'S', 'back\\\\slash', 'other'];
    expect(await kept(candidates, values)).toEqual(candidates.filter((c) => values.includes(c)).sort());
  });
});

describe('quoteLiteral', () => {
  it('gives DuckDB every string as it is, a NUL character included (the parser would end the text at it)', async () => {
    const strings = [...awkward, 'a\u0000b', '\u0000', "it's\u0000'"];
    const rows = await s.query(`SELECT v FROM unnest([${strings.map(quoteLiteral).join(', ')}]::VARCHAR[]) WITH ORDINALITY AS t(v, i) ORDER BY i`);
    expect(rows.map((r) => String(r.v))).toEqual(strings);
  });
});
