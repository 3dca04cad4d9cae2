import { DAY_MS, formatTimestamp, type Interval } from '../../dates/dates.js';
import { quoteIdent } from '../../sql/sql-text.js';
import type { CountedStatements } from '../../warehouse/dialect.js';
import type { NewRowsOnly, Step } from '../task.js';
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
  const { interval, partitionBy } = intervalOf(input);
  const inside = SQL.inInterval(partitionBy, interval.start, interval.end);
  const outside = outsideCondition(partitionBy, inside);
  const steps: Step[] = [
    { kind: 'statement', sql: SQL.stageTempTable(input.stagingName, input.sql), countsRows: true, rowsOf: staging },
    {
      kind: 'assert-empty',
      sql: `SELECT * FROM ${staging} WHERE ${outside} LIMIT 5`,
      countSql: `SELECT count(*) AS n FROM ${staging} WHERE ${outside}`,
      message: outsideMessage(input.keepInside, partitionBy, interval, 'rows'),
      one: outsideMessage(input.keepInside, partitionBy, interval, 'row'),
      dates: { column: partitionBy, rows: staging },
      ...(input.partitionByAt ? { location: input.partitionByAt } : {}),
    },
  ];
  return { steps, inside };
}

/**
 * `incremental` (partition replace): in one transaction, delete the interval from the table
 * and insert the query's rows, refusing any row outside the interval (it would survive the
 * next re-run and break idempotency), then check the table's rows of the interval; a failed
 * check rolls it all back. The query's rows are written once, straight into the table; the
 * query's columns are compared with the table's first (see schema-change.ts), and a table that
 * does not exist is created from the query's shape.
 *
 * Replacing a view of the name, or the table under --full-refresh, stages the rows first
 * (`stagedStrategy`): the table is then dropped and created again from the staged rows.
 */
export function incrementalStrategy(input: StrategyInput): Step[] {
  return writesOnce(input) ? partitionWrite(input) : stagedStrategy(input);
}

/** The interval's rows written into `input.relation` (see incrementalStrategy); `input.existing` says whether it may need creating. */
export function partitionWrite(input: StrategyInput): Step[] {
  const { interval, partitionBy } = intervalOf(input);
  const inside = SQL.inInterval(partitionBy, interval.start, interval.end);
  const creates = input.existing !== 'table';
  const write = SQL.writePartition(input.relation, input.sql, inside, OUTSIDE_ERROR, creates);
  const rows = `(\n${input.sql}\n) AS "__pipe_rows"`;
  const { keepInside, partitionByAt } = input;
  return [
    {
      kind: 'schema-change',
      target: input.relation,
      staged: { query: input.sql },
      policy: input.onSchemaChange ?? 'fail',
      partitionBy,
      ...(input.partitionByAt ? { partitionByAt: input.partitionByAt } : {}),
      ...(input.schemaChangeAt ? { location: input.schemaChangeAt } : {}),
    },
    {
      kind: 'publish',
      statements: write.statements,
      countsRowsAt: write.countAt,
      partition: {
        inside,
        by: { column: partitionBy, start: interval.start, end: interval.end },
        creates,
        rows,
        // Made when a row falls outside (or the plan is shown), not kept with each task: its
        // queries and messages were ~1.2 KB of each task a long backfill's plan holds.
        get outside() {
          const outside = outsideCondition(partitionBy, inside);
          return {
            error: OUTSIDE_ERROR,
            sql: `SELECT * FROM ${rows} WHERE ${outside} LIMIT 5`,
            countSql: `SELECT count(*) AS n FROM ${rows} WHERE ${outside}`,
            message: outsideMessage(keepInside, partitionBy, interval, 'rows'),
            one: outsideMessage(keepInside, partitionBy, interval, 'row'),
            ...(partitionByAt ? { location: partitionByAt } : {}),
          };
        },
      },
    },
  ];
}

/** The error the insert of a partition raises at a row outside it; the runner then counts them. */
const OUTSIDE_ERROR = 'pipe: a row outside the partition';

/**
 * Whether a partition's rows are staged before its publishing transaction rather than
 * written by it. A query that reads its own table must read it as it was, not after the
 * delete of its partition. On a lake other processes write to, any two transactions that
 * delete from one table conflict at commit and the later one runs again: with the query
 * inside it, each try would run the query again and stay open long enough for the workers'
 * commits to refuse it over and over; staged, it is a delete and an insert of rows at hand.
 */
export function stagesRowsFirst(input: Pick<StrategyInput, 'readsItself' | 'stagePartitions'>): boolean {
  return input.readsItself === true || input.stagePartitions === true;
}

/**
 * Whether an incremental task writes its partition straight into the table. Replacing a view
 * of the name, or the whole table (--full-refresh), drops it in the publishing transaction and
 * creates it from the staged rows; see stagesRowsFirst for the others.
 */
export function writesOnce(input: Pick<StrategyInput, 'fullRefresh' | 'existing' | 'readsItself' | 'stagePartitions'>): boolean {
  return !input.fullRefresh && input.existing !== 'view' && !stagesRowsFirst(input);
}

/** The table's rows of the task's interval, as the checks of a partition read them inside the publishing transaction. */
export function partitionRows(input: StrategyInput): string {
  const { interval, partitionBy } = intervalOf(input);
  return `(SELECT * FROM ${input.relation} WHERE ${SQL.inInterval(partitionBy, interval.start, interval.end)})`;
}

/** The same steps, the interval's rows staged first: see `stageInterval` and `publishStaged`. */
function stagedStrategy(input: StrategyInput): Step[] {
  const { steps: stage, inside } = stageInterval(input);
  return [...stage, ...publishStaged(input, SQL.replacePartition(input.relation, incrementalStaging(input), inside))];
}

function intervalOf(input: StrategyInput) {
  const { interval, partitionBy } = input;
  if (!interval || !partitionBy) throw new Error('internal error: incremental task without interval or partition_by');
  return { interval, partitionBy };
}

const outsideCondition = (partitionBy: string, inside: string) => `${quoteIdent(partitionBy)} IS NULL OR NOT (${inside})`;

function outsideMessage(keepInside: string | undefined, partitionBy: string, interval: Interval, rows: 'row' | 'rows'): string {
  // A DATE holds days: every day's value is its midnight, outside any hour but the first (`--hour` of a daily model).
  const hour = interval.end - interval.start < DAY_MS ? `; the interval is one hour, and a DATE column holds days (run the whole day without --hour, or partition by a TIMESTAMP)` : '';
  return (
    `${rows} outside the run's interval [${formatTimestamp(interval.start)}, ${formatTimestamp(interval.end)}) by ${partitionBy}` +
    ` (or with ${partitionBy} NULL); ${
      keepInside ??
      `an incremental model returns the rows of its interval only, e.g. where ${partitionBy} >= '{{ interval_start }}' and ${partitionBy} < '{{ interval_end }}'`
    }${hour}`
  );
}

/**
 * What follows staging in an incremental build: the staged columns compared with the table's
 * (unless the table is rebuilt; `keys`, a unique_key's columns, which the table must have;
 * `newRowsOnly`, an append's refusal of staged rows the table holds), then ONE transaction that
 * runs `publish` (after dropping a view of the name, or the table under --full-refresh), then
 * the cleanup after a failure.
 */
export function publishStaged(input: StrategyInput, publish: CountedStatements, how: { readonly keys?: readonly string[]; readonly newRowsOnly?: NewRowsOnly } = {}): Step[] {
  const { keys, newRowsOnly } = how;
  const byKey = keys && { columns: keys, ...(input.uniqueKeyAt ? { location: input.uniqueKeyAt } : {}) };
  const staging = incrementalStaging(input);
  const replace = input.fullRefresh || input.existing === 'view';
  const drop = replace ? SQL.dropRelation(input.relation, input.existing === 'view' ? 'view' : 'table') : [];
  return [
    ...(replace
      ? []
      : [
          {
            kind: 'schema-change' as const,
            target: input.relation,
            staged: { relation: staging },
            policy: input.onSchemaChange ?? 'fail',
            ...(input.partitionBy ? { partitionBy: input.partitionBy, ...(input.partitionByAt ? { partitionByAt: input.partitionByAt } : {}) } : {}),
            ...(byKey ? { keys: byKey } : {}),
            ...(newRowsOnly ? { newRowsOnly } : {}),
            ...(input.schemaChangeAt ? { location: input.schemaChangeAt } : {}),
          },
        ]),
    { kind: 'publish', statements: [...drop, ...publish.statements], countsRowsAt: drop.length + publish.countAt },
    { kind: 'cleanup', sql: SQL.dropTable(staging) },
  ];
}
