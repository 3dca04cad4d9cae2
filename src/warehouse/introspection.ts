import { quoteLiteral } from '../sql/sql-text.js';
import type { Column } from './dialect.js';
import type { QueryTable, WarehouseSession } from './warehouse.js';

/**
 * What a template may ask the warehouse while it renders for a run (dbt's `run_query`,
 * `statement`, `adapter.get_columns_in_relation`, `adapter.get_relation`), and how a session
 * answers. Rendering is synchronous and the warehouse is not: a render stops at the first
 * question it has no answer to, the question is answered here, and the render starts over
 * with every answer so far (see execute/render-at-run.ts).
 */

export type Question =
  /** A query's whole result. */
  | { readonly kind: 'query'; readonly sql: string }
  /** The columns of a relation (`"schema"."name"`), none when it does not exist. */
  | { readonly kind: 'columns'; readonly relation: string }
  /** What stands under a name: a table, a view, or nothing. */
  | { readonly kind: 'relation'; readonly schema: string; readonly identifier: string; readonly database?: string };

export type Answer =
  | { readonly kind: 'query'; readonly table: QueryTable }
  | { readonly kind: 'columns'; readonly columns: readonly Column[] }
  /** `found` with the names as the warehouse spells them. */
  | { readonly kind: 'relation'; readonly found?: { readonly schema: string; readonly identifier: string; readonly type: 'table' | 'view' } };

/** One text per question: a question asked twice is answered once. */
export function questionKey(q: Question): string {
  switch (q.kind) {
    case 'query':
      return `query\u0000${q.sql}`;
    case 'columns':
      return `columns\u0000${q.relation}`;
    case 'relation':
      return `relation\u0000${q.schema}\u0000${q.identifier}`;
    default: {
      const never: never = q;
      throw new Error(`internal error: question ${JSON.stringify(never)}`);
    }
  }
}

/** Asks the warehouse; a query it refuses throws its WarehouseError. */
export async function answerQuestion(session: WarehouseSession, q: Question): Promise<Answer> {
  switch (q.kind) {
    case 'query':
      return { kind: 'query', table: withNumbers(await session.table(q.sql)) };
    case 'columns':
      return { kind: 'columns', columns: await session.dialect.describeRelation(session, q.relation) };
    case 'relation': {
      // Matched without regard to case, as DuckDB matches names.
      const rows = await session.query(
        `SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE lower(table_schema) = lower(${quoteLiteral(q.schema)}) AND lower(table_name) = lower(${quoteLiteral(q.identifier)}) AND lower(table_catalog) = lower(${q.database === undefined ? 'current_database()' : quoteLiteral(q.database)})`,
      );
      const row = rows[0];
      if (!row) return { kind: 'relation' };
      const type = String(row.table_type) === 'VIEW' ? 'view' : 'table';
      return { kind: 'relation', found: { schema: String(row.table_schema), identifier: String(row.table_name), type } };
    }
    default: {
      const never: never = q;
      throw new Error(`internal error: question ${JSON.stringify(never)}`);
    }
  }
}

/** Types whose values come as text, lest a large one lose digits. */
const EXACT_NUMBER = /^(BIGINT|HUGEINT|UBIGINT|UHUGEINT|DECIMAL|NUMERIC)\b/i;

/**
 * A result whose big integers and decimals are numbers where a number holds them exactly (a
 * count is a BIGINT: `{{ n + 1 }}` must add, as it does in dbt); the others stay text.
 */
function withNumbers(table: QueryTable): QueryTable {
  const exact = table.columns.map((c) => EXACT_NUMBER.test(c.type));
  if (!exact.includes(true)) return table;
  const number = (v: unknown) => {
    if (typeof v !== 'string') return v;
    const n = Number(v);
    return String(n) === v ? n : v;
  };
  return { columns: table.columns, rows: table.rows.map((r) => r.map((v, i) => (exact[i] ? number(v) : v))) };
}

/** The answer a render gets where there is no warehouse to ask: dbt's parse, where every answer is empty. */
export function emptyAnswer(q: Question): Answer {
  switch (q.kind) {
    case 'query':
      return { kind: 'query', table: { columns: [], rows: [] } };
    case 'columns':
      return { kind: 'columns', columns: [] };
    case 'relation':
      return { kind: 'relation' };
    default: {
      const never: never = q;
      throw new Error(`internal error: question ${JSON.stringify(never)}`);
    }
  }
}
