import { describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { readRelationsOf } from '../../src/warehouse/relations-of.js';
import { readCatalog } from '../../src/warehouse/run-state.js';

/**
 * After a build, watch reads the catalog entries of the relations the build wrote alone, not
 * the whole catalog (10,000 rows of a large warehouse), and keeps the rest from before: those
 * entries must be the whole catalog's, whatever the names' case and quotes.
 */
describe('readRelationsOf', () => {
  it("gives the whole catalog's entries of the relations asked, and nothing of the others", async () => {
    const warehouse = await DuckDBWarehouse.inMemory();
    const session = await warehouse.session();
    try {
      for (const sql of [
        'CREATE SCHEMA "Odd ""Schema"""',
        'CREATE TABLE main.orders AS SELECT 1 AS id',
        'CREATE VIEW main.v_orders AS SELECT * FROM main.orders',
        'CREATE TABLE "Odd ""Schema"""."Mixed.Case" AS SELECT 1 AS id',
        'CREATE TABLE main.other AS SELECT 1 AS id',
      ]) {
        await session.exec(sql);
      }
      const asked = ['"main"."orders"', '"main"."V_Orders"', '"Odd ""Schema"""."Mixed.Case"', '"main"."gone"'];
      const some = await readRelationsOf(session, asked);
      const all = await readCatalog(session);
      expect([...some].sort()).toEqual([...all].filter(([r]) => asked.some((a) => a.toLowerCase() === r)).sort());
      expect([...some.keys()].sort()).toEqual(['"main"."orders"', '"main"."v_orders"', '"odd ""schema"""."mixed.case"']);
      expect(some.get('"main"."V_ORDERS"')).toBe('view');
      expect([...(await readRelationsOf(session, []))]).toEqual([]);
      // Asked for many (a large project's written relations), the same entries.
      const many = [...asked, ...Array.from({ length: 500 }, (_, i) => `"main"."absent_${i}"`)];
      expect([...(await readRelationsOf(session, many))].sort()).toEqual([...some].sort());
    } finally {
      session.close();
      warehouse.close();
    }
  });
});
