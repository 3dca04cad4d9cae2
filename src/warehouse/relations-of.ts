import { relationName } from '../sql/sql-text.js';
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
  // The relation's name as relationName writes it, lowercased as Catalog keys are.
  const named = `lower('"' || replace(schema_name, '"', '""') || '"."' || replace(name, '"', '""') || '"')`;
  const wanted = session.dialect.memberOf(named, [...new Set(relations.map((r) => r.toLowerCase()))]);
  const rows = await session.query(`SELECT schema_name, name, type FROM (${session.dialect.relations()}) AS r WHERE ${wanted}`);
  for (const r of rows) out.set(relationName(String(r.schema_name), String(r.name)), r.type as RelationType);
  return out;
}
