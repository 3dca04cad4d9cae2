import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfType, explain, queryRows, removeTempDirs, snapshotTables, tempDir, warehouseOf, writeProjectFiles } from '../e2e/helpers.js';
import { backfillIn, runIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * An incremental model over its existing table writes each partition once, straight from its
 * query, inside the transaction that deletes the old rows and checks the new ones: whatever
 * fails in that transaction leaves the partition as it was. Run in-process.
 */

/** Three rows a date; `var('v')` changes their values, `var('bad')` breaks them for one check or another, or adds a row outside the date. */
const MODEL = `{{ config(materialized='incremental', partition_by='d') }}
select date '{{ ds }}' as d, x, {{ var('v', 1) }} as v,
  {% if var('bad', '') == 'null' %}CAST(NULL AS BIGINT){% else %}x{% endif %} as id
from range(3) r(x)
{% if var('bad', '') == 'outside' %}union all select date '{{ ds }}' + 1, 9, 9, 9{% endif %}
{% if var('bad', '') == 'more' %}union all select date '{{ ds }}', 3, 3, 3{% endif %}
`;

function project(checks: string): string {
  const dir = tempDir();
  writeProjectFiles(dir, { 'models/p.sql': MODEL, 'models/p.yaml': checks });
  return dir;
}

const CHECKS = `checks:
  not_null: [id]
  row_count: {max: 6, scope: table}
`;

const table = (dir: string) => snapshotTables(warehouseOf(dir), ['p']);

/** The message and location of the one task a run of `date` fails. */
async function failureOf(dir: string, date: string, fullRefresh?: boolean): Promise<[string, unknown]> {
  const r = await runIn(dir, { date, fullRefresh });
  expect(r.code, explain(r)).toBe(1);
  const [failed] = eventsOfType(r.events, 'task-failed');
  const error = failed.error as { message: string; location?: unknown };
  return [error.message, error.location];
}

describe('a partition written once, inside its publishing transaction', () => {
  it('a failing check of the partition, or of the whole table, leaves the old partition and the others', async () => {
    const dir = project(CHECKS);
    const built = await backfillIn(dir, { start: '2024-01-01', end: '2024-01-02' });
    expect(built.code, explain(built)).toBe(0);
    const before = await table(dir);
    expect(before.p).toHaveLength(6);

    const nulls = await runIn(dir, { date: '2024-01-02', vars: { bad: 'null', v: 2 } });
    expect(nulls.code, explain(nulls)).toBe(1);
    expect(eventsOfType(nulls.events, 'check-failed').map((e) => (e.failure as { check: string; failingRows: number }).failingRows)).toEqual([3]);
    expect(await table(dir)).toEqual(before);

    const more = await runIn(dir, { date: '2024-01-02', vars: { bad: 'more', v: 2 } });
    expect(more.code, explain(more)).toBe(1);
    expect(eventsOfType(more.events, 'check-failed').map((e) => (e.failure as { check: string }).check)).toEqual(['row_count(max 6)']);
    expect(await table(dir)).toEqual(before);

    // The checks' results are recorded although the transaction that ran them rolled back.
    const recorded = await queryRows(warehouseOf(dir), "SELECT count(*)::INTEGER AS n FROM _pipe.check_results WHERE status = 'failed'");
    expect(recorded).toEqual([{ n: 2 }]);

    const fixed = await runIn(dir, { date: '2024-01-02', vars: { v: 2 } });
    expect(fixed.code, explain(fixed)).toBe(0);
    expect(eventsOfType(fixed.events, 'task-succeeded').map((e) => e.rows)).toEqual([3]);
    const values = await queryRows(warehouseOf(dir), "SELECT strftime(d, '%Y-%m-%d') AS d, sum(v)::INTEGER AS v FROM p GROUP BY d ORDER BY d");
    expect(values).toEqual([
      { d: '2024-01-01', v: 3 },
      { d: '2024-01-02', v: 6 },
    ]);
  });

  it('a row outside the partition stops the insert: counted, shown, and the old partition kept', async () => {
    const dir = project('checks:\n  not_null: [id]\n');
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    const before = await table(dir);
    const r = await runIn(dir, { date: '2024-01-02', vars: { bad: 'outside', v: 2 } });
    expect(r.code, explain(r)).toBe(1);
    const [failed] = eventsOfType(r.events, 'task-failed');
    const error = failed.error as { message: string; kind: string; sample: { x: unknown }[]; location?: { file: string; line?: number } };
    expect(error.kind).toBe('Data');
    expect(error.message).toMatch(/^1 row outside the run's interval \[2024-01-02 00:00:00, 2024-01-03 00:00:00\) by d /);
    expect(error.sample.map((row) => Number(row.x))).toEqual([9]);
    // Pointed at the line that names the column, as a duplicate unique_key is at its own.
    expect(error.location).toMatchObject({ file: 'models/p.sql', line: 1 });
    expect(await table(dir)).toEqual(before);
  });

  it('a row outside the interval of a model partitioned in its properties file is reported at that line, also when staged by a full refresh', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'models/p.sql': "{{ config(materialized='incremental') }}\nselect date '{{ ds }}' - 1 as d, 1 as x\n",
      'models/p.yml': 'models:\n  - name: p\n    config:\n      partition_by: d\n',
    });
    for (const fullRefresh of [false, true]) {
      const r = await runIn(dir, { date: '2024-01-02', fullRefresh });
      expect(r.code, explain(r)).toBe(1);
      const [failed] = eventsOfType(r.events, 'task-failed');
      const error = failed.error as { message: string; location?: { file: string; line?: number } };
      expect(error.message).toMatch(/^1 row outside the run's interval/);
      expect(error.location).toMatchObject({ file: 'models/p.yml', line: 4 });
    }
  });

  it('a partition_by column the query lacks, or of a type that holds no dates, fails its task in its own words, before and after the table exists', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'models/p.sql': "{{ config(materialized='incremental', partition_by='day') }}\nselect date '{{ ds }}' as d, {{ var('n', 1) }} as n\n",
    });
    const messageOf = async (vars?: Record<string, string>) => {
      const r = await runIn(dir, { date: '2024-01-02', vars });
      expect(r.code, explain(r)).toBe(1);
      const [failed] = eventsOfType(r.events, 'task-failed');
      const error = failed.error as { message: string; kind: string; location?: { file: string; line?: number; column?: number } };
      // Said at the line that sets partition_by.
      expect(error.location).toMatchObject({ file: 'models/p.sql', line: 1, column: 39 });
      return error.message;
    };
    expect(await messageOf()).toBe("partition_by 'day' is not a column of p: its query gives d, n");
    writeProjectFiles(dir, { 'models/p.sql': "{{ config(materialized='incremental', partition_by='n') }}\nselect date '{{ ds }}' as d, {{ var('n', 1) }} as n\n" });
    expect(await messageOf()).toBe("partition_by column n of p is INTEGER: it must hold dates (DATE), timestamps (TIMESTAMP) or dates as text ('YYYY-MM-DD'); cast it in the query");
    writeProjectFiles(dir, { 'models/p.sql': "{{ config(materialized='incremental', partition_by='d') }}\nselect date '{{ ds }}' as d, 1 as n\n" });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    writeProjectFiles(dir, { 'models/p.sql': "{{ config(materialized='incremental', partition_by='dd') }}\nselect date '{{ ds }}' as d, 1 as n\n" });
    expect(await messageOf()).toBe("partition_by 'dd' is not a column of p: its query gives d, n (did you mean 'd'?)");
    expect(await queryRows(warehouseOf(dir), "SELECT strftime(d, '%Y-%m-%d') AS d, n FROM p")).toEqual([{ d: '2024-01-02', n: 1 }]);
  });

  it('a text partition_by column holding dates in another form fails its task naming a value and the form it must have, whether written or staged', async () => {
    const dir = tempDir();
    const model = (format: string) => `{{ config(materialized='incremental', partition_by='p') }}\nselect strftime(date '{{ ds }}', '${format}') as p, 1 as n\n`;
    writeProjectFiles(dir, { 'models/p.sql': model('%d/%m/%Y') });
    const expected = "partition_by column p of p holds '02/01/2024', which is not a date: it must hold dates (DATE), timestamps (TIMESTAMP) or dates as text in the form YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS); convert it in the query with strptime(p, format)::DATE";
    const messageOf = (fullRefresh?: boolean) => failureOf(dir, '2024-01-02', fullRefresh);
    // The first build creates the table from the query, a later one writes into it, a full refresh stages the rows first.
    const at = { file: 'models/p.sql', line: 1, column: 39 };
    expect(await messageOf()).toEqual([expected, at]);
    writeProjectFiles(dir, { 'models/p.sql': model('%Y-%m-%d') });
    expect((await runIn(dir, { date: '2024-01-02' })).code).toBe(0);
    writeProjectFiles(dir, { 'models/p.sql': model('%d/%m/%Y') });
    expect(await messageOf()).toEqual([expected, at]);
    expect(await messageOf(true)).toEqual([expected, at]);
    expect(await queryRows(warehouseOf(dir), 'SELECT p, n FROM p')).toEqual([{ p: '2024-01-02', n: 1 }]);
  });

  it('text with a UTC offset other than UTC\'s is refused at the line of partition_by, whether written or staged', async () => {
    const dir = tempDir();
    // 22:00 at -05:00 is 03:00 the next day in UTC: by the date written it is 2024-01-01, in UTC 2024-01-02.
    const model = (ts: string) => `{{ config(materialized='incremental', partition_by='ts') }}\nselect ts, 1 as n from (values ${ts}) t(ts)\n`;
    writeProjectFiles(dir, { 'models/p.sql': model("('2024-01-01T22:00:00-05:00'), ('2024-01-01T10:00:00Z')") });
    const expected =
      "ts, the column that dates the rows of p, holds '2024-01-01T22:00:00-05:00', text with a UTC offset: its date is ambiguous (the date written, or its date in UTC), so pipe does not place it; convert it in the query: CAST(ts AS TIMESTAMPTZ) places it by its date in UTC, CAST(ts AS TIMESTAMP) by the date written";
    const at = { file: 'models/p.sql', line: 1, column: 39 };
    const messageOf = (fullRefresh?: boolean) => failureOf(dir, '2024-01-01', fullRefresh);
    expect(await messageOf()).toEqual([expected, at]);
    // UTC's own offset is the date written: placed.
    writeProjectFiles(dir, { 'models/p.sql': model("('2024-01-01T22:00:00Z'), ('2024-01-01 10:00:00+00:00')") });
    expect((await runIn(dir, { date: '2024-01-01' })).code).toBe(0);
    writeProjectFiles(dir, { 'models/p.sql': model("('2024-01-01T22:00:00-05:00')") });
    expect(await messageOf()).toEqual([expected, at]);
    expect(await messageOf(true)).toEqual([expected, at]);
    expect(await queryRows(warehouseOf(dir), 'SELECT ts FROM p ORDER BY ts')).toEqual([{ ts: '2024-01-01 10:00:00+00:00' }, { ts: '2024-01-01T22:00:00Z' }]);
    // Written by a table model, then partitioned: the table's text is refused as the query's is.
    writeProjectFiles(dir, { 'models/p.sql': "{{ config(materialized='table') }}\nselect '2024-01-01T22:00:00-05:00' as ts, 1 as n\n" });
    expect((await runIn(dir, { date: '2024-01-01' })).code).toBe(0);
    writeProjectFiles(dir, { 'models/p.sql': model("('2024-01-01T12:00:00Z')") });
    expect(await messageOf()).toEqual([
      "the table of p holds '2024-01-01T22:00:00-05:00' in ts, the column that dates its rows, text with a UTC offset: its date is ambiguous (the date written, or its date in UTC), so pipe does not replace a partition by it; convert ts in the query (CAST(ts AS TIMESTAMPTZ) places it by its date in UTC, CAST(ts AS TIMESTAMP) by the date written) and rebuild the table with pipe backfill --full-refresh --select p over its dates",
      at,
    ]);
  });

  it('a query that reads its own partition reads it as it was before the run, not after the delete', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, {
      'models/p.sql': `{{ config(materialized='incremental', partition_by='d') }}
select date '{{ ds }}' as d, 1 + {% if is_incremental() %}coalesce((select max(x) from {{ this }} where d = date '{{ ds }}'), 0){% else %}0{% endif %} as x
`,
    });
    for (const expected of [1, 2, 3]) {
      const r = await runIn(dir, { date: '2024-01-02' });
      expect(r.code, explain(r)).toBe(0);
      expect(await queryRows(warehouseOf(dir), 'SELECT x FROM p')).toEqual([{ x: expected }]);
    }
  });

  it('a new column is added in the same transaction as the rows (append_new_columns), an old date keeping NULL', async () => {
    const dir = tempDir();
    writeProjectFiles(dir, { 'models/p.sql': "{{ config(materialized='incremental', partition_by='d', on_schema_change='append_new_columns') }}\nselect date '{{ ds }}' as d, 1 as a\n" });
    expect((await runIn(dir, { date: '2024-01-01' })).code).toBe(0);
    writeProjectFiles(dir, { 'models/p.sql': "{{ config(materialized='incremental', partition_by='d', on_schema_change='append_new_columns') }}\nselect date '{{ ds }}' as d, 1 as a, 'b' as b\n" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(0);
    expect(await queryRows(warehouseOf(dir), "SELECT strftime(d, '%Y-%m-%d') AS d, a, b FROM p ORDER BY d")).toEqual([
      { d: '2024-01-01', a: 1, b: null },
      { d: '2024-01-02', a: 1, b: 'b' },
    ]);
  });
});
