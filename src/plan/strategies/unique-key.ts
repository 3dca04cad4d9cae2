import { quoteIdent } from '../../sql/sql-text.js';
import type { Step } from '../task.js';
import { incrementalStaging, publishStaged } from './incremental.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * `merge` and `delete+insert` (dbt's strategies with a `unique_key`): the run's rows are
 * staged in a temporary table, then ONE transaction replaces the table's rows that share a
 * key with a staged row and adds the others. Re-running the same query gives the same table,
 * provided each key names one row: a staged key that is NULL (it matches nothing, so every
 * re-run would insert the row again) or that several staged rows share (dbt-duckdb would insert
 * them all, or update a row with one of them chosen by chance) fails the task before anything
 * is published. The first run creates the table; later runs compare the staged
 * columns with the table's (see schema-change.ts).
 */
export function uniqueKeyStrategy(input: StrategyInput, keys: readonly string[], how: 'merge' | 'delete+insert'): Step[] {
  const staging = incrementalStaging(input);
  const columns = keys.map(quoteIdent).join(', ');
  const named = `unique_key (${keys.join(', ')})`;
  const nullKey = keys.map((k) => `${quoteIdent(k)} IS NULL`).join(' OR ');
  const shared = `SELECT ${columns}, count(*) AS staged_rows FROM ${staging} GROUP BY ${columns} HAVING count(*) > 1`;
  return [
    { kind: 'statement', sql: SQL.stageTempTable(input.stagingName, input.sql), countsRows: true, rowsOf: staging },
    // A key the rows lack would otherwise fail the next statement in the engine's words about pipe's own SQL.
    ...(input.uniqueKeyAt ? [{ kind: 'columns' as const, relation: staging, expected: keys.map((column) => ({ column, namedBy: 'unique_key', location: input.uniqueKeyAt! })) }] : []),
    {
      kind: 'assert-empty',
      sql: `SELECT * FROM ${staging} WHERE ${nullKey} LIMIT 5`,
      countSql: `SELECT count(*) AS n FROM ${staging} WHERE ${nullKey}`,
      message: `staged rows with ${named} NULL: NULL matches no row, so every re-run would insert them again; leave them out of the query or give them a key`,
      one: `staged row with ${named} NULL: NULL matches no row, so every re-run would insert it again; leave it out of the query or give it a key`,
      location: input.uniqueKeyAt,
    },
    {
      kind: 'assert-empty',
      sql: `${shared} ORDER BY ${columns} LIMIT 5`,
      countSql: `SELECT count(*) AS n FROM (${shared}) AS shared`,
      message: `values of ${named} that more than one staged row has: a key must name one row, or the table would keep them all, or one of them chosen by chance; make the query return one row per key`,
      one: `value of ${named} that more than one staged row has: a key must name one row, or the table would keep them all, or one of them chosen by chance; make the query return one row per key`,
      location: input.uniqueKeyAt,
    },
    ...publishStaged(input, SQL.replaceByKey(input.relation, staging, keys, how), { keys }),
  ];
}
