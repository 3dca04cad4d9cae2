import type { Location } from '../../diagnostics/diagnostics.js';
import type { FixtureRows } from '../../analyze/dbt/unit-tests.js';
import { quoteIdent, quoteLiteral, withCtes } from '../../sql/sql-text.js';
import type { Column } from '../../warehouse/dialect.js';

/**
 * A dbt unit test as dbt runs it: the model's query with each input read from a relation of
 * the given rows, each value cast to the type of that column in the input's relation (columns
 * not given are NULL of their type), compared with the expected rows, cast to the types of the
 * query's columns, on the expected columns, as multisets. The types are the warehouse's, so the
 * query is written when the test runs; nothing is written to the warehouse.
 */

export interface UnitTestInput {
  /** The name the model's query reads the input by. */
  readonly cte: string;
  /** The relation whose columns type the rows (the input as built). */
  readonly relation: string;
  /** As written in the test: `ref('stg_orders')`. */
  readonly label: string;
  readonly rows: FixtureRows;
  readonly location: Location;
}

export interface UnitTestStep {
  readonly name: string;
  readonly model: string;
  readonly location: Location;
  /** The model's query, each input read by its `cte` name. */
  readonly sql: string;
  readonly inputs: readonly UnitTestInput[];
  readonly expect: FixtureRows;
}

/** The columns of a relation ([] when it does not exist), and of a query. */
export interface Describer {
  relation(relation: string): Promise<readonly Column[]>;
  query(sql: string): Promise<readonly Column[]>;
}

/** Marks a row of the differences: in the model's result and not expected, or expected and missing. */
export const DIFF_COLUMN = '@@';

/**
 * The query returning the differences between what the model gives and what is expected: each
 * row with `@@` set to `+++` (actual, not expected) or `---` (expected, not actual), then the
 * compared columns. No row: the test passes.
 */
export async function unitTestQuery(step: UnitTestStep, describe: Describer): Promise<{ readonly sql: string } | { readonly error: string; readonly location: Location }> {
  const ctes: { name: string; sql: string }[] = [];
  for (const input of step.inputs) {
    if (input.rows.kind === 'sql') {
      ctes.push({ name: input.cte, sql: input.rows.sql });
      continue;
    }
    const columns = await describe.relation(input.relation);
    if (columns.length === 0) {
      return { error: `unit test ${step.name}: the columns of ${input.label} come from ${input.relation}, which is not built: build it first (pipe run --select ${input.label === 'this' ? step.model : 'the input'})`, location: input.location };
    }
    const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
    const unknown = input.rows.columns.find((c) => !byName.has(c.toLowerCase()));
    if (unknown !== undefined) {
      return { error: `unit test ${step.name}: ${input.label} has no column '${unknown}' (its columns: ${columns.map((c) => c.name).join(', ')})`, location: input.location };
    }
    ctes.push({ name: input.cte, sql: typedRows(input.rows, columns) });
  }
  const actual = withCtes(step.sql, ctes);
  let compared: readonly string[];
  let expected: string;
  if (step.expect.kind === 'sql') {
    compared = (await describe.query(actual)).map((c) => c.name);
    expected = step.expect.sql;
  } else {
    const columns = await describe.query(actual);
    const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
    const unknown = step.expect.columns.find((c) => !byName.has(c.toLowerCase()));
    if (unknown !== undefined) {
      return { error: `unit test ${step.name}: expects a column '${unknown}', which ${step.model} does not give (its columns: ${columns.map((c) => c.name).join(', ')})`, location: step.location };
    }
    // `rows: []` names no column: no row of any of the model's columns is expected.
    const expectedColumns = step.expect.columns.length === 0 ? columns : step.expect.columns.map((c) => byName.get(c.toLowerCase())!);
    compared = expectedColumns.map((c) => c.name);
    expected = typedRows(step.expect, expectedColumns);
  }
  const list = compared.map(quoteIdent).join(', ');
  const a = quoteIdent('__pipe_actual');
  const e = quoteIdent('__pipe_expected');
  const diff = quoteIdent(DIFF_COLUMN);
  return {
    sql: [
      `with ${a} as (\n${actual}\n), ${e} as (\n${expected}\n)`,
      `select * from (`,
      `  (select '+++' as ${diff}, * from (select ${list} from ${a} except all select ${list} from ${e}))`,
      `  union all`,
      `  (select '---' as ${diff}, * from (select ${list} from ${e} except all select ${list} from ${a}))`,
      `) order by all`,
    ].join('\n'),
  };
}

/** Rows as a query with `columns`, each value cast to its column's type; a column not given is NULL. */
function typedRows(rows: Extract<FixtureRows, { kind: 'rows' }>, columns: readonly Column[]): string {
  const index = new Map(rows.columns.map((c, i) => [c.toLowerCase(), i]));
  const select = (row: readonly unknown[] | undefined) =>
    `select ${columns
      .map((c) => {
        const i = index.get(c.name.toLowerCase());
        const value = row === undefined || i === undefined ? 'NULL' : literal(row[i]);
        return `CAST(${value} AS ${c.type}) AS ${quoteIdent(c.name)}`;
      })
      .join(', ')}`;
  if (rows.rows.length === 0) return `${select(undefined)} limit 0`;
  return rows.rows.map((r) => select(r)).join('\nunion all\n');
}

/** A value of a YAML mapping or a CSV line as SQL. */
function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return quoteLiteral(v.toISOString());
  if (typeof v === 'string') return quoteLiteral(v);
  return quoteLiteral(JSON.stringify(v));
}
