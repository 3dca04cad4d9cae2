import type { SchemaChangePolicy } from '../../analyze/model-config.js';
import type { Column, StrategySql } from '../../warehouse/dialect.js';
import { SQL } from './strategy.js';

/**
 * An incremental model's query may gain, lose or retype columns while its table keeps the
 * old shape. Inserting anyway would drop the new columns' data or fill old ones with NULL
 * without a word, so pipe compares the staged columns with the table's before publishing:
 * `fail` (the default) stops with the difference, `append_new_columns` adds the new ones
 * (and stops at a retyped one: inserting into the old type would convert the values unseen),
 * `sync_all_columns` adds, drops and retypes so the table matches the query. The ALTER
 * statements run inside the publishing transaction, so a failure changes nothing.
 */

export type { Column };

export type SchemaChange = { readonly statements: readonly string[] } | { readonly error: string; readonly hint: string };

/**
 * The statements are written in `sql`, the dialect of the session that runs them. `rebuild` is
 * the command that rebuilds the table over the dates it holds, named in the hint of a refusal
 * (a bare `pipe backfill --full-refresh` would be refused for want of its range).
 */
export function schemaChange(
  relation: string,
  table: readonly Column[],
  staged: readonly Column[],
  policy: SchemaChangePolicy,
  sql: StrategySql = SQL,
  rebuild = 'pipe backfill --full-refresh',
): SchemaChange {
  if (table.length === 0) return { statements: [] };
  const key = (c: Column) => c.name.toLowerCase();
  const inTable = new Map(table.map((c) => [key(c), c]));
  const inStaged = new Map(staged.map((c) => [key(c), c]));
  const added = staged.filter((c) => !inTable.has(key(c)));
  const removed = table.filter((c) => !inStaged.has(key(c)));
  const retyped = staged.filter((c) => inTable.has(key(c)) && inTable.get(key(c))!.type !== c.type);
  if (added.length + removed.length + retyped.length === 0) return { statements: [] };

  const adds = added.map((c) => sql.addColumn(relation, c));
  const retypes = retyped.map((c) => `${c.name} ${inTable.get(key(c))!.type} → ${c.type}`).join(', ');
  switch (policy) {
    case 'fail': {
      const parts = [
        added.length > 0 ? `new: ${added.map((c) => `${c.name} ${c.type}`).join(', ')}` : '',
        removed.length > 0 ? `gone: ${removed.map((c) => c.name).join(', ')}` : '',
        retyped.length > 0 ? `retyped: ${retypes}` : '',
      ].filter((p) => p !== '');
      return {
        error: `the query's columns no longer match the table ${relation} (${parts.join('; ')})`,
        // append_new_columns only adds: it is offered for a change it would take.
        // fail is the default, and what dbt's ignore (dbt-duckdb's default) is read as: said, for a dbt project that never set it.
        hint: `rebuild the table with ${rebuild}, or set on_schema_change to ${retyped.length > 0 ? 'sync_all_columns' : 'append_new_columns or sync_all_columns'} (fail is the default, and pipe reads dbt's ignore as fail: ignore would leave the change out of the table without a word)`,
      };
    }
    case 'append_new_columns':
      if (retyped.length > 0) {
        return {
          error: `the query's column types no longer match the table ${relation} (retyped: ${retypes}); append_new_columns only adds columns`,
          hint: `set on_schema_change to sync_all_columns to retype the table, or rebuild it with ${rebuild}`,
        };
      }
      return { statements: adds };
    case 'sync_all_columns':
      return {
        statements: [
          ...adds,
          ...removed.map((c) => sql.dropColumn(relation, c.name)),
          ...retyped.map((c) => sql.retypeColumn(relation, inTable.get(key(c))!.name, c.type)),
        ],
      };
    default: {
      const never: never = policy;
      throw new Error(`internal error: on_schema_change ${String(never)}`);
    }
  }
}
