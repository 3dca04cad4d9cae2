import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/sql/sql-text.js';
import { diagnosticsOf, explain, queryRows, readingWarehouse, removeTempDirs, RunningPipe, snapshotTables, stagingTablesIn, tempDir, warehouseOf, writeProjectFiles } from './helpers.js';
import { backfillIn, compileIn, historyIn, retryIn, runIn, testIn } from '../support/in-process.js';

afterAll(removeTempDirs);

/**
 * Names are data, never SQL. Columns, partition columns and seed headers made of quotes,
 * semicolons, comment markers, spaces and Unicode go through every statement pipe writes;
 * runs are killed at random points and recovered; and nothing but pipe's own objects is ever
 * touched: tables pipe does not manage, including one named like a statement, stay as they are.
 * Only the killed backfills are processes; the runs, reads and retries around them are in-process.
 */

const WEIRD = 'we"ird; col';
const DAY = 'd"ay; --x';
const EVIL = 'x; drop table sentinel; --';

const FILES: Record<string, string> = {
  'seeds/raw_events.csv': `id,"we""ird; col",-- note,ünï cødé,x; drop table sentinel; --\n${Array.from({ length: 12 }, (_, i) => `${i + 1},w${i},n${i},ü${i},e${i}`).join('\n')}\n`,
  'seeds/raw_events.yaml': `column_types:\n  'we"ird; col': VARCHAR\n`,
  'models/stg_events.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('raw_events') }}\n",
  'models/fct_events.sql': `select cast('{{ ds }}' as date) as ${quoteIdent(DAY)}, id, ${quoteIdent(WEIRD)}, "ünï cødé", ${quoteIdent(EVIL)}
from {{ ref('stg_events') }}
where id % 4 = day(cast('{{ ds }}' as date)) % 4
`,
  'models/fct_events.yaml': `materialized: incremental
partition_by: '${DAY}'
checks:
  not_null: ['${WEIRD.replaceAll("'", "''")}']
  unique: {columns: [[id, '${DAY}']], scope: table}
  accepted_values: {'${EVIL}': [e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11]}
`,
  'models/mart_days.sql': `select ${quoteIdent(DAY)}, count(*) as "n; --", max("ünï cødé") as "max ü" from {{ ref('fct_events') }} group by 1\n`,
};

const RELATIONS = ['raw_events', 'stg_events', 'fct_events', 'mart_days'];

/** A project whose warehouse already holds tables pipe does not manage. */
async function hostileProject(): Promise<string> {
  const dir = tempDir();
  writeProjectFiles(dir, FILES);
  const instance = await DuckDBInstance.create(warehouseOf(dir));
  const c = await instance.connect();
  await c.run('create table sentinel as select 42 as answer');
  await c.run('create schema "odd; schema"');
  await c.run(`create table "odd; schema"."keep; --" as select 'kept' as v`);
  c.closeSync();
  instance.closeSync();
  return dir;
}

async function snapshot(dir: string): Promise<Record<string, unknown>> {
  const rows = await snapshotTables(warehouseOf(dir), RELATIONS.map(quoteIdent));
  return Object.fromEntries(RELATIONS.map((r) => [r, rows[quoteIdent(r)]]));
}

async function untouched(dir: string): Promise<void> {
  await readingWarehouse(warehouseOf(dir), async (query) => {
    expect(await query('select * from sentinel')).toEqual([{ answer: 42 }]);
    expect(await query('select * from "odd; schema"."keep; --"')).toEqual([{ v: 'kept' }]);
    expect(await stagingTablesIn(query)).toEqual([]);
  });
}

const BACKFILL = ['backfill', '--start', '2024-01-01', '--end', '2024-01-04', '--parallel', '2'];

describe('hostile identifiers', () => {
  it('runs, is killed at random points, recovers, and touches only its own objects', async () => {
    const reference = await hostileProject();
    const clean = await backfillIn(reference, { start: '2024-01-01', end: '2024-01-04', parallel: 2 });
    expect(clean.code, explain(clean)).toBe(0);
    const expected = await snapshot(reference);
    expect((expected.fct_events as unknown[]).length).toBe(12);
    await untouched(reference);
    // Every other command reads or checks, and leaves everything in place.
    const others = { test: () => testIn(reference, { date: '2024-01-04' }), history: () => historyIn(reference), compile: () => compileIn(reference) };
    for (const [name, command] of Object.entries(others)) {
      const r = await command();
      expect(r.code, `${name}: ${explain(r)}`).toBe(0);
    }
    await untouched(reference);
    expect(await snapshot(reference)).toEqual(expected);

    const events = clean.events.length;
    for (let trial = 0; trial < 3; trial++) {
      const dir = await hostileProject();
      // Killed right after a random event of the run: between any two steps of any task.
      const at = 1 + Math.floor(Math.random() * (events - 1));
      const running = new RunningPipe([...BACKFILL, '--json', '--project', dir]);
      let seen = 0;
      await running.waitFor(() => ++seen >= at).catch(() => undefined);
      running.child.kill('SIGKILL');
      await running.exited;
      const retried = await retryIn(dir);
      expect(retried.code, `killed after event ${at}: ${explain(retried)}`).toBe(0);
      await untouched(dir);
      expect(await snapshot(dir), `killed after event ${at}`).toEqual(expected);
    }
  });

  it('refuses model and seed files whose names are not identifiers, before touching the warehouse', async () => {
    const dir = await hostileProject();
    const model = 'models/evil"; DROP TABLE main.sentinel; --.sql';
    const seed = "seeds/it's; drop table sentinel.csv";
    writeProjectFiles(dir, { [model]: 'select 1 as x\n', [seed]: 'a\n1\n', 'models/uses_evil.sql': "select * from {{ ref('stg_events') }}\n" });
    const r = await runIn(dir, { date: '2024-01-02' });
    expect(r.code, explain(r)).toBe(2);
    expect(diagnosticsOf(r.events).map((d) => d.location?.file).sort()).toEqual([model, seed].sort());
    await untouched(dir);
    expect(await queryRows(warehouseOf(dir), "select count(*)::INTEGER as n from duckdb_tables() where schema_name = '_pipe'")).toEqual([{ n: 0 }]);
  });
});
