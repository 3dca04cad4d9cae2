import { quoteIdent } from '../../sql/sql-text.js';
import type { Step } from '../task.js';
import { incrementalStaging, publishStaged } from './incremental.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * `merge` and `delete+insert` (dbt's strategies with a `unique_key`): the run's rows are
 * staged in a temporary table, then ONE transaction replaces the table's rows that share a
 * key with a staged row and adds the others. Re-running the same query gives the same table,
 * provided no staged key is NULL (it matches nothing, so every re-run would insert the row
 * again), which fails the task before anything is published. A merge's key must also name one
 * staged row (a row would be updated with one of several chosen by chance); delete+insert
 * deletes every row of a staged key and inserts every staged row, so several rows may share a
 * key (dbt's way of replacing a day: `unique_key='day'`), and a re-run leaves the same rows.
 * The first run creates the table; later runs compare the staged columns with the table's
 * (see schema-change.ts).
 */
export function uniqueKeyStrategy(input: StrategyInput, keys: readonly string[], how: 'merge' | 'delete+insert'): Step[] {
  const staging = incrementalStaging(input);
  const columns = keys.map(quoteIdent).join(', ');
  const named = `unique_key (${keys.join(', ')})`;
  const nullKey = keys.map((k) => `${quoteIdent(k)} IS NULL`).join(' OR ');
  const shared = `SELECT ${columns}, count(*) AS staged_rows FROM ${staging} GROUP BY ${columns} HAVING count(*) > 1`;
  // A first build merges into no table: the key would name several of its rows, which no later run could tell apart.
  const why =
    input.existing === undefined || input.fullRefresh
      ? 'the table would hold several rows of one key, and every later run would merge the key\'s new row into one of them chosen by chance'
      : 'a merge updates a row with one of them chosen by chance';
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
    ...(how === 'merge'
      ? [
          {
            kind: 'assert-empty' as const,
            sql: `${shared} ORDER BY ${columns} LIMIT 5`,
            countSql: `SELECT count(*) AS n FROM (${shared}) AS shared`,
            message: `values of ${named} that more than one staged row has: ${why}; make the query return one row per key, or use incremental_strategy 'delete+insert', which keeps them all`,
            one: `value of ${named} that more than one staged row has: ${why}; make the query return one row per key, or use incremental_strategy 'delete+insert', which keeps them all`,
            location: input.uniqueKeyAt,
          },
        ]
      : []),
    ...publishStaged(input, SQL.replaceByKey(input.relation, staging, keys, how), { keys }),
  ];
}
