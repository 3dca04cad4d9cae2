import { afterAll, describe, expect, it } from 'vitest';
import { execOn, explain, queryRows, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, runIn, statusIn } from '../support/in-process.js';
import { removeProjects, tempProject } from '../support/projects.js';

afterAll(removeProjects);

/**
 * A model's upstream is taken from one render (the run's date, a backfill's first date, the
 * table's state then). A render for another date or state that reads a node outside it would
 * run without waiting for that node's build, and stay "current" when it changes: refused.
 */

/** A model that reads b from 2024-01-03 on, a through a macro before; b is slow enough to finish last. */
const PICKED_BY_DATE = {
  'pipe.yaml': 'name: shop\n',
  'models/a.sql': 'select 1 as x\n',
  'models/b.sql': 'select count(*) + 100 as x from range(3000000) t(i) where i % 7 = 3\n',
  'macros/pick.sql': "{% macro pick() %}{% if ds > '2024-01-02' %}{{ ref('b') }}{% else %}{{ ref('a') }}{% endif %}{% endmacro %}\n",
  'models/c.sql': 'select * from {{ pick() }}\n',
};

const RANGE = { start: '2024-01-01', end: '2024-01-05' };

describe('a ref() a render reaches outside the graph', () => {
  it('chosen by date in a macro: the backfill is refused before anything is built, and says how to name it', async () => {
    const dir = tempProject(PICKED_BY_DATE);
    const r = await backfillIn(dir, RANGE);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "models/c.sql: error: ref('b') is read by c when its task of 2024-01-05 renders, but not in its render for 2024-01-01, which its upstream was taken from: its task would not wait for b's build, nor be out of date when b changes",
    );
    expect(r.stderr).toContain("-- depends_on: {{ ref('b') }}");
    expect(r.events.some((e) => e.type === 'task-started')).toBe(false);
  });

  it('named where every render sees it, the table reads what the run built: rebuilt after b changes, never the old b', async () => {
    const dir = tempProject({ ...PICKED_BY_DATE, 'models/c.sql': "-- depends_on: {{ ref('b') }}\nselect * from {{ pick() }}\n" });
    const first = await backfillIn(dir, RANGE);
    expect(first.code, explain(first)).toBe(0);
    writeProjectFiles(dir, { 'models/b.sql': 'select count(*) + 200 as x from range(3000000) t(i) where i % 7 = 4\n' });
    const second = await backfillIn(dir, RANGE);
    expect(second.code, explain(second)).toBe(0);
    const [row] = await queryRows(warehouseOf(dir), 'SELECT (SELECT x FROM c)::INTEGER AS c, (SELECT x FROM b)::INTEGER AS b');
    expect(row).toEqual({ b: 428571 + 200, c: 428571 + 200 });
  });

  it('a run of one date takes its upstream from that date: not refused; status judges the dates such runs built', async () => {
    const dir = tempProject(PICKED_BY_DATE);
    const r = await runIn(dir, { date: '2024-01-05' });
    expect(r.code, explain(r)).toBe(0);
    const [row] = await queryRows(warehouseOf(dir), 'SELECT (SELECT x FROM c) AS c, (SELECT x FROM b) AS b');
    expect(row.c).toBe(row.b);
    // Kept by date, each date built by a run of its own: status judges them all, running nothing.
    const dated = tempProject({ ...PICKED_BY_DATE, 'models/c.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::date as d, x::BIGINT as x from {{ pick() }}\n" });
    for (const date of ['2024-01-01', '2024-01-05']) {
      const built = await runIn(dated, { date });
      expect(built.code, explain(built)).toBe(0);
    }
    const status = await statusIn(dated, { start: '2024-01-01', end: '2024-01-05', json: true });
    expect(status.code, explain(status)).toBe(0);
  });

  it("in an is_incremental() branch of a microbatch model's first build, refused at the ref's line", async () => {
    const dir = tempProject({
      'pipe.yaml': 'name: shop\n',
      'models/y.sql': 'select 5 as v\n',
      'models/ev.sql': "select ('2024-01-01'::date + i::int)::timestamp as t from range(3) r(i)\n",
      'models/mb.sql': [
        "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='t', batch_size='day', begin='2024-01-01') }}",
        "select t, {% if is_incremental() %}(select max(v) from {{ ref('y') }}){% else %}1{% endif %} as v from {{ ref('ev') }}",
        "where t >= '{{ interval_start }}' and t < '{{ interval_end }}'",
        '',
      ].join('\n'),
    });
    const r = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(r.code).not.toBe(0);
    const refused = r.stderr.split('\n').filter((l) => l.includes('error:'));
    // Once for the place, not once for each date that renders it.
    expect(refused).toEqual([
      "models/mb.sql:2:59: error: ref('y') is read by mb when its task of 2024-01-02 renders (is_incremental() true), but not in its render for 2024-01-01, which its upstream was taken from: its task would not wait for y's build, nor be out of date when y changes",
    ]);
    // Once its table exists, the graph's own render takes the branch: the run reads y after it is built.
    await execOn(warehouseOf(dir), "CREATE TABLE mb AS SELECT TIMESTAMP '2023-12-31' AS t, 0 AS v");
    const later = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-03' });
    expect(later.code, explain(later)).toBe(0);
    expect(await queryRows(warehouseOf(dir), 'SELECT v, count(*)::INTEGER AS n FROM mb GROUP BY v ORDER BY v')).toEqual([
      { v: 0, n: 1 },
      { v: 5, n: 3 },
    ]);
  });

  it('in a hook chosen by date: refused too, at the hook; a source nothing of the project writes is read as dbt reads it', async () => {
    const dir = tempProject({
      ...PICKED_BY_DATE,
      'models/c.sql': "{{ config(post_hook=\"select count(*) from {{ ref('b') if ds > '2024-01-02' else ref('a') }}\") }}\nselect 1 as x",
    });
    const r = await backfillIn(dir, RANGE);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      "models/c.sql:1:11: error: ref('b') is read by a hook of c when its task of 2024-01-05 renders, but not in its render for 2024-01-01, which its upstream was taken from: its task would not wait for b's build, nor be out of date when b changes",
    );
    // A source loaded by another tool, read from the third date on: no build to wait for, read as dbt reads it.
    const sourced = tempProject({
      'pipe.yaml': 'name: shop\n',
      'models/sources.yml': 'version: 2\nsources:\n  - name: raw\n    schema: main\n    tables:\n      - name: late\n',
      'models/d.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect '{{ ds }}'::date as d, {% if ds > '2024-01-02' %}(select count(*) from {{ source('raw', 'late') }}){% else %}0::BIGINT{% endif %} as n",
    });
    await execOn(warehouseOf(sourced), 'CREATE TABLE main.late AS SELECT 1 AS id');
    const built = await backfillIn(sourced, { start: '2024-01-01', end: '2024-01-03' });
    expect(built.code, explain(built)).toBe(0);
    expect(await queryRows(warehouseOf(sourced), "SELECT strftime(d, '%Y-%m-%d') AS d, n::INTEGER AS n FROM d ORDER BY d")).toEqual([
      { d: '2024-01-01', n: 0 },
      { d: '2024-01-02', n: 0 },
      { d: '2024-01-03', n: 1 },
    ]);
  });
});
