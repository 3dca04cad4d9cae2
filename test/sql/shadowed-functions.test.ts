import { afterEach, describe, expect, it } from 'vitest';
import { preflightShadowedFunctions } from '../../src/commands/preflight-functions.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * A macro with the name of one of DuckDB's own functions is refused before a run: an
 * unqualified call anywhere (pipe's checks too) would get the macro's answer. Only one such a
 * call finds: in a schema of the search path, and of the function's kind.
 */

let warehouse: DuckDBWarehouse | undefined;
let s: WarehouseSession | undefined;
afterEach(() => {
  s?.close();
  warehouse?.close();
});

async function open(): Promise<WarehouseSession> {
  warehouse = await DuckDBWarehouse.open(':memory:');
  s = await warehouse.session();
  return s;
}

const refused = async (session: WarehouseSession) => (await preflightShadowedFunctions(session)).map((d) => [d.message.split(':')[0], d.hint]);

describe('macros named like DuckDB functions', () => {
  it('refuses a scalar macro an unqualified call finds, and leaves one in another schema or of another kind', async () => {
    const session = await open();
    await session.exec("CREATE SCHEMA raw; CREATE MACRO raw.md5(x) AS 'x'; CREATE MACRO main.md5(x) AS TABLE SELECT 1 AS one");
    // DuckDB agrees: md5('a') is its own function.
    expect(await session.query("SELECT md5('a') AS h")).toEqual([{ h: '0cc175b9c0f1b6a831c399e269772661' }]);
    expect(await refused(session)).toEqual([]);
    await session.exec('CREATE MACRO main.upper(x) AS 42');
    expect(await refused(session)).toEqual([
      ['the macro "memory"."main"."upper" in the warehouse has the name of DuckDB\'s own function upper', 'give the macro another name: DROP MACRO "memory"."main"."upper"; then create it under the new name, and call that name in the models'],
    ]);
    // A table macro named like a table function is found by FROM range(): refused, with the statement that drops it.
    await session.exec('DROP MACRO main.upper; CREATE MACRO main.range(n) AS TABLE SELECT 1 AS one');
    expect(await refused(session)).toEqual([
      ['the macro "memory"."main"."range" in the warehouse has the name of DuckDB\'s own function range', 'give the macro another name: DROP MACRO TABLE "memory"."main"."range"; then create it under the new name, and call that name in the models'],
    ]);
  });
});
