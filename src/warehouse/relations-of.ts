import { ownRelationName } from '../sql/sql-text.js';
import { Catalog, type RelationType } from './run-state.js';
import type { WarehouseSession } from './warehouse.js';

/**
 * The catalog entries of `relations` alone (`"schema"."name"`, as pipe names them): those that
 * exist, with their type. What a process that knows the rest of the catalog reads after writing
 * a few relations, instead of the whole catalog (10,000 rows of a large warehouse).
 */
export async function readRelationsOf(session: WarehouseSession, relations: readonly string[]): Promise<Catalog> {
  const out = new Catalog();
  if (relations.length === 0) return out;
  // The relation's name as ownRelationName writes it, lowercased as Catalog keys are.
  const quoted = (column: string) => `'"' || replace(${column}, '"', '""') || '"'`;
  const database = `CASE WHEN schema_name <> 'main' AND lower(schema_name) = lower(database_name) THEN ${quoted('database_name')} || '.' ELSE '' END`;
  const named = `lower(${database} || ${quoted('schema_name')} || '.' || ${quoted('name')})`;
  const wanted = session.dialect.memberOf(named, [...new Set(relations.map((r) => r.toLowerCase()))]);
  const rows = await session.query(`SELECT database_name, schema_name, name, type FROM (${session.dialect.relations()}) AS r WHERE ${wanted}`);
  for (const r of rows) out.set(ownRelationName(String(r.database_name), String(r.schema_name), String(r.name)), r.type as RelationType);
  return out;
}
