/**
 * dbt's verdict on a test, as data every phase shares: `failCalc` (default `count(*)`) over
 * the failing rows is the test's failures; `errorIf` and `warnIf` (default `!= 0`) are the
 * conditions, SQL appended to it, that make them an error or a warning.
 */
export interface Threshold {
  readonly failCalc: string;
  readonly warnIf: string;
  readonly errorIf: string;
}

/**
 * The query that judges a dbt test, as dbt's `get_test_sql` writes it: one row with the
 * failures and whether they warn and whether they fail.
 */
export function thresholdSql(sql: string, t: Threshold): string {
  return `select
  ${t.failCalc} as failures,
  ${t.failCalc} ${t.warnIf} as should_warn,
  ${t.failCalc} ${t.errorIf} as should_error
from (
${sql}
) dbt_internal_test`;
}
