import { formatTimestamp } from '../../dates/dates.js';
import { quoteIdent } from '../../sql/sql-text.js';
import type { CountedStatements } from '../../warehouse/dialect.js';
import type { Step } from '../task.js';
import { SQL, type StrategyInput } from './strategy.js';

/**
 * Where an incremental task stages its rows: they are copied into the table when published,
 * so a temporary table of the task's connection does, never written to the database file
 * and gone with the connection, even after a crash.
 */
export function incrementalStaging(input: Pick<StrategyInput, 'stagingName'>): string {
  return SQL.tempRelation(input.stagingName);
}

/**
 * The interval's rows staged in a temporary table, every row checked to fall inside the
 * interval; returns the steps and the condition "inside the interval" for publishing.
 */
export function stageInterval(input: StrategyInput): { steps: Step[]; inside: string } {
  const staging = incrementalStaging(input);
  const { interval, partitionBy } = input;
  if (!interval || !partitionBy) throw new Error('internal error: incremental task without interval or partition_by');
  const inside = SQL.inInterval(partitionBy, interval.start, interval.end);
  const outside = `${quoteIdent(partitionBy)} IS NULL OR NOT (${inside})`;
  const steps: Step[] = [
    { kind: 'statement', sql: SQL.stageTempTable(input.stagingName, input.sql), countsRows: true, rowsOf: staging },
    {
      kind: 'assert-empty',
      sql: `SELECT * FROM ${staging} WHERE ${outside} LIMIT 5`,
      countSql: `SELECT count(*) AS n FROM ${staging} WHERE ${outside}`,
      message:
        `rows outside the run's interval [${formatTimestamp(interval.start)}, ${formatTimestamp(interval.end)}) by ${partitionBy}` +
        ` (or with ${partitionBy} NULL); ${
          input.keepInside ??
          `an incremental model returns the rows of its interval only, e.g. where ${partitionBy} >= '{{ interval_start }}' and ${partitionBy} < '{{ interval_end }}'`
        }`,
    },
  ];
  return { steps, inside };
}

/**
 * `incremental` (partition replace): stage the interval's rows, refuse any row outside the
 * interval (it would survive the next re-run and break idempotency), then in one transaction
 * delete the interval from the target and insert the staged rows. The first run creates the
 * target from the staged rows' shape; later runs compare the staged columns with the table's
 * (see schema-change.ts).
 */
export function incrementalStrategy(input: StrategyInput): Step[] {
  const { steps: stage, inside } = stageInterval(input);
  return [...stage, ...publishStaged(input, SQL.replacePartition(input.relation, incrementalStaging(input), inside))];
}

/**
 * What follows staging in an incremental build: the staged columns compared with the table's
 * (unless the table is rebuilt), then ONE transaction that runs `publish` (after dropping a
 * view of the name, or the table under --full-refresh), then the cleanup after a failure.
 */
export function publishStaged(input: StrategyInput, publish: CountedStatements): Step[] {
  const staging = incrementalStaging(input);
  const replace = input.fullRefresh || input.existing === 'view';
  const drop = replace ? SQL.dropRelation(input.relation, input.existing === 'view' ? 'view' : 'table') : [];
  return [
    ...(replace ? [] : [{ kind: 'schema-change' as const, target: input.relation, staging, policy: input.onSchemaChange ?? 'fail' }]),
    { kind: 'publish', statements: [...drop, ...publish.statements], countsRowsAt: drop.length + publish.countAt },
    { kind: 'cleanup', sql: SQL.dropTable(staging) },
  ];
}
