import { formatTimestamp } from '../../dates/dates.js';
import { quoteIdent, relationName } from '../../sql/sql-text.js';
import type { Step } from '../task.js';
import type { StrategyInput } from './strategy.js';

/** The SQL condition "the partition column falls in [start, end)". */
export function inIntervalSql(column: string, start: number, end: number): string {
  const c = `CAST(${quoteIdent(column)} AS TIMESTAMP)`;
  return `${c} >= TIMESTAMP '${formatTimestamp(start)}' AND ${c} < TIMESTAMP '${formatTimestamp(end)}'`;
}

/**
 * Where an incremental task stages its rows: they are copied into the table when published,
 * so a temporary table of the task's connection does, never written to the database file
 * and gone with the connection, even after a crash.
 */
export function incrementalStaging(input: Pick<StrategyInput, 'stagingName'>): string {
  return relationName('temp', 'main', input.stagingName);
}

/**
 * The interval's rows staged in a temporary table, every row checked to fall inside the
 * interval; returns the steps and the condition "inside the interval" for publishing.
 */
export function stageInterval(input: StrategyInput): { steps: Step[]; inside: string } {
  const staging = incrementalStaging(input);
  const { interval, partitionBy } = input;
  if (!interval || !partitionBy) throw new Error('internal error: incremental task without interval or partition_by');
  const inside = inIntervalSql(partitionBy, interval.start, interval.end);
  const outside = `${quoteIdent(partitionBy)} IS NULL OR NOT (${inside})`;
  const steps: Step[] = [
    { kind: 'statement', sql: `CREATE OR REPLACE TEMP TABLE ${quoteIdent(input.stagingName)} AS\n${input.sql}`, countsRows: true, rowsOf: staging },
    {
      kind: 'assert-empty',
      sql: `SELECT * FROM ${staging} WHERE ${outside} LIMIT 5`,
      countSql: `SELECT count(*) AS n FROM ${staging} WHERE ${outside}`,
      message:
        `rows outside the run's interval [${formatTimestamp(interval.start)}, ${formatTimestamp(interval.end)}) by ${partitionBy}` +
        ` (or with ${partitionBy} NULL); an incremental model returns the rows of its interval only, e.g.` +
        ` where ${partitionBy} >= '{{ interval_start }}' and ${partitionBy} < '{{ interval_end }}'`,
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
  const staging = incrementalStaging(input);
  const { steps: stage, inside } = stageInterval(input);
  const replace = input.fullRefresh || input.existing === 'view';
  return [
    ...stage,
    ...(replace
      ? []
      : [
          {
            kind: 'schema-change' as const,
            target: input.relation,
            staging,
            policy: input.onSchemaChange ?? 'fail',
          },
        ]),
    {
      kind: 'publish',
      statements: [
        ...(replace ? [input.existing === 'view' ? `DROP VIEW IF EXISTS ${input.relation}` : `DROP TABLE IF EXISTS ${input.relation}`] : []),
        `CREATE TABLE IF NOT EXISTS ${input.relation} AS SELECT * FROM ${staging} LIMIT 0`,
        `DELETE FROM ${input.relation} WHERE ${inside}`,
        `INSERT INTO ${input.relation} BY NAME SELECT * FROM ${staging}`,
        `DROP TABLE ${staging}`,
      ],
      countsRowsAt: replace ? 3 : 2,
    },
    { kind: 'cleanup', sql: `DROP TABLE IF EXISTS ${staging}` },
  ];
}
