import { STATE_SCHEMA } from './run-state.js';

/**
 * Why no model, seed or snapshot may be built in `schema` (DuckDB's names are the same in any
 * case): pipe's run state, or a schema of DuckDB's catalog; undefined when it may.
 */
export function reservedSchema(schema: string): string | undefined {
  const lower = schema.toLowerCase();
  if (lower === STATE_SCHEMA) return `schema '${schema}' holds pipe's run state: nothing else may be built in it`;
  if (lower === 'information_schema' || lower === 'pg_catalog') return `schema '${schema}' is DuckDB's catalog: nothing may be built in it`;
  if (lower === 'temp' || lower === 'system') return `'${schema}' names one of DuckDB's own databases, and cannot be a schema of the warehouse`;
  return undefined;
}
