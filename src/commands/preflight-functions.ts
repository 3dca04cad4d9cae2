import { error, type Diagnostic } from '../diagnostics/diagnostics.js';
import { readerOf } from '../state/query-reads.js';
import { quoteIdent, quoteLiteral } from '../sql/sql-text.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Before a run: no macro of the warehouse has the name of one of DuckDB's own functions. DuckDB
 * calls the macro wherever the name is written unqualified, so one named `count`, `max` or
 * `strftime` would answer pipe's own queries too (its checks' counts, its run state, its
 * judgement of what is current) with the macro's result: a failing check could pass. Such a
 * macro is refused, named with where it lives. The functions are those the run's judgement of
 * its queries asks for anyway (see state/query-reads.ts), so this adds no question when there
 * is none to name.
 */
export async function preflightShadowedFunctions(session: WarehouseSession): Promise<Diagnostic[]> {
  const { functions } = await readerOf(session);
  const shadowed = [...functions.defined].filter((name) => functions.builtin.has(name));
  if (shadowed.length === 0) return [];
  const rows = await session.query(
    `SELECT DISTINCT database_name AS db, schema_name AS schema, function_name AS name FROM system.main.duckdb_functions() ` +
      `WHERE NOT internal AND system.main.lower(function_name) IN (${shadowed.map(quoteLiteral).join(', ')}) ORDER BY ALL`,
  );
  return rows.map((r) => {
    const place = [r.db, r.schema, r.name].map((p) => quoteIdent(String(p))).join('.');
    return error(
      'macro-shadows-function',
      `the macro ${place} in the warehouse has the name of DuckDB's own function ${String(r.name)}: DuckDB calls the macro wherever ${String(r.name)}( is written unqualified, in pipe's own queries too (its checks, its run state, what it finds current), which would get the macro's answer`,
      undefined,
      { hint: `give the macro another name: DROP MACRO ${place}; then create it under the new name, and call that name in the models` },
    );
  });
}
