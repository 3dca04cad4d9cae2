import { BUILDS_ARCHIVE, BUILDS_TABLE } from './build-records.js';
import { ARCHIVED_RESULTS_VIEW, STATE_SCHEMA, stateHas } from './run-state.js';
import { forgetStateShape } from './state-shape.js';
import type { WarehouseSession } from './warehouse.js';

/**
 * Every run reads the latest builds of its nodes, who last wrote each relation and what wrote
 * a seed's table since its load (build-records.ts readLatestBuilds, run-state.ts
 * readSeedHashes), and each of those asks `_pipe.builds` for the latest row of a group. The
 * builds are appended forever: an hourly run of the same models adds rows no reader will
 * return again, and every run read them all (the example project's state grown to 10,000
 * earlier runs made an up-to-date run 0.13-0.15 s slower).
 *
 * Here the rows a later row of their own group makes irrelevant are moved to
 * `_pipe.builds_archive`: a build with a later build of the same node, key and relation, a
 * reset with a later reset of the same node. Each reader takes the latest row of a group at
 * least that fine (node and key; relation and node; a node's latest reset or whole build), so
 * what each reads is the same with them or without (a row tied with the latest stays). Nothing
 * is lost: `_pipe.task_results` reads the archive too, and the builds with the archive are the
 * whole record.
 *
 * Only where this process alone writes the warehouse (a DuckDB file), as it is prepared for
 * writing, before any run of the process: no publication is under way, and none of another
 * process can be. Done when the builds have at least doubled since the last move (and hold
 * ARCHIVE_FROM_ROWS rows), so each row is moved at most once and the cost is spread over the
 * runs that appended them. In one transaction: a failure leaves the record as it was.
 */

/** Below this many rows of builds, reading them all costs a run little (some 5 ms at 10,000, from 30-55 ms at 80,000). */
export const ARCHIVE_FROM_ROWS = 10_000;

/**
 * From this many rows of builds a move takes a moment the user is told of (80,000 rows: about
 * 0.5 s; 600,000: 4 s): the first command on a long history recorded before moves were made.
 * The moves after it find twice the rows the last one kept, a few thousand a time.
 */
export const TOLD_FROM_ROWS = 100_000;

/** One move: when, the rows the builds held, how many went to the archive, how many stayed. */
const MOVES_TABLE = `${STATE_SCHEMA}.builds_archived`;

/** The rows a later row of the same group makes irrelevant to every reader of the latest ones (see the module comment). */
const SUPERSEDED = `SELECT rowid AS r FROM ${BUILDS_TABLE} QUALIFY built_at < max(built_at) OVER (PARTITION BY kind, node, key, relation)`;

/** What the user is told as a move of `rows` builds starts, where it takes a moment (see TOLD_FROM_ROWS). */
export function moveNotice(rows: number): string | undefined {
  if (rows < TOLD_FROM_ROWS) return undefined;
  return `the run state holds ${rows.toLocaleString('en-US')} builds: moving those that later builds superseded to ${BUILDS_ARCHIVE}, once (later commands read fewer)`;
}

export interface ArchiveMove {
  readonly rows: number;
  readonly archived: number;
}

/**
 * Moves superseded builds to the archive when they are due (see the module comment);
 * undefined when none were due. `fromRows`: see ARCHIVE_FROM_ROWS. `moving` is told the rows
 * of the builds as a move that is due starts.
 */
export async function archiveSupersededBuilds(session: WarehouseSession, fromRows = ARCHIVE_FROM_ROWS, moving?: (rows: number) => void): Promise<ArchiveMove | undefined> {
  if (!(await stateHas(session, 'builds'))) return undefined;
  const moved = await stateHas(session, 'builds_archived');
  // count(*) of a whole table is read from DuckDB's metadata: this question costs a command little.
  const [row] = await session.query(
    `SELECT (SELECT count(*) FROM ${BUILDS_TABLE}) AS n${moved ? `, (SELECT arg_max(kept, moved_at) FROM ${MOVES_TABLE}) AS kept` : ''}`,
  );
  const rows = Number(row?.n ?? 0);
  const kept = Number(row?.kept ?? 0);
  if (rows < fromRows || rows < 2 * kept) return undefined;
  moving?.(rows);
  const superseded = 'temp.main.__pipe_superseded_builds';
  forgetStateShape(session);
  try {
    const archived = await session.transaction(
      [
        `CREATE TABLE IF NOT EXISTS ${BUILDS_ARCHIVE} AS SELECT * FROM ${BUILDS_TABLE} LIMIT 0`,
        `CREATE TABLE IF NOT EXISTS ${MOVES_TABLE} (moved_at TIMESTAMP, rows BIGINT, archived BIGINT, kept BIGINT)`,
        `CREATE OR REPLACE TEMP TABLE __pipe_superseded_builds AS ${SUPERSEDED}`,
        `INSERT INTO ${BUILDS_ARCHIVE} BY NAME SELECT * FROM ${BUILDS_TABLE} WHERE rowid IN (SELECT r FROM ${superseded})`,
        `DELETE FROM ${BUILDS_TABLE} WHERE rowid IN (SELECT r FROM ${superseded})`,
        `INSERT INTO ${MOVES_TABLE} SELECT now(), ${rows}, (SELECT count(*) FROM ${superseded}), (SELECT count(*) FROM ${BUILDS_TABLE})`,
        `DROP TABLE ${superseded}`,
        ARCHIVED_RESULTS_VIEW,
      ],
      { countAt: 4 },
    );
    return { rows, archived: archived ?? 0 };
  } finally {
    forgetStateShape(session);
  }
}
