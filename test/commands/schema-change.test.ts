import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, queryRows, removeTempDirs, snapshotTables, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/** A one-model project whose incremental model's columns change between runs, run in-process. */
function project(columns: string, policy?: string): string {
  const dir = tempDir();
  writeProjectFiles(dir, { 'seeds/raw.csv': 'id,name\n1,a\n2,b\n' });
  setModel(dir, columns, policy);
  return dir;
}

function setModel(dir: string, columns: string, policy?: string): void {
  const option = policy ? `, on_schema_change='${policy}'` : '';
  writeProjectFiles(dir, {
    'models/events.sql': `{{ config(materialized='incremental', partition_by='ds'${option}) }}
select ${columns}, '{{ ds }}'::date as ds from {{ ref('raw') }}
`,
  });
}

const run = (dir: string, date: string) => runIn(dir, { date });

const columnsOf = async (dir: string) =>
  (await queryRows(warehouseOf(dir), 'DESCRIBE events')).map((r) => `${String(r.column_name)} ${String(r.column_type)}`);

describe('an incremental model whose columns change', () => {
  it('fails by default, naming the new, gone and retyped columns, and leaves the table as it was', async () => {
    const dir = project('id, name');
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    const before = await snapshotTables(warehouseOf(dir), ['events']);

    setModel(dir, 'id::VARCHAR AS id, id * 2 AS doubled');
    const r = await run(dir, '2024-01-02');
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout).toContain('no longer match the table "main"."events" (new: doubled BIGINT; gone: name; retyped: id BIGINT → VARCHAR)');
    expect(r.stdout).toContain('--full-refresh');
    expect(r.stdout).toContain('models/events.sql');
    expect(await snapshotTables(warehouseOf(dir), ['events'])).toEqual(before);
  });

  it('the refusal names the backfill that rebuilds every date the table holds, and that backfill works as printed', async () => {
    const dir = project('id, name');
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    expect((await run(dir, '2024-01-03')).code).toBe(0);
    setModel(dir, 'id, upper(name) AS label');
    const r = await run(dir, '2024-01-02');
    expect(r.code, explain(r)).toBe(1);
    const hint = `pipe backfill --full-refresh --start 2024-01-01 --end 2024-01-03 --select events --project ${dir}`;
    expect(r.stdout).toContain(`rebuild the table with ${hint}, or set on_schema_change`);

    const rebuilt = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03', select: ['events'], fullRefresh: true });
    expect(rebuilt.code, explain(rebuilt)).toBe(0);
    expect(await columnsOf(dir)).toEqual(['id BIGINT', 'label VARCHAR', 'ds DATE']);
    expect((await queryRows(warehouseOf(dir), 'SELECT count(DISTINCT ds) AS n FROM events'))[0].n).toBe('3');
  });

  it('a table kept by key names the run that rebuilds it from its query, and that run works as printed', async () => {
    const dir = tempDir();
    const model = (columns: string) => `{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\nselect ${columns} from {{ ref('raw') }}\n`;
    writeProjectFiles(dir, { 'seeds/raw.csv': 'id,name\n1,a\n2,b\n', 'models/latest.sql': model('id, name') });
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    writeProjectFiles(dir, { 'models/latest.sql': model('id, name, 1 AS extra') });
    const r = await run(dir, '2024-01-02');
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout).toContain(`rebuild the table with pipe run --full-refresh --select latest --date 2024-01-02 --project ${dir}, or set on_schema_change`);
    const rebuilt = await runIn(dir, { date: '2024-01-02', select: ['latest'], fullRefresh: true });
    expect(rebuilt.code, explain(rebuilt)).toBe(0);
    // Run with --vars, the command it names builds with them too, not with the project's defaults.
    writeProjectFiles(dir, { 'models/latest.sql': model("id, name, 1 AS extra, '{{ var(\"tag\", \"x\") }}' AS tag") });
    const withVars = await runIn(dir, { date: '2024-01-03', vars: { tag: 'y' } });
    expect(withVars.code, explain(withVars)).toBe(1);
    expect(withVars.stdout).toContain(`rebuild the table with pipe run --full-refresh --select latest --date 2024-01-03 --project ${dir} --vars '{"tag":"y"}', or set on_schema_change`);
    // Not on the command that takes none.
    expect(withVars.stdout).toContain(`details: pipe history `);
    expect(withVars.stdout).not.toMatch(/pipe history \S+ --project \S+ --vars/);
  });

  it('--full-refresh of a table holding other dates is refused; a backfill --full-refresh over them takes the new columns, without reloading the seed', async () => {
    const dir = project('id, name');
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    expect((await run(dir, '2024-01-02')).code).toBe(0);
    setModel(dir, 'id, upper(name) AS label');
    const before = await snapshotTables(warehouseOf(dir), ['events']);
    const refused = await runIn(dir, { date: '2024-01-02', select: ['events'], fullRefresh: true });
    expect(refused.code, explain(refused)).toBe(2);
    const said = refused.stdout + refused.stderr;
    expect(said).toContain('models/events.sql');
    expect(said).toContain('delete the 1 other date it holds (2024-01-01)');
    expect(said).toContain(`pipe backfill --full-refresh --start 2024-01-01 --end 2024-01-02 --select events --project ${dir}`);
    expect(await snapshotTables(warehouseOf(dir), ['events'])).toEqual(before);

    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', select: ['events'], fullRefresh: true });
    expect(r.code, explain(r)).toBe(0);
    expect(eventsOfType(r.events, 'task-started').map((e) => (e.task as { id: string }).id)).toEqual([
      'events@full-refresh:reset',
      'events@2024-01-01',
      'events@2024-01-02',
      'events@full-refresh:swap',
    ]);
    expect(await columnsOf(dir)).toEqual(['id BIGINT', 'label VARCHAR', 'ds DATE']);
    const rows = await queryRows(warehouseOf(dir), 'SELECT DISTINCT ds::VARCHAR AS ds FROM events ORDER BY ds');
    expect(rows).toEqual([{ ds: '2024-01-01' }, { ds: '2024-01-02' }]);
  });

  it('append_new_columns adds the new column; older partitions read NULL in it', async () => {
    const dir = project('id, name', 'append_new_columns');
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    setModel(dir, 'id, name, id * 2 AS doubled', 'append_new_columns');
    const r = await run(dir, '2024-01-02');
    expect(r.code, explain(r)).toBe(0);
    expect(await columnsOf(dir)).toEqual(['id BIGINT', 'name VARCHAR', 'ds DATE', 'doubled BIGINT']);
    const rows = await queryRows(warehouseOf(dir), 'SELECT id::INTEGER AS id, ds::VARCHAR AS ds, doubled::INTEGER AS doubled FROM events ORDER BY ds, id');
    expect(rows).toEqual([
      { id: 1, ds: '2024-01-01', doubled: null },
      { id: 2, ds: '2024-01-01', doubled: null },
      { id: 1, ds: '2024-01-02', doubled: 2 },
      { id: 2, ds: '2024-01-02', doubled: 4 },
    ]);
    // Idempotent: the same date again changes nothing.
    const once = await snapshotTables(warehouseOf(dir), ['events']);
    expect((await run(dir, '2024-01-02')).code).toBe(0);
    expect(await snapshotTables(warehouseOf(dir), ['events'])).toEqual(once);
  });

  it('sync_all_columns adds, drops and retypes so the table matches the query', async () => {
    const dir = project('id, name', 'sync_all_columns');
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    setModel(dir, 'id::VARCHAR AS id, upper(name) AS label', 'sync_all_columns');
    const r = await run(dir, '2024-01-02');
    expect(r.code, explain(r)).toBe(0);
    expect(await columnsOf(dir)).toEqual(['id VARCHAR', 'ds DATE', 'label VARCHAR']);
    const rows = await queryRows(warehouseOf(dir), 'SELECT id, ds::VARCHAR AS ds, label FROM events ORDER BY ds, id');
    expect(rows).toEqual([
      { id: '1', ds: '2024-01-01', label: null },
      { id: '2', ds: '2024-01-01', label: null },
      { id: '1', ds: '2024-01-02', label: 'A' },
      { id: '2', ds: '2024-01-02', label: 'B' },
    ]);
  });

  it('a refusal is reported at the line that sets on_schema_change, else at the config() call', async () => {
    const dir = project('id, name');
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    const locationOf = async () => {
      const r = await run(dir, '2024-01-02');
      expect(r.code, explain(r)).toBe(1);
      const [failed] = eventsOfType(r.events, 'task-failed');
      return (failed.error as { location?: unknown }).location;
    };
    setModel(dir, 'id, upper(name) AS label');
    expect(await locationOf()).toMatchObject({ file: 'models/events.sql', line: 1 });
    writeProjectFiles(dir, { 'models/events.yml': 'models:\n  - name: events\n    config:\n      on_schema_change: append_new_columns\n' });
    setModel(dir, 'id::VARCHAR AS id, name');
    expect(await locationOf()).toMatchObject({ file: 'models/events.yml', line: 4 });
  });

  it("a retype the existing rows cannot take fails at on_schema_change, naming a value that does not convert, and changes nothing", async () => {
    const dir = project("name AS code", 'sync_all_columns');
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    const before = await snapshotTables(warehouseOf(dir), ['events']);
    setModel(dir, 'id AS code', 'sync_all_columns');
    const r = await run(dir, '2024-01-02');
    expect(r.code, explain(r)).toBe(1);
    // Not DuckDB's "Could not convert string 'a' to INT64", which reads as if the query gave 'a'.
    expect(r.stdout).toContain(`on_schema_change sync_all_columns cannot retype column code of "main"."events" from VARCHAR to BIGINT: a value the table holds does not convert, or not to the same value ('a'); rebuild the table with pipe backfill --full-refresh`);
    expect(r.stdout).toContain('at models/events.sql:1');
    expect(r.stdout).not.toContain('Conversion Error');
    expect(await snapshotTables(warehouseOf(dir), ['events'])).toEqual(before);
    expect(await columnsOf(dir)).toEqual(['code VARCHAR', 'ds DATE']);
    // Between numbers, one that converts to another value (1.5 into an INTEGER is 2) is refused too; whole ones convert.
    const numbers = project('id * 1.5::DOUBLE AS amount', 'sync_all_columns');
    expect((await run(numbers, '2024-01-01')).code).toBe(0);
    setModel(numbers, 'id::INTEGER AS amount', 'sync_all_columns');
    const rounded = await run(numbers, '2024-01-02');
    expect(rounded.code, explain(rounded)).toBe(1);
    expect(rounded.stdout).toContain('cannot retype column amount of "main"."events" from DOUBLE to INTEGER: a value the table holds does not convert, or not to the same value (\'1.5\')');
    // And between other types: a timestamp into a DATE would lose its time.
    const times = project("TIMESTAMP '2024-01-01 10:00' AS at", 'sync_all_columns');
    expect((await run(times, '2024-01-01')).code).toBe(0);
    setModel(times, "DATE '2024-01-01' AS at", 'sync_all_columns');
    const cut = await run(times, '2024-01-02');
    expect(cut.code, explain(cut)).toBe(1);
    expect(cut.stdout).toContain(`cannot retype column at of "main"."events" from TIMESTAMP to DATE: a value the table holds does not convert, or not to the same value ('2024-01-01 10:00:00')`);
    const whole = project('id * 2.0::DOUBLE AS amount', 'sync_all_columns');
    expect((await run(whole, '2024-01-01')).code).toBe(0);
    setModel(whole, 'id::INTEGER AS amount', 'sync_all_columns');
    expect((await run(whole, '2024-01-02')).code).toBe(0);
  });

  it('a query naming two columns alike keeps the names its table got (id, id_1): a re-run and the next date write it, and sync_all_columns drops nothing', async () => {
    for (const policy of [undefined, 'sync_all_columns']) {
      const dir = project('id, id * 10 AS id', policy);
      expect((await run(dir, '2024-01-01')).code).toBe(0);
      const again = await runIn(dir, { date: '2024-01-01', force: true });
      expect(again.code, explain(again)).toBe(0);
      const next = await run(dir, '2024-01-02');
      expect(next.code, explain(next)).toBe(0);
      expect(await columnsOf(dir)).toEqual(['id BIGINT', 'id_1 BIGINT', 'ds DATE']);
      expect(await queryRows(warehouseOf(dir), 'SELECT ds::VARCHAR AS ds, sum(id_1)::INTEGER AS s FROM events GROUP BY ds ORDER BY ds')).toEqual([
        { ds: '2024-01-01', s: 30 },
        { ds: '2024-01-02', s: 30 },
      ]);
    }
  });

  it('a partition_by the table does not have is refused whatever on_schema_change says (its rows would never be replaced, and re-runs would add beside them); the backfill it names rebuilds it', async () => {
    for (const policy of [undefined, 'append_new_columns', 'sync_all_columns']) {
      const dir = project('id, name', policy);
      expect((await run(dir, '2024-01-01')).code).toBe(0);
      const before = await snapshotTables(warehouseOf(dir), ['events']);
      // partition_by now names a column the table has not: the rows built so far would have it NULL.
      writeProjectFiles(dir, {
        'models/events.sql': `{{ config(materialized='incremental', partition_by='day'${policy ? `, on_schema_change='${policy}'` : ''}) }}
select id, name, '{{ ds }}'::date as ds, '{{ ds }}'::date as day from {{ ref('raw') }}
`,
      });
      for (const date of ['2024-01-01', '2024-01-02']) {
        const r = await run(dir, date);
        expect(r.code, explain(r)).toBe(1);
        expect(r.stdout).toContain('the table "main"."events" has no column day, by which events replaces the rows of a date');
        expect(r.stdout).toContain('pipe backfill --full-refresh --start FIRST --end LAST --select events');
        expect(await snapshotTables(warehouseOf(dir), ['events'])).toEqual(before);
      }
      const rebuilt = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02', select: ['events'], fullRefresh: true });
      expect(rebuilt.code, explain(rebuilt)).toBe(0);
      // The backfill the refusal names is not refused in turn: it replaces rows it cannot place in dates, and says so.
      expect(rebuilt.stdout + rebuilt.stderr).toContain("events: the table's 2 rows have no day column of dates to tell which dates they belong to: the backfill replaces them all with 2024-01-01 … 2024-01-02");
      expect(await queryRows(warehouseOf(dir), 'SELECT day::VARCHAR AS day, count(*)::INTEGER AS n FROM events GROUP BY day ORDER BY day')).toEqual([
        { day: '2024-01-01', n: 2 },
        { day: '2024-01-02', n: 2 },
      ]);
    }
  });

  it("'ignore' is refused before anything runs in a pipe project, pointing at the config", async () => {
    const dir = project('id', 'ignore');
    const r = await run(dir, '2024-01-01');
    expect(r.code, explain(r)).toBe(2);
    expect(r.stderr).toMatch(/models\/events\.sql:1:\d+: error: on_schema_change 'ignore' is not supported/);
  });

  it("'ignore', dbt's default, runs in a dbt project as fail does: built while the columns match, stopped and named when they change", async () => {
    const dir = project('id', 'ignore');
    writeProjectFiles(dir, {
      'dbt_project.yml': 'name: shop\nprofile: shop\n',
      'profiles.yml': 'shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: warehouse.duckdb\n',
    });
    expect((await run(dir, '2024-01-01')).code).toBe(0);
    expect((await run(dir, '2024-01-02')).code).toBe(0);
    setModel(dir, 'id, name', 'ignore');
    const r = await run(dir, '2024-01-03');
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout).toContain('no longer match the table "main"."events" (new: name VARCHAR)');
    expect(await columnsOf(dir)).toEqual(['id INTEGER', 'ds DATE']);
  });
});
