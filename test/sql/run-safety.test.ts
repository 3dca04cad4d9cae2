import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiagnosticError, type Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { statementSeparators } from '../../src/sql/sql-text.js';
import { retry } from '../../src/commands/retry.js';
import { run, runDryRun } from '../../src/commands/run.js';
import { backfill } from '../../src/commands/backfill.js';
import type { PipeEvent } from '../../src/events/events.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { ensureState, insertRunSql, insertTasksSql, readCatalog, recoverAfterCrash, taskResultSql } from '../../src/warehouse/run-state.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

/**
 * What a run must never do, whatever its input: run a second statement hidden in a model or a
 * --var, drop anything but its own staging tables when it recovers from a crash, or put an
 * older build of a table over a newer one when retrying.
 */

afterAll(removeProjects);

const project = (files: Record<string, string>) => tempProject(files);

const query = queryWarehouse;

async function diagnosticsOf(p: Promise<unknown>): Promise<readonly Diagnostic[]> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DiagnosticError);
  return (e as DiagnosticError).diagnostics;
}

const quiet = (events: PipeEvent[] = []) => (e: PipeEvent) => events.push(e);

describe('a query cut short, rendered as its task runs', () => {
  it("is said at its last line, not at pipe's own text after it nor at no line", async () => {
    const dir = project({
      'models/a.sql': 'select 1 as id',
      'models/u.sql': "{% set cols = run_query(\"select 'id' as c\") %}\nselect\n  {% if execute %}{{ cols.columns[0].values()[0] }}{% else %}id{% endif %},\n  count(*) as n\nfrom {{ ref('a') }}\ngroup by\n",
    });
    const events: PipeEvent[] = [];
    await run({ project: dir, date: '2024-01-02', emit: quiet(events) });
    const failed = events.flatMap((e) => (e.type === 'task-failed' ? [e.error] : []));
    expect(failed.map((e) => [e.message.split('\n')[0], e.location])).toEqual([['Parser Error: syntax error at end of input', { file: 'models/u.sql', line: 6 }]]);
  });
});

describe('one statement per model', () => {
  it('finds the semicolons that separate statements, not those in strings, names or comments', () => {
    const sql = "select ';' as \"a;b\" -- c;\n/* d; /* e; */ */ from t; select $$f;$$, E'g\\';'; ";
    expect(statementSeparators(sql)).toEqual([sql.indexOf('; select'), sql.lastIndexOf(';')]);
    expect(statementSeparators('select 1')).toEqual([]);
  });

  it('a --var that closes a quote cannot add a statement: refused at the line, before anything runs', async () => {
    const dir = project({
      'seeds/raw_drivers.csv': 'id\n1\n',
      'models/m.sql': "-- first line\nselect '{{ var(\"x\") }}' as v\n",
    });
    expect((await run({ project: dir, date: '2024-01-02', vars: { x: 'ok' }, emit: quiet() })).status).toBe('succeeded');
    const runsBefore = await query(dir, 'select count(*) as n from _pipe.runs');
    const ds = await diagnosticsOf(run({ project: dir, date: '2024-01-02', vars: { x: "1'; drop table raw_drivers; --" }, emit: quiet() }));
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({ code: 'several-statements', location: { file: 'models/m.sql', line: 2 } });
    expect(ds[0].hint).toContain('sqlstring');
    expect(await query(dir, 'select count(*)::INTEGER as n from raw_drivers')).toEqual([{ n: 1 }]);
    expect(await query(dir, 'select v from m')).toEqual([{ v: 'ok' }]);
    expect(await query(dir, 'select count(*) as n from _pipe.runs')).toEqual(runsBefore);
  });

  it('a model of two statements, and a check of two, are errors at their lines', async () => {
    const dir = project({
      'models/a.sql': 'select 1 as x;\nselect 2 as y\n',
      'models/b.sql': 'select 1 as id\n',
      'models/b.yaml': 'checks:\n  expression: ["id > 0) is not true; select (1"]\n',
    });
    const ds = await diagnosticsOf(run({ project: dir, date: '2024-01-02', emit: quiet() }));
    expect(ds.map((d) => [d.code, d.location?.file, d.location?.line])).toEqual([
      ['several-statements', 'models/a.sql', 1],
      ['several-statements', 'models/b.yaml', 2],
    ]);
  });

  it('a syntax error in a model, a check or from a --var is an error at its line before anything runs, every time', async () => {
    const dir = project({
      'models/ok.sql': 'select 1 as id\n',
      'models/pivoted.sql': "pivot (select 'a' as k, 1 as v from {{ ref('ok') }}) on k using sum(v)\n",
      'models/from_first.sql': "from {{ ref('ok') }} select id\n",
      'models/broken.sql': "select\n  id,\n  {{ var('label') }} as label\nfrom {{ ref('ok') }}\nwhere id = = 1\n",
      'models/quoted.sql': "select '{{ var('who') }}' as who\n",
      'models/checked.sql': 'select 1 as id\n',
      'models/checked.yaml': 'checks:\n  query:\n    - select * from {{ this }} where\n',
      'models/escaped.sql': "select\n  1 as id,\n  U&'d\\0061t' as word\n",
      // A macro's output that no line of the file can be told to have rendered: said with the rendered line.
      'macros/bad.sql': '{% macro bad() %}\nselect * from (select 1 as v) as t\nleft join (select 1 as w) as my-col_option on true\n{% endmacro %}\n{% macro cols() %}\n    id,\n{% endmacro %}\n',
      'models/macro_out.sql': "select *\nfrom {{ ref('ok') }},\n    (select {{ cols() }} 1 as a) as f,\n    ({{ bad() }}) as j\n",
      // A view's checks read its query inside theirs: its error is said once, at the model.
      'models/bad_view.sql': "{{ config(materialized='view') }}\nselect id,,\nfrom {{ ref('ok') }}\n",
      'models/bad_view.yaml': 'checks:\n  not_null: [id]\n  unique: [id]\n',
      // Cut short (a parenthesis never closed): at its last line.
      'models/cut.sql': "select id,\n  1 as b\nfrom {{ ref('ok') }} where (id > 1\n\n-- the end\n",
      // One with an error of its own is said too.
      'models/bad_view2.sql': "{{ config(materialized='view') }}\nselect id,,\nfrom {{ ref('ok') }}\n",
      'models/bad_view2.yaml': 'checks:\n  not_null: [id]\n  expression:\n    - "id >>> ((("\n',
    });
    const vars = { label: "'x'", who: "it's" };
    for (const dryRun of [true, false, false]) {
      const options = { project: dir, date: '2024-01-02', vars, emit: quiet() };
      const ds = await diagnosticsOf(dryRun ? runDryRun(options) : run(options));
      expect(ds.map((d) => [d.code, d.location?.file, d.location?.line]).sort()).toEqual([
        ['sql-syntax', 'models/bad_view.sql', 2],
        ['sql-syntax', 'models/bad_view2.sql', 2],
        ['sql-syntax', 'models/bad_view2.yaml', 3],
        ['sql-syntax', 'models/broken.sql', 5],
        ['sql-syntax', 'models/checked.yaml', 2],
        ['sql-syntax', 'models/cut.sql', 3],
        ['sql-syntax', 'models/escaped.sql', 3],
        ['sql-syntax', 'models/macro_out.sql', undefined],
        ['sql-syntax', 'models/quoted.sql', 1],
      ]);
      expect(ds.map((d) => d.message)).toContainEqual(expect.stringMatching(/^macro_out: syntax error at or near "-" \(rendered line \d+: left join \(select 1 as w\) as my-col_option on true\)$/));
      expect(ds.map((d) => d.message)).toContain('broken: syntax error at or near "="');
      // A model's names the way to build the rest meanwhile, as dbt builds the rest.
      expect(ds.find((d) => d.message === 'broken: syntax error at or near "="')?.hint).toBe('fix it; until then, --exclude broken+ builds the rest of the project');
      expect(ds.map((d) => d.message)).toContain("escaped: DuckDB does not read U&'…' strings (Unicode escapes): write the characters themselves, or build them with chr()");
      expect(ds.map((d) => d.message)).toContain('checked: check query(select * from {{ this }} where): syntax error at end of input');
    }
    // Nothing is written: not even the warehouse the refused run would have made.
    expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
    // Mended, the same project runs: DuckDB's own syntax (PIVOT, FROM first) is not refused.
    const outcome = await run({ project: dir, date: '2024-01-02', vars: { label: "'x'", who: 'them' }, select: ['ok', 'pivoted', 'from_first', 'quoted'], emit: quiet() });
    expect(outcome.status).toBe('succeeded');
    expect(await query(dir, 'select a::INTEGER as a from pivoted')).toEqual([{ a: 1 }]);
  });

  it('a model or check that is a statement other than a query is refused at its line before anything runs, every time; queries of every form run', async () => {
    const dir = project({
      'seeds/raw.csv': 'id,d\n1,2024-01-01\n',
      'models/ok.sql': "select * from {{ ref('raw') }}\n",
      'models/deleting.sql': "-- clears the seed\n\ndelete from {{ ref('raw') }}\n",
      'models/dropping.sql': "{{ config(materialized='view') }}\ndrop table {{ ref('raw') }}\n",
      'models/inserting.sql': "with x as (select 1)\ninsert into {{ ref('raw') }} values (2, '2024-01-02') returning *\n",
      'models/pragma.sql': 'pragma version\n',
      'models/showing.sql': 'show tables\n',
      'models/described.sql': "describe {{ ref('raw') }}\n",
      'models/checked.sql': 'select 1 as id\n',
      'models/checked.yaml': "checks:\n  query: [\"delete from {{ ref('raw') }}\"]\n",
      // Queries in every form DuckDB has: written as they are.
      'models/with_cte.sql': "with r as (select * from {{ ref('raw') }})\nselect id from r\n",
      'models/from_first.sql': "from {{ ref('raw') }} select id\n",
      'models/parenthesized.sql': "(select id from {{ ref('raw') }})\n",
      'models/valued.sql': 'values (1, 2)\n',
      'models/pivoted.sql': "pivot {{ ref('raw') }} on d using count(*)\n",
      'models/unpivoted.sql': "unpivot (select id, id + 1 as b from {{ ref('raw') }}) on id, b into name k value v\n",
      'models/from_described.sql': "from (describe {{ ref('raw') }}) select column_name\n",
      'models/by_macro.sql': "{{ config(materialized='table') }}\n{{ whole('raw') }}\n",
      'macros/whole.sql': "{% macro whole(name) %}select * from {{ ref(name) }}{% endmacro %}\n",
    });
    for (const dryRun of [true, false, false]) {
      const options = { project: dir, date: '2024-01-02', emit: quiet() };
      const ds = await diagnosticsOf(dryRun ? runDryRun(options) : run(options));
      expect(ds.map((d) => [d.code, d.location?.file, d.location?.line]).sort()).toEqual([
        ['not-a-query', 'models/checked.yaml', 2],
        ['not-a-query', 'models/deleting.sql', 3],
        ['not-a-query', 'models/described.sql', 1],
        ['not-a-query', 'models/dropping.sql', 2],
        ['not-a-query', 'models/inserting.sql', 1],
        ['not-a-query', 'models/pragma.sql', 1],
        ['not-a-query', 'models/showing.sql', 1],
      ]);
      expect(ds.map((d) => d.message)).toContain(
        'deleting is a DELETE statement, not a query: a model is one query (select ..., with ... select ..., from ..., values ...), whose rows pipe writes as its table or view',
      );
      expect(ds.map((d) => d.message)).toContain(
        'inserting is a WITH statement, not a query: a model is one query (select ..., with ... select ..., from ..., values ...), whose rows pipe writes as its table or view',
      );
      expect(existsSync(join(dir, 'warehouse.duckdb'))).toBe(false);
    }
    const outcome = await run({
      project: dir,
      date: '2024-01-02',
      select: ['+with_cte', '+from_first', '+parenthesized', '+valued', '+pivoted', '+unpivoted', '+from_described', '+by_macro'],
      emit: quiet(),
    });
    expect(outcome.status).toBe('succeeded');
    expect(await query(dir, 'select count(*)::INTEGER as n from raw')).toEqual([{ n: 1 }]);
  });

  it('sqlstring and ident put outside values in as one literal and one name', async () => {
    const dir = project({ 'models/m.sql': "select {{ var('x') | sqlstring }} as {{ var('col') | ident }}\n" });
    const value = "1'; drop table m; --";
    const outcome = await run({ project: dir, date: '2024-01-02', vars: { x: value, col: 'we"ird; col' }, emit: quiet() });
    expect(outcome.status).toBe('succeeded');
    expect(await query(dir, 'select * from m')).toEqual([{ 'we"ird; col': value }]);
  });

  it('sqlstring refuses a list or a mapping, whose text would be one literal of its items joined', async () => {
    const dir = project({ 'models/m.sql': "select {{ var('regions') | sqlstring }} as r, {{ var('regions') | map('sqlstring') | join(', ') }} as each\n" });
    const refused = await run({ project: dir, date: '2024-01-02', vars: { regions: ['eu', 'us'] }, emit: quiet() }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DiagnosticError);
    const [d] = (refused as DiagnosticError).diagnostics;
    expect([d.message, d.location?.file, d.location?.line]).toEqual(["sqlstring quotes one value, not a list; for a list, quote each: {{ values | map('sqlstring') | join(', ') }}", 'models/m.sql', 1]);
    writeFileSync(join(dir, 'models/m.sql'), "select {{ var('regions') | map('sqlstring') | join(', ') }}\n");
    expect((await run({ project: dir, date: '2024-01-02', vars: { regions: ['eu', 'us'] }, emit: quiet() })).status).toBe('succeeded');
    expect(await query(dir, 'select * from m')).toEqual([{ "'eu'": 'eu', "'us'": 'us' }]);
  });
});

describe('crash recovery', () => {
  it.each(['listing the warehouse', "from the listing the run's analysis read"])('drops only staging tables, whatever their names hold, and marks runs by what committed (%s)', async (how) => {
    const dir = project({});
    const wh = await DuckDBWarehouse.open(join(dir, 'warehouse.duckdb'));
    const s = await wh.session();
    try {
      await ensureState(s);
      await s.exec('create table raw_trips as select 1 as id');
      await s.exec(`create table "__pipe_stage__evil""; DROP TABLE main.raw_trips; --" as select 1 as id`);
      await s.exec('create schema "odd; schema"');
      await s.exec(`create table "odd; schema"."__pipe_stage__x" as select 1 as id`);
      const t0 = Date.parse('2024-01-02T00:00:00Z');
      for (const runId of ['done', 'half']) {
        await s.exec(insertRunSql({ runId, command: 'run', params: {}, startedAt: t0, version: 'test' }));
        for (const sql of insertTasksSql(runId, [
          { id: 'a', node: 'a', kind: 'table', upstream: [] },
          { id: 'b', node: 'b', kind: 'table', upstream: ['a'] },
        ]))
          await s.exec(sql);
        await s.exec(taskResultSql({ runId, taskId: 'a', attempt: 1, status: 'succeeded', endedAt: t0 + 1000 }));
      }
      // The last task of `done` committed; its process died before recording the run's end.
      await s.exec(taskResultSql({ runId: 'done', taskId: 'b', attempt: 1, status: 'succeeded', endedAt: t0 + 2000 }));
      const listed = how === 'listing the warehouse' ? undefined : (await readCatalog(s)).listed;
      const recovered = await recoverAfterCrash(s, undefined, listed);
      expect(recovered.droppedStaging.sort()).toEqual(['"main"."__pipe_stage__evil""; DROP TABLE main.raw_trips; --"', '"odd; schema"."__pipe_stage__x"']);
      expect(await s.query("select table_name from duckdb_tables() where schema_name <> '_pipe' order by all")).toEqual([{ table_name: 'raw_trips' }]);
      expect(await s.query('select run_id, status from _pipe.runs order by run_id')).toEqual([
        { run_id: 'done', status: 'succeeded' },
        { run_id: 'half', status: 'interrupted' },
      ]);
    } finally {
      s.close();
      wh.close();
    }
  });
});

describe('pipe retry', () => {
  it('never puts an older build of a table over one a later run published; it says so and rebuilds the rest', async () => {
    const dir = project({
      // Fails while the seed says so: the later run loads it mended. flaky's query is the same whatever the date.
      'seeds/ctl.csv': 'fail\n1\n',
      'models/run_marker.sql': "select '{{ ds }}' as ds\n",
      'models/flaky.sql': "select case when fail = 1 then cast('x' as int) else 1 end as v from {{ ref('ctl') }}\n",
      'models/after_flaky.sql': "select v, '{{ ds }}' as ds from {{ ref('flaky') }}\n",
      'models/late.sql': "select '{{ ds }}' as ds from {{ ref('flaky') }}\n",
    });
    expect((await run({ project: dir, date: '2024-01-03', emit: quiet() })).status).toBe('failed');
    writeFileSync(join(dir, 'seeds/ctl.csv'), 'fail\n0\n');
    // A later run publishes run_marker and after_flaky's upstream, but not late or after_flaky.
    expect((await run({ project: dir, date: '2024-01-04', select: ['ctl', 'run_marker', 'flaky'], emit: quiet() })).status).toBe('succeeded');
    const events: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: quiet(events) });
    expect('status' in outcome && outcome.status).toBe('succeeded');
    const skipped = events.flatMap((e) => (e.type === 'task-skipped' ? [[e.task.model, e.reason]] : []));
    expect(skipped).toEqual([['flaky', 'superseded']]);
    // Counted apart: done (nothing left to retry), but not built.
    expect(events.find((e) => e.type === 'run-finished')).toMatchObject({ superseded: 1 });
    expect(events.find((e) => e.type === 'task-skipped')).toMatchObject({ detail: expect.stringContaining('2024-01-04') });
    // flaky keeps the later run's build; what read it in the failed run is built for its date.
    expect(await query(dir, 'select * from run_marker')).toEqual([{ ds: '2024-01-04' }]);
    expect(await query(dir, 'select * from after_flaky')).toEqual([{ v: 1, ds: '2024-01-03' }]);
    expect(await query(dir, 'select * from late')).toEqual([{ ds: '2024-01-03' }]);
    // Done: a second retry has nothing left to do.
    expect(await retry({ project: dir, emit: quiet() })).toMatchObject({ nothingToDo: expect.any(String) });
  });

  it("refuses what reads a table or view a later run rebuilt from another query (another date's): it would read that build", async () => {
    const failing = "(select case when fail = 1 then error('boom') else 1 end from {{ ref('ctl') }})";
    const dir = project({
      'seeds/ctl.csv': 'fail\n1\n',
      'models/dated.sql': "{{ config(materialized='table') }}\nselect '{{ ds }}' as built_for\n",
      'models/dated_view.sql': "{{ config(materialized='view') }}\nselect '{{ ds }}' as built_for\n",
      'models/steady.sql': "{{ config(materialized='table') }}\nselect 2 as w\n",
      'models/from_dated.sql': `{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::date as d, built_for, ${failing} as v from {{ ref('dated') }}\n`,
      'models/from_view.sql': `select built_for, '{{ ds }}' as ds, ${failing} as v from {{ ref('dated_view') }}\n`,
      'models/from_steady.sql': `{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::date as d, w, ${failing} as v from {{ ref('steady') }}\n`,
      // Read through a view the later run did not build: the view reads the table as it is now.
      'models/plain_view.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('dated') }}\n",
      'models/through_view.sql': `select built_for, ${failing} as v from {{ ref('plain_view') }}\n`,
    });
    const first = await run({ project: dir, date: '2024-01-03', vars: { owner: 'ann' }, emit: quiet() });
    expect(first.status).toBe('failed');
    writeFileSync(join(dir, 'seeds/ctl.csv'), 'fail\n0\n');
    // The next day's run builds the tables and the view, not what failed to read them.
    expect((await run({ project: dir, date: '2024-01-04', select: ['ctl', 'dated', 'dated_view', 'steady'], emit: quiet() })).status).toBe('succeeded');
    const events: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: quiet(events) });
    expect('status' in outcome && outcome.status).toBe('failed');
    const failed = events.flatMap((e) => (e.type === 'task-failed' ? [[e.task.id, e.error.message]] : [])).sort();
    const later = (input: string, reader: string) =>
      `${reader} reads ${input}, which run R has rebuilt since for 2024-01-04 from another query than run R's for 2024-01-03 (its query reads the date or a var, or was edited): retried, ${reader} would read that build. pipe run --select ${input} ${reader} --date 2024-01-03 --vars '{"owner": "ann"}' builds both as this run would`;
    expect(failed.map(([id, m]) => [id, m.replace(/run \S+(?= has|'s)/g, 'run R')])).toEqual([
      ['from_dated@2024-01-03', later('dated', 'from_dated')],
      ['from_view@2024-01-03', later('dated_view', 'from_view')],
      ['through_view@2024-01-03', later('dated', 'through_view').replace('reads dated,', 'reads dated through plain_view,')],
    ]);
    // Reading a build of the same query, the date is built: as a run now would.
    expect(await query(dir, "select d::VARCHAR as d, w, v from from_steady")).toEqual([{ d: '2024-01-03', w: 2, v: 1 }]);
    expect(await query(dir, "select table_name from information_schema.tables where table_name in ('from_dated', 'from_view')")).toEqual([]);
    // Built as the message says, the date reads its own day's table.
    expect((await run({ project: dir, date: '2024-01-03', select: ['dated', 'from_dated'], emit: quiet() })).status).toBe('succeeded');
    expect(await query(dir, "select d::VARCHAR as d, built_for from from_dated")).toEqual([{ d: '2024-01-03', built_for: '2024-01-03' }]);
  });

  it('never merges, deletes and inserts, or appends older rows into a table a later run wrote by key since', async () => {
    const failing = "case when '{{ ds }}' = '2024-01-03' and {{ var('broken', true) }} then cast('x' as int) else 1 end";
    const dir = project({
      'models/merged.sql': `{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}\nselect 1 as id, '{{ ds }}' as as_of, ${failing} as v\n`,
      'models/replaced.sql': `{{ config(materialized='incremental', unique_key='id', incremental_strategy='delete+insert') }}\nselect 1 as id, '{{ ds }}' as as_of, ${failing} as v\n`,
      'models/appended.sql': `{{ config(materialized='incremental', incremental_strategy='append') }}\nselect '{{ ds }}' as as_of, ${failing} as v\n`,
    });
    expect((await run({ project: dir, date: '2024-01-03', emit: quiet() })).status).toBe('failed');
    expect((await run({ project: dir, date: '2024-01-04', emit: quiet() })).status).toBe('succeeded');
    // The later run's rows stay: the retry of 2024-01-03 would put older rows over them.
    const events: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: quiet(events) });
    expect('status' in outcome && outcome.status).toBe('succeeded');
    expect(events.flatMap((e) => (e.type === 'task-skipped' ? [[e.task.model, e.reason]] : [])).sort()).toEqual([
      ['appended', 'superseded'],
      ['merged', 'superseded'],
      ['replaced', 'superseded'],
    ]);
    for (const table of ['merged', 'replaced', 'appended']) expect(await query(dir, `select as_of from ${table}`)).toEqual([{ as_of: '2024-01-04' }]);
  });

  it('never replaces a partition or a batch that a later run replaced since; its other dates it builds', async () => {
    // Fails while the seed says so: the later run loads it mended.
    const failing = "(select case when fail = 1 then error('boom') else 1 end from {{ ref('ctl') }})";
    const files = {
      'seeds/ctl.csv': 'fail\n1\n',
      'models/daily.sql': `{{ config(materialized='incremental', partition_by='ds') }}\nselect '{{ ds }}'::date as ds, '{{ var("as_of", "first") }}' as as_of, ${failing} as v\n`,
      'models/events.sql': "select '{{ ds }}'::date as happened union all select '{{ ds }}'::date - 1\n",
      'models/events.yml': 'version: 2\nmodels:\n  - name: events\n    config:\n      event_time: happened\n',
      'models/batched.sql': `{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='happened', batch_size='day', begin='2024-01-01') }}\nselect happened, '{{ var("as_of", "first") }}' as as_of, ${failing} as v from {{ ref('events') }}\n`,
    };
    const dir = project(files);
    // The first run fails both dates of each; a later run (other vars) replaces 2024-01-03 only.
    expect((await backfill({ project: dir, start: '2024-01-02', end: '2024-01-03', emit: quiet() })).status).toBe('failed');
    writeFileSync(join(dir, 'seeds/ctl.csv'), 'fail\n0\n');
    expect((await run({ project: dir, date: '2024-01-03', vars: { as_of: 'later' }, emit: quiet() })).status).toBe('succeeded');
    const events: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: quiet(events) });
    expect('status' in outcome && outcome.status).toBe('succeeded');
    const superseded = events.flatMap((e) => (e.type === 'task-skipped' && e.reason === 'superseded' ? [e.task.id] : []));
    // The later run's microbatch rebuilt the batch before its date too (its lookback of one).
    expect(superseded.sort()).toEqual(['batched@2024-01-02', 'batched@2024-01-03', 'daily@2024-01-03']);
    expect(await query(dir, "select strftime(ds, '%d') as d, as_of from daily order by ds")).toEqual([{ d: '02', as_of: 'first' }, { d: '03', as_of: 'later' }]);
    expect(await query(dir, "select strftime(happened, '%d') as d, as_of from batched order by happened")).toEqual([{ d: '02', as_of: 'later' }, { d: '03', as_of: 'later' }]);
  });

  it('rebuilds a table a later run published when the retry writes what it reads since: the later build misses that date', async () => {
    const dir = project({
      'models/fct.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 10 as n {% if ds == '2024-01-05' %} where error('not ready') is null {% endif %}\n",
      'models/agg.sql': "select count(*)::INTEGER as days, sum(n)::INTEGER as n from {{ ref('fct') }}\n",
      'models/as_of.sql': "select count(*)::INTEGER as days, '{{ ds }}' as as_of from {{ ref('fct') }}\n",
    });
    expect((await backfill({ project: dir, start: '2024-01-01', end: '2024-01-04', emit: quiet() })).status).toBe('succeeded');
    expect((await run({ project: dir, date: '2024-01-05', emit: quiet() })).status).toBe('failed');
    // A later run for an older date builds agg (the same query) and a newer one as_of (another).
    expect((await run({ project: dir, date: '2024-01-03', select: ['agg'], force: true, emit: quiet() })).status).toBe('succeeded');
    expect((await run({ project: dir, date: '2024-01-06', select: ['fct', 'as_of'], emit: quiet() })).status).toBe('succeeded');
    writeFileSync(join(dir, 'models/fct.sql'), "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 10 as n\n");
    const events: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: quiet(events) });
    // Built by the retry with its new date, agg counts it; as_of cannot be built for 2024-01-05 over 2024-01-06's.
    expect(await query(dir, 'select days, n from agg')).toEqual([{ days: 6, n: 60 }]);
    expect('status' in outcome && outcome.status).toBe('failed');
    const failed = events.flatMap((e) => (e.type === 'task-failed' ? [[e.task.id, e.error.message]] : []));
    expect(failed).toEqual([
      [
        'as_of@2024-01-05',
        expect.stringMatching(/^as_of was published by run \S+ for 2024-01-06 before fct was written, so that build misses it; rebuilding it for 2024-01-05 would replace it with an older interval's query: pipe run --select as_of --date 2024-01-06 rebuilds it$/),
      ],
    ]);
    expect(await query(dir, 'select days, as_of from as_of')).toEqual([{ days: 5, as_of: '2024-01-06' }]);
    expect(events.filter((e) => e.type === 'task-skipped')).toEqual([]);
  });

  it("judges a retry of a retry by the run first retried: a run published between them stays newer", async () => {
    const broken = "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, case when '{{ ds }}' = '2024-01-01' then error('boom') else 10 end as v\n";
    const dir = project({ 'models/f.sql': broken, 'models/tot.sql': "select '{{ ds }}' as built_for, count(*)::INTEGER as days from {{ ref('f') }}\n" });
    expect((await run({ project: dir, date: '2024-01-01', emit: quiet() })).status).toBe('failed');
    expect((await run({ project: dir, date: '2024-01-02', emit: quiet() })).status).toBe('succeeded');
    // A retry while f is still broken: the next bare retry retries this one.
    const again = await retry({ project: dir, emit: quiet() });
    expect('status' in again && again.status).toBe('failed');
    writeFileSync(join(dir, 'models/f.sql'), "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 10 as v\n");
    const events: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: quiet(events) });
    expect('status' in outcome && outcome.status).toBe('failed');
    expect(events.flatMap((e) => (e.type === 'task-failed' ? [e.task.id] : []))).toEqual(['tot@2024-01-01']);
    expect(await query(dir, 'select built_for, days from tot')).toEqual([{ built_for: '2024-01-02', days: 1 }]);
  });

  it('rebuilds a table a later run built elsewhere (another schema): only what it wrote where the task writes supersedes it', async () => {
    const dir = project({ 'models/orders.sql': "{{ config(materialized='table', schema=var('s', 'a')) }}\nselect cast('x' as int) as id\n" });
    expect((await run({ project: dir, date: '2024-01-02', emit: quiet() })).status).toBe('failed');
    writeFileSync(join(dir, 'models/orders.sql'), "{{ config(materialized='table', schema=var('s', 'a')) }}\nselect 1 as id\n");
    expect((await run({ project: dir, date: '2024-01-03', vars: { s: 'b' }, emit: quiet() })).status).toBe('succeeded');
    const events: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: quiet(events) });
    expect('status' in outcome && outcome.status).toBe('succeeded');
    expect(events.filter((e) => e.type === 'task-skipped')).toEqual([]);
    expect(await query(dir, "select table_schema as s from information_schema.tables where table_name = 'orders' order by 1")).toEqual([{ s: 'a' }, { s: 'b' }]);
  });

  it('refuses a full refresh whose date a later run replaced since: swapped in, the table would lose it or hold the older version', async () => {
    const dir = project({
      'models/fct.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, {{ var('tag', 1) }} as tag {% if ds == '2024-01-02' and var('tag', 1) == 2 %} where error('boom') is null {% endif %}\n",
    });
    expect((await backfill({ project: dir, start: '2024-01-01', end: '2024-01-03', emit: quiet() })).status).toBe('succeeded');
    expect((await backfill({ project: dir, start: '2024-01-01', end: '2024-01-03', fullRefresh: true, vars: { tag: 2 }, emit: quiet() })).status).toBe('failed');
    expect((await run({ project: dir, date: '2024-01-03', vars: { tag: 3 }, emit: quiet() })).status).toBe('succeeded');
    const refused = await diagnosticsOf(retry({ project: dir, emit: quiet() }));
    expect(refused).toEqual([
      expect.objectContaining({
        code: 'retry-refresh-superseded',
        message: expect.stringMatching(/^fct: run \S+ replaced its date 2024-01-03 after run \S+ began a full refresh of it, which is not swapped in yet/),
        hint: `rebuild the whole range as the project is now: pipe backfill --full-refresh --start 2024-01-01 --end 2024-01-03 --select fct --vars '{"tag": 2}'`,
        location: { file: 'models/fct.sql' },
      }),
    ]);
    expect(await query(dir, "select strftime(d, '%d') as d, tag from fct order by d")).toEqual([
      { d: '01', tag: 1 },
      { d: '02', tag: 1 },
      { d: '03', tag: 3 },
    ]);
  });

  it("selects what the pipeline selected when its run started, though its file says otherwise since", async () => {
    const dir = project({
      'pipelines/daily.yaml': 'select: [a, b, c]\n',
      'models/a.sql': 'select 1 as id\n',
      'models/c.sql': "select * from {{ ref('b') }}\n",
      'models/other.sql': 'select 2 as id\n',
    });
    writeFileSync(join(dir, 'models/b.sql'), `select * from read_csv('${join(dir, 'input.csv')}')\n`);
    expect((await run({ project: dir, pipeline: 'daily', date: '2024-01-03', emit: quiet() })).status).toBe('failed');
    // The input arrives, and the pipeline is narrowed (and widened) since.
    writeFileSync(join(dir, 'input.csv'), 'id\n7\n');
    writeFileSync(join(dir, 'pipelines/daily.yaml'), 'select: [a, other]\n');
    const events: PipeEvent[] = [];
    const outcome = await retry({ project: dir, emit: quiet(events) });
    expect('status' in outcome && outcome.status).toBe('succeeded');
    expect(events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.model] : [])).sort()).toEqual(['b', 'c']);
    expect(events.filter((e) => e.type === 'notice' && e.message.includes('not retried'))).toEqual([]);
    expect(await query(dir, 'select id::INTEGER AS id from c')).toEqual([{ id: 7 }]);
  });

  it('records no run, and leaves the run as it ended, when what it left undone is no longer in the project', async () => {
    const dir = project({ 'models/a.sql': 'select 1 as id\n', 'models/b.sql': 'select nosuch from {{ ref(\'a\') }}\n' });
    expect((await run({ project: dir, date: '2024-01-03', emit: quiet() })).status).toBe('failed');
    rmSync(join(dir, 'models/b.sql'));
    writeFileSync(join(dir, 'models/b_renamed.sql'), "select id from {{ ref('a') }}\n");
    expect(await retry({ project: dir, emit: quiet() })).toEqual({ nothingToDo: expect.stringMatching(/^nothing to retry: what run \S+ left undone is no longer in the project or its selection \(b@2024-01-03\)/) });
    expect(await query(dir, "select status from _pipe.runs order by started_at")).toEqual([{ status: 'failed' }]);
  });

  it('a failed retry that a later run of the same date completed is passed by, as the run it retried is', async () => {
    const dir = project({ 'models/a.sql': 'select 1 as id\n', 'models/b.sql': "select nosuch from {{ ref('a') }}\n" });
    expect((await run({ project: dir, date: '2024-01-03', emit: quiet() })).status).toBe('failed');
    expect(await retry({ project: dir, emit: quiet() })).toMatchObject({ status: 'failed' });
    writeFileSync(join(dir, 'models/b.sql'), "select id from {{ ref('a') }}\n");
    expect((await run({ project: dir, date: '2024-01-03', emit: quiet() })).status).toBe('succeeded');
    expect(await retry({ project: dir, emit: quiet() })).toEqual({ nothingToDo: expect.stringMatching(/^nothing to retry: no run is unfinished/) });
  });

  it('a model edited since to read one the run did not build is refused at its ref(), not failed on a missing table', async () => {
    const dir = project({
      'models/up.sql': 'select 1 as x\n',
      'models/down.sql': "select x, cast('z' as int) as y from {{ ref('up') }}\n",
    });
    const failed = await run({ project: dir, date: '2024-01-03', emit: quiet() });
    expect(failed.status).toBe('failed');
    writeFileSync(join(dir, 'models/added.sql'), 'select 2 as x\n');
    writeFileSync(join(dir, 'models/down.sql'), "select x from {{ ref('up') }}\nunion all select x from {{ ref('added') }}\n");
    const [d, ...more] = await diagnosticsOf(retry({ project: dir, emit: quiet() }));
    expect(more).toEqual([]);
    expect(d).toMatchObject({
      code: 'upstream-not-built',
      message: `down reads added, which is not built yet and not part of run ${failed.runId}`,
      location: { file: 'models/down.sql', line: 2 },
      hint: `build it first (pipe run --select added --date 2024-01-03), then pipe retry ${failed.runId}`,
    });
    // Built as the hint says, the retry completes the run.
    expect((await run({ project: dir, date: '2024-01-03', select: ['added'], emit: quiet() })).status).toBe('succeeded');
    expect(await retry({ project: dir, runId: failed.runId, emit: quiet() })).toMatchObject({ status: 'succeeded' });
    expect(await query(dir, 'select x from down order by x')).toEqual([{ x: 1 }, { x: 2 }]);
  });

  it('the same of a run that selected the model: said once, in a retry\'s terms (a retry takes no --select)', async () => {
    const dir = project({
      'models/up.sql': 'select 1 as x\n',
      'models/down.sql': "select x, cast('z' as int) as y from {{ ref('up') }}\n",
    });
    expect((await run({ project: dir, date: '2024-01-03', select: ['up'], emit: quiet() })).status).toBe('succeeded');
    const failed = await run({ project: dir, date: '2024-01-03', select: ['down'], emit: quiet() });
    expect(failed.status).toBe('failed');
    writeFileSync(join(dir, 'models/added.sql'), 'select 2 as x\n');
    writeFileSync(join(dir, 'models/down.sql'), "select x from {{ ref('up') }}\nunion all select x from {{ ref('added') }}\n");
    const [d, ...more] = await diagnosticsOf(retry({ project: dir, emit: quiet() }));
    expect(more).toEqual([]);
    expect(d).toMatchObject({ code: 'upstream-not-built', hint: `build it first (pipe run --select added --date 2024-01-03), then pipe retry ${failed.runId}` });
  });
});
