/**
 * Gives a built warehouse the run history of `runs` earlier runs that each built every model:
 * every record of pipe's run state (`_pipe.run_starts`, `run_ends`, `planned_tasks`,
 * `task_outcomes`, `builds`) copied `runs` times under other run ids, a day earlier each time.
 * What a warehouse holds after a month or two of daily runs, made in seconds instead of hours.
 *
 *   node history.mjs warehouse.duckdb runs
 *
 * Prints {"rows": {table: rows after}}.
 */
import { DuckDBInstance } from '@duckdb/node-api';

const [path, runsText] = process.argv.slice(2);
const runs = Number(runsText);
const DAY_MS = 86_400_000;
const instance = await DuckDBInstance.create(path);
const connection = await instance.connect();
const rows = {};
try {
  await connection.run('BEGIN TRANSACTION');
  for (const table of ['run_starts', 'run_ends', 'planned_tasks', 'task_outcomes', 'builds']) {
    const columns = (await connection.runAndReadAll(
      `SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = '_pipe' AND table_name = '${table}' ORDER BY column_index`,
    )).getRowObjectsJson();
    // Run ids get the copy's number; times move back a day a copy (epoch ms in builds, TIMESTAMPs elsewhere).
    const select = columns.map(({ column_name: name, data_type: type }) => {
      const column = `"${name}"`;
      if (name === 'run_id' || name === 'parent_run_id') return `${column} || '-h' || k`;
      if (type === 'TIMESTAMP') return `${column} - to_days(k::INTEGER)`;
      if (table === 'builds' && (name === 'built_at' || name === 'started_at' || name === 'ended_at')) return `${column} - k * ${DAY_MS}`;
      return column;
    });
    await connection.run(`INSERT INTO _pipe.${table} SELECT ${select.join(', ')} FROM _pipe.${table}, range(1, ${runs + 1}) AS copies(k)`);
    rows[table] = Number((await connection.runAndReadAll(`SELECT count(*) FROM _pipe.${table}`)).getRows()[0][0]);
  }
  await connection.run('COMMIT');
} finally {
  connection.closeSync();
  instance.closeSync();
}
console.log(JSON.stringify({ rows }));
