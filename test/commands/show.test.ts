import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnWidths } from '../../src/cli/format-rows.js';
import { displayWidth } from '../../src/logging/width.js';
import { execOn, holdWarehouse, removeTempDirs, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { compileIn, runIn, showIn } from '../support/in-process.js';
import { cliIn } from '../support/cli-in-process.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';

afterAll(() => {
  removeProjects();
  removeTempDirs();
});

/** `pipe show MODEL`: the rows of a model's table, a seed's, a source's, or of a model's query, read-only. */

const LONG = 'a long note that goes on and on, well past the width any terminal column would give it';

const FILES = {
  'seeds/people.csv': 'id,name\n1,ana\n2,bo\n3,cy\n',
  'models/typed.sql': `{{ config(materialized='table') }}
select 1::bigint as id, date '2024-01-02' as day, 12.50::decimal(10,2) as amount, null::varchar as missing,
  '${LONG}' as note, [1, 2] as list, {'k': 'v', 'n': 3} as nested, 'two\nlines' as text
union all
select 2, date '2024-01-03', 0.05, 'here', 'short', [], {'k': null, 'n': 4}, ''
`,
  'models/events.sql': `{{ config(materialized='incremental', partition_by='day') }}
select id, date '{{ ds }}' as day, name from {{ ref('people') }}
`,
  'models/helper.sql': "{{ config(materialized='ephemeral') }}\nselect 1 as x\n",
  'models/named.sql': "{{ config(materialized='view') }}\nselect id, name from {{ ref('people') }} where id > 1\n",
  'models/later.sql': "{{ config(materialized='table') }}\nselect 1 as x\n",
  'models/sources.yml': `version: 2
sources:
  - name: lake
    meta:
      external_location: "data/{name}.csv"
    tables:
      - name: visits
`,
  'data/visits.csv': 'page,hits\n/home,10\n/about,2\n',
};

let dir: string;
beforeAll(async () => {
  dir = tempProject(FILES);
  for (const date of ['2024-01-01', '2024-01-02']) {
    const r = await runIn(dir, { date, exclude: ['later'] });
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }
});

const runs = async () => (await queryWarehouse(dir, 'select count(*)::INTEGER as n from _pipe.runs'))[0].n;

describe('pipe show', () => {
  it('prints the first rows of a table, NULLs, dates, decimals and nested values as one line each, long ones cut', async () => {
    const r = await showIn(dir, { model: 'typed', width: 100 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['id', 'day', 'amount', 'missing', 'note', 'list', 'nested', 'text']);
    expect(lines[1]).toMatch(/^1 +2024-01-02 +12\.50 +NULL +a long note.*… +\[1,2\] +\{"k":"v","n":3\} +two\\nlines$/);
    expect(lines.every((l) => displayWidth(l) <= 100)).toBe(true);
    expect(lines.at(-1)).toBe('2 rows of "main"."typed"');
  });

  it('--json gives every value whole, integers as numbers and decimals as exact text', async () => {
    const r = await showIn(dir, { model: 'typed', json: true });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { id: 1, day: '2024-01-02', amount: '12.50', missing: null, note: LONG, list: [1, 2], nested: { k: 'v', n: 3 }, text: 'two\nlines' },
      { id: 2, day: '2024-01-03', amount: '0.05', missing: 'here', note: 'short', list: [], nested: { k: null, n: 4 }, text: '' },
    ]);
  });

  it('shows seeds and sources, --limit rows of them, filtered by --where', async () => {
    const limited = await showIn(dir, { model: 'people', limit: 2 });
    expect(limited.code, limited.stderr).toBe(0);
    expect(limited.stdout.trimEnd().split('\n')).toEqual(['id  name', '1   ana', '2   bo', 'first 2 rows of "main"."people"; --limit N shows more']);
    const where = await showIn(dir, { model: 'people', where: "name <> 'bo'", json: true });
    expect(JSON.parse(where.stdout)).toEqual([{ id: 1, name: 'ana' }, { id: 3, name: 'cy' }]);
    const source = await showIn(dir, { model: 'lake.visits', json: true });
    expect(source.code, source.stderr).toBe(0);
    expect(JSON.parse(source.stdout)).toEqual([{ page: '/home', hits: 10 }, { page: '/about', hits: 2 }]);
  });

  it("shows a view's rows as its query gives them now", async () => {
    const r = await showIn(dir, { model: 'named', json: true });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { id: 2, name: 'bo' },
      { id: 3, name: 'cy' },
    ]);
  });

  it("--date shows an incremental model's partition, and --inline its query for the date, writing nothing", async () => {
    const before = await runs();
    const partition = await showIn(dir, { model: 'events', date: '2024-01-01', json: true });
    expect(partition.code, partition.stderr).toBe(0);
    expect(JSON.parse(partition.stdout).map((r: { day: string }) => r.day)).toEqual(['2024-01-01', '2024-01-01', '2024-01-01']);
    const inline = await showIn(dir, { model: 'events', date: '2024-03-04', inline: true, where: 'id = 2', json: true });
    expect(inline.code, inline.stderr).toBe(0);
    expect(JSON.parse(inline.stdout)).toEqual([{ id: 2, day: '2024-03-04', name: 'bo' }]);
    expect(await queryWarehouse(dir, "select count(*)::INTEGER as n from events where day = '2024-03-04'")).toEqual([{ n: 0 }]);
    expect(await runs()).toBe(before);
  });

  it("--inline with a query, as dbt's: rendered as a model of the project (ref, ephemeral, var, the date), run read-only, its errors at <inline>", async () => {
    const before = await runs();
    const q = "select e.name, h.x, '{{ ds }}' as d, {{ var('n', 7) }} as n from {{ ref('events') }} e, {{ ref('helper') }} h where e.day = '2024-01-02' order by e.id";
    const r = await showIn(dir, { model: q, inline: true, date: '2024-05-06', limit: 2, width: 100 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual(['name  x  d           n', 'ana   1  2024-05-06  7', 'bo    1  2024-05-06  7', 'first 2 rows of the inline query; --limit N shows more']);
    expect(await runs()).toBe(before);
    const compiled = await compileIn(dir, { inline: "select * from {{ ref('named') }} where id = {{ var('n', 7) }}", vars: { n: 2 } });
    expect(compiled.code, compiled.stderr).toBe(0);
    expect(compiled.models.map((m) => m.sql)).toEqual(['select * from "main"."named" where id = 2']);
    const unknown = await showIn(dir, { model: "select * from {{ ref('evnts') }}", inline: true });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("<inline>:1:18: error: ref('evnts'): no model or seed is named 'evnts'");
    const unbound = await showIn(dir, { model: "select nope from {{ ref('people') }}", inline: true });
    expect(unbound.code).toBe(2);
    expect(unbound.stderr).toMatch(/^error: cannot show the inline query: Referenced column "nope" not found/);
    // One that does not parse is said in the parser's words, at its line; two statements are no query.
    const typo = await showIn(dir, { model: "select name from {{ ref('people') }}\nwhere id = = 1", inline: true });
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim()).toBe('error: the SQL to show does not parse: syntax error at or near "=" (its line 2)');
    expect((await showIn(dir, { model: 'select 1; select 2', inline: true })).stderr.trim()).toBe('error: the SQL to show is not one query: pipe show runs only queries');
    // A query without --inline is a name, as before.
    const named = await showIn(dir, { model: 'select 1' });
    expect(named.stderr).toContain("no model, seed or source named 'select 1'");
  });

  it('prints a BLOB as DuckDB does, a backslash byte as \\x5C, so that one byte and four print apart', async () => {
    const q = "select encode(chr(92)) as slash, encode(chr(10) || 'x') as newline, encode('\\x0A') as typed, unhex('00ff41') as bytes, null::blob as none";
    const r = await showIn(dir, { model: q, inline: true, width: 100 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n').slice(0, 2)).toEqual(['slash  newline  typed    bytes      none', '\\x5C   \\x0Ax    \\x5Cx0A  \\x00\\xFFA  NULL']);
    const json = await showIn(dir, { model: q, inline: true, json: true });
    expect(JSON.parse(json.stdout)).toEqual([{ slash: '\\x5C', newline: '\\x0Ax', typed: '\\x5Cx0A', bytes: '\\x00\\xFFA', none: null }]);
  });

  it('prints the BIGINTs and DECIMALs inside nested values as numbers, as DuckDB and dbt show them; --json keeps every digit as text', async () => {
    const q = "select {'a': 1::bigint, 'b': 2::int, 'e': 2.50::decimal(5,2), 'd': date '2024-01-02'} as s, {'h': 12345678901234567890123::hugeint} as h, [1::bigint, 2] as l, map {'k': 3::bigint} as m, union_value(num := 4::bigint) as u";
    const r = await showIn(dir, { model: q, inline: true, width: 200 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().split('\n')[1].split(/\s{2,}/)).toEqual([
      '{"a":1,"b":2,"e":2.50,"d":"2024-01-02"}',
      '{"h":12345678901234567890123}',
      '[1,2]',
      '[{"key":"k","value":3}]',
      '{"tag":"num","value":4}',
    ]);
    const json = await showIn(dir, { model: q, inline: true, json: true });
    expect(JSON.parse(json.stdout)[0]).toMatchObject({ s: { a: '1', b: 2, e: '2.50', d: '2024-01-02' }, h: { h: '12345678901234567890123' } });
  });

  it('--json prints one JSON array on stdout, a warning of the project going to stderr', async () => {
    const warned = tempProject({ 'models/one.sql': 'select 1 as x', 'models/empty.sql': '' });
    expect((await runIn(warned, { date: '2024-01-02' })).code).toBe(0);
    for (const args of [['show', 'one', '--json'], ['dag', '--json']]) {
      const r = await cliIn([...args, '--project', warned]);
      expect(r.code, r.stderr).toBe(0);
      expect(() => JSON.parse(r.stdout), r.stdout).not.toThrow();
      expect(r.stderr.trim().split('\n').map((l) => JSON.parse(l).diagnostic?.code)).toEqual(['empty-model-file']);
    }
  });

  it('refuses a --where that would add a statement, and one DuckDB cannot bind, with a clear error', async () => {
    const injected = await showIn(dir, { model: 'people', where: '1 = 1) ; drop table people; select (1' });
    expect(injected.code).toBe(2);
    expect(injected.stderr).toContain("is not one SQL expression over the rows' columns");
    expect(await queryWarehouse(dir, 'select count(*)::INTEGER as n from people')).toEqual([{ n: 3 }]);
    // One statement still, but rows of its own, or the rows grouped: no filter.
    for (const where of ['1 = 1) union all (select 42, 42, 42', '1 = 1) group by all having (true', 'true) qualify (true']) {
      const made = await showIn(dir, { model: 'people', where });
      expect(made.code, where).toBe(2);
      expect(made.stderr).toContain("is not one SQL expression over the rows' columns");
    }
    expect((await showIn(dir, { model: 'people', where: "id in (select 1) or name like '%(%'" })).code).toBe(0);
    const unbound = await showIn(dir, { model: 'people', where: 'nope = 1' });
    expect(unbound.code).toBe(2);
    expect(unbound.stderr).toMatch(/^error: cannot show people with --where "nope = 1": Referenced column "nope" not found/);
    expect(unbound.stderr).not.toMatch(/Binder Error|\n\s+at /);
    // A column's name mistyped: the one meant, as the other commands suggest it.
    const typo = await showIn(dir, { model: 'people', where: "nme = 'x'" });
    expect([typo.code, typo.stderr.includes("hint: did you mean 'name'?")]).toEqual([2, true]);
  });

  it('refuses an unknown name with a suggestion, what is not built naming pipe run, and --date where there is no date partition', async () => {
    const unknown = await showIn(dir, { model: 'evnts' });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no model, seed or source named 'evnts'");
    expect(unknown.stderr).toContain("did you mean 'events'?");
    // A model switched off is no unknown name: said as selecting it says it.
    const off = tempProject({ 'dbt_project.yml': 'name: p\nmodels:\n  p:\n    off_model:\n      +enabled: false\n', 'models/off_model.sql': 'select 1 as x', 'models/on_model.sql': 'select 2 as y' });
    const disabled = await showIn(off, { model: 'off_model' });
    expect([disabled.code, disabled.stderr]).toEqual([2, expect.stringContaining('dbt_project.yml:5: error: off_model is disabled (enabled: false): pipe builds no table of it, and has none to show')]);
    const later = await showIn(dir, { model: 'later' });
    expect(later.code).toBe(2);
    expect(later.stderr).toContain('later is not built yet');
    expect(later.stderr).toContain('pipe run --select later');
    const dated = await showIn(dir, { model: 'typed', date: '2024-01-02' });
    expect(dated.code).toBe(2);
    expect(dated.stderr).toContain('models/typed.sql: error: --date shows a partition of an incremental model partitioned by date, and typed is a table');
    // An ephemeral model has no table: its rows are those of its query, inlined, as dbt show gives them, with --inline too.
    for (const inline of [false, true]) {
      const ephemeral = await showIn(dir, { model: 'helper', inline, json: true });
      expect(ephemeral.code, ephemeral.stderr).toBe(0);
      expect(JSON.parse(ephemeral.stdout)).toEqual([{ x: 1 }]);
    }
    const fresh = tempProject({ 'models/a.sql': 'select 1 as x\n' });
    const none = await showIn(fresh, { model: 'a' });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('a is not built yet: the warehouse');
    // Before any warehouse: a query of nothing built runs; one reading a model names the run that builds it.
    const query = await showIn(fresh, { model: "select 1 as one, '{{ ds }}' as ds", inline: true, date: '2024-01-02', json: true });
    expect(query.code, query.stderr).toBe(0);
    expect(JSON.parse(query.stdout)).toEqual([{ one: 1, ds: '2024-01-02' }]);
    const reads = await showIn(fresh, { model: "select * from {{ ref('a') }}", inline: true });
    expect(reads.code).toBe(2);
    expect(reads.stderr).toMatch(/the query reads what is not built yet: it reads a, which is not built yet[\s\S]*pipe run --select \+a( --project \S+)? builds what it reads/);
    expect(reads.stderr).not.toContain('inline_query');
    expect(existsSync(join(fresh, 'warehouse.duckdb'))).toBe(false);
    // A model whose checks failed on its first build: not published, which its run said; running it again as it is fails again.
    const checked = tempProject({ 'models/m.sql': 'select 1 as id union all select null as id\n', 'models/m.yaml': 'checks:\n  not_null: [id]\n' });
    expect((await runIn(checked, { date: '2024-01-02' })).code).toBe(1);
    const failed = await showIn(checked, { model: 'm' });
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/models\/m\.sql: error: m is not built: its build in run \S+ failed and published nothing: /);
    expect(failed.stderr).toMatch(/hint: pipe show m --inline( --project \S+)? runs its query without publishing it; once it is fixed, pipe run --select m( --project \S+)? builds it/);
    // Published before, then a build its checks kept out: the rows shown are the earlier build's, said so.
    writeProjectFiles(checked, { 'models/m.sql': 'select 1 as id\n' });
    const published = await runIn(checked, { date: '2024-01-02' });
    expect(published.code).toBe(0);
    writeProjectFiles(checked, { 'models/m.sql': 'select 2 as id union all select null as id\n' });
    const keptOut = await runIn(checked, { date: '2024-01-02' });
    expect(keptOut.code).toBe(1);
    const earlier = await showIn(checked, { model: 'm' });
    expect(earlier.code, earlier.stderr).toBe(0);
    expect(earlier.stdout).toMatch(/m's latest build, in run \S+, failed and published nothing \(.+\): these are the rows run \S+ published\nid\n1\n1 row of "main"."m"/);
    // A view: what stands is the view, its rows read now.
    writeProjectFiles(checked, { 'models/m.sql': "{{ config(materialized='view') }}\nselect 1 as id\n" });
    expect((await runIn(checked, { date: '2024-01-02' })).code).toBe(0);
    writeProjectFiles(checked, { 'models/m.sql': "{{ config(materialized='view') }}\nselect null as id\n" });
    expect((await runIn(checked, { date: '2024-01-02' })).code).toBe(1);
    const view = await showIn(checked, { model: 'm' });
    expect(view.stdout).toMatch(/m's latest build, in run \S+, failed and published nothing \(.+\): this is the view run \S+ published, read now/);
    // A model kept by date whose later date failed: its other dates stand, nothing to say of the table.
    writeProjectFiles(checked, { 'models/m.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::DATE as d, 1 as id {% if ds == '2024-01-03' %} where error('boom') is null {% endif %}\n", 'models/m.yaml': '' });
    expect((await runIn(checked, { date: '2024-01-02' })).code).toBe(0);
    expect((await runIn(checked, { date: '2024-01-03' })).code).toBe(1);
    const byDate = await showIn(checked, { model: 'm' });
    expect(byDate.code, byDate.stderr).toBe(0);
    expect(byDate.stdout).not.toContain('published nothing');
    // What reads it, skipped: built with what it reads.
    writeProjectFiles(checked, { 'models/reader.sql': "select * from {{ ref('m') }}\n" });
    const skipped = await showIn(checked, { model: 'reader' });
    expect(skipped.stderr).toMatch(/reader is not built yet: the warehouse has no "main"."reader"\n\s+hint: pipe run --select \+reader( --project \S+)? builds it and what it reads/);
  });

  it("says of a view whose input's table was dropped that it cannot be read, and what builds that input", async () => {
    const own = tempProject({ 'models/a.sql': "{{ config(materialized='table') }}\nselect 1 as x\n", 'models/b.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('a') }}\n" });
    expect((await runIn(own, { date: '2024-01-02' })).code).toBe(0);
    await execOn(warehouseOf(own), 'DROP TABLE main.a');
    const r = await showIn(own, { model: 'b' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('models/b.sql: error: b is a view of a, which the warehouse does not hold (dropped since it was built, or never built)');
    expect(r.stderr).toMatch(/pipe run --select a( --project \S+)? builds it/);
    expect(r.stderr).not.toMatch(/Catalog Error|does not exist!/);
  });

  it('refuses while another process holds the warehouse, as every command does', async () => {
    const held = await holdWarehouse(join(dir, 'warehouse.duckdb'));
    try {
      const r = await showIn(dir, { model: 'people' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('is in use by another process');
    } finally {
      await held.release();
    }
  });
});

describe('pipe show table widths', () => {
  it('narrows the widest columns until the table fits, never below a header or six columns', () => {
    expect(columnWidths(['a', 'b'], [['x'.repeat(30), 'y'.repeat(30)]], 40)).toEqual([19, 19]);
    expect(columnWidths(['name'], [['x'.repeat(80)]], undefined)).toEqual([40]);
    expect(columnWidths(['header', 'b'], [['x'.repeat(30), 'y']], 4)).toEqual([6, 1]);
  });
});
