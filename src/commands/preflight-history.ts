import { error, warning, type Diagnostic } from '../diagnostics/diagnostics.js';
import { quoteIdent } from '../sql/sql-text.js';
import { batchStart, formatDate, formatTimestamp, hourInterval, intervalLabel } from '../dates/dates.js';
import type { Task } from '../plan/task.js';
import { WarehouseError, type WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Before anything runs: a full refresh replaces an incremental model's whole table with what
 * the run builds for its interval. Rows the table holds outside that interval would be gone
 * without a word (`pipe run --full-refresh --date D` would leave one date of ten), so such a
 * run is refused, naming what the table holds and the backfill that rebuilds all of it. One
 * aggregate query per table; nothing is written.
 */

/** How pipe commands are written for this project (its --project and --db), for hints. */
export type PipeCommand = (args: string) => string;

interface Held {
  /** The table's first and last partition value (epoch ms), when it has any. */
  readonly first?: number;
  readonly last?: number;
  /** Dates (or hours) outside the interval, the first and last of them, and rows with no partition value. */
  readonly others: number;
  readonly otherFirst?: number;
  readonly otherLast?: number;
  readonly nulls: number;
}

const ms = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

async function held(session: WarehouseSession, task: Task, r: NonNullable<Task['replacesTable']>): Promise<Held | { rows: number }> {
  const p = quoteIdent('p');
  const outside = `NOT (${p} >= TIMESTAMP '${formatTimestamp(r.interval.start)}' AND ${p} < TIMESTAMP '${formatTimestamp(r.interval.end)}')`;
  const unit = r.unit === 'hour' ? 'hour' : 'day';
  const epochMs = (e: string) => session.dialect.epochMs(e);
  try {
    const [row] = await session.query(
      `SELECT ${epochMs(`min(${p})`)} AS first, ${epochMs(`max(${p})`)} AS last,
         count(DISTINCT date_trunc('${unit}', ${p})) FILTER (WHERE ${outside}) AS others,
         ${epochMs(`min(${p}) FILTER (WHERE ${outside})`)} AS other_first,
         ${epochMs(`max(${p}) FILTER (WHERE ${outside})`)} AS other_last,
         count(*) FILTER (WHERE ${p} IS NULL) AS nulls
       FROM (SELECT CAST(${quoteIdent(r.partitionBy)} AS TIMESTAMP) AS ${p} FROM ${task.relation})`,
    );
    return {
      first: ms(row.first),
      last: ms(row.last),
      others: Number(row.others),
      otherFirst: ms(row.other_first),
      otherLast: ms(row.other_last),
      nulls: Number(row.nulls),
    };
  } catch (e) {
    // The table has no such column (partition_by changed), or one that is not a date: its
    // rows cannot be placed in dates, but they would be deleted all the same.
    if (!(e instanceof WarehouseError)) throw e;
    const [row] = await session.query(`SELECT count(*) AS n FROM ${task.relation}`);
    return { rows: Number(row.n) };
  }
}

/** A partition value as the unit it is counted in: `2024-01-05`, or `2024-01-05T13`. */
function label(at: number, unit: 'date' | 'hour'): string {
  return unit === 'hour' ? intervalLabel(hourInterval(batchStart(at, 'hour'))) : formatDate(at);
}

export async function preflightFullRefresh(
  session: WarehouseSession,
  tasks: readonly Task[],
  command: PipeCommand,
  pipeline: string | undefined,
): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  for (const task of tasks) {
    const r = task.replacesTable;
    if (!r) continue;
    const h = await held(session, task, r);
    // The backfill covers what the table holds and what the run was asked to build.
    const backfill = (start: string, end: string) =>
      command(`backfill${pipeline ? ` ${pipeline}` : ''} --full-refresh --start ${start} --end ${end} --select ${task.node}`);
    const range = (first: number, last: number) =>
      backfill(formatDate(Math.min(first, r.interval.start)), formatDate(Math.max(last, r.interval.end - 1)));
    const refuse = (what: string, hint: string) =>
      diagnostics.push(
        error('full-refresh-deletes-history', `${task.node}: --full-refresh would replace its table with ${r.label} alone and delete ${what}`, { file: task.file }, { hint }),
      );
    if ('rows' in h) {
      if (h.rows === 0) continue;
      // A backfill's range is the history the user names: what cannot be placed in dates is
      // replaced by it, said, since the backfill the refusal names would be refused the same.
      if (task.phase === 'swap') {
        diagnostics.push(
          warning(
            'full-refresh-replaces-unplaced',
            `${task.node}: the table's ${h.rows} row${h.rows === 1 ? '' : 's'} have no ${r.partitionBy} column of dates to tell which dates they belong to: the backfill replaces them all with ${r.label}`,
            { file: task.file },
          ),
        );
        continue;
      }
      refuse(
        `its ${h.rows} row${h.rows === 1 ? '' : 's'}: the table has no ${r.partitionBy} column of dates to tell which dates they belong to`,
        `rebuild its whole history, atomically, with ${backfill('FIRST', 'LAST')} (the first and last date it should hold)`,
      );
      continue;
    }
    if (h.others === 0 && h.nulls === 0) continue;
    // Rows whose partition is NULL belong to no date: a backfill's range, the history the user
    // names, replaces them, said (the backfill a refusal would name would be refused the same).
    if (h.others === 0 && task.phase === 'swap') {
      diagnostics.push(
        warning(
          'full-refresh-replaces-unplaced',
          `${task.node}: the table's ${h.nulls === 1 ? `row with ${r.partitionBy} NULL belongs to no date: the backfill replaces it` : `${h.nulls} rows with ${r.partitionBy} NULL belong to no date: the backfill replaces them`} with ${r.label}`,
          { file: task.file },
        ),
      );
      continue;
    }
    const unit = r.unit;
    const others =
      h.others > 0
        ? `the ${h.others} other ${unit}${h.others === 1 ? '' : 's'} it holds (${label(h.otherFirst!, unit)}${h.others > 1 ? ` … ${label(h.otherLast!, unit)}` : ''})`
        : '';
    const nulls = h.nulls > 0 ? `${h.nulls} row${h.nulls === 1 ? '' : 's'} with ${r.partitionBy} NULL` : '';
    refuse(
      [others, nulls].filter((s) => s !== '').join(' and '),
      `rebuild them all, atomically, with ${range(h.first ?? r.interval.start, h.last ?? r.interval.end - 1)}`,
    );
  }
  return diagnostics;
}
