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
  const { functions, schemas = ['main'] } = await readerOf(session);
  const shadowed = [...functions.defined].filter((name) => functions.builtin.has(name));
  if (shadowed.length === 0) return [];
  // Only a macro an unqualified call finds (the warehouse's or a temporary one, in a schema of
  // the search path: raw.md5 is not md5) and of the kind of the function it is named like (a
  // table macro answers FROM md5(), never md5() in an expression).
  const kinds = `CASE WHEN function_type IN ('table', 'table_macro') THEN 'table' ELSE 'scalar' END`;
  const searched = schemas.map(quoteLiteral).join(', ');
  const rows = await session.query(
    `WITH f AS (SELECT database_name, schema_name, function_name, function_type, internal, ${kinds} AS kind FROM system.main.duckdb_functions() ` +
      `WHERE system.main.lower(function_name) IN (${shadowed.map(quoteLiteral).join(', ')})) ` +
      `SELECT DISTINCT u.database_name AS db, u.schema_name AS schema, u.function_name AS name, u.function_type AS type FROM f u ` +
      `WHERE NOT u.internal AND (u.database_name = system.main.current_database() OR u.database_name = 'temp') ` +
      `AND (system.main.lower(u.schema_name) IN (${searched}) OR system.main.lower(u.database_name || '.' || u.schema_name) IN (${searched})) ` +
      `AND EXISTS (SELECT 1 FROM f b WHERE b.internal AND system.main.lower(b.function_name) = system.main.lower(u.function_name) AND b.kind = u.kind) ORDER BY ALL`,
  );
  return rows.map((r) => {
    const place = [r.db, r.schema, r.name].map((p) => quoteIdent(String(p))).join('.');
    const drop = r.type === 'table_macro' ? 'DROP MACRO TABLE' : 'DROP MACRO';
    return error(
      'macro-shadows-function',
      `the macro ${place} in the warehouse has the name of DuckDB's own function ${String(r.name)}: DuckDB calls the macro wherever ${String(r.name)}( is written unqualified, in pipe's own queries too (its checks, its run state, what it finds current), which would get the macro's answer`,
      undefined,
      { hint: `give the macro another name: ${drop} ${place}; then create it under the new name, and call that name in the models` },
    );
  });
}
