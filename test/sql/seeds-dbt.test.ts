import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../src/commands/run.js';
import { preflightSeeds } from '../../src/commands/preflight.js';
import { DiagnosticError, type Diagnostic } from '../../src/diagnostics/diagnostics.js';
import type { PipeEvent } from '../../src/events/events.js';
import type { Task } from '../../src/plan/task.js';
import { queryWarehouse, removeProjects, tempProject } from '../support/projects.js';
import { TestWarehouse } from './helpers.js';
import { docsGenerate } from '../../src/ui/docs/docs-generate.js';
import { explain, type PipeResult } from '../e2e/helpers.js';
import { compileIn, nodesIn, showIn, statusIn } from '../support/in-process.js';
import { stubAssets } from '../ui/ui-fixture.js';

/**
 * Seeds load as dbt-duckdb loads them, or are refused: in a dbt project the columns get the
 * types dbt-duckdb gives them; the delimiter, quote_columns and the folder config apply; a
 * file that would load into a table other than it says is an error at its file and line.
 */

afterAll(removeProjects);

const DBT_PROJECT = `name: shop
version: '1.0'
seed-paths: [seeds]
seeds:
  shop:
    sub:
      +schema: raw
      +column_types:
        code: varchar
    eu_prices:
      +delimiter: ";"
    bare_cols:
      +quote_columns: false
`;

/** A small shop's seeds, as a dbt project would have them. */
const SHOP: Record<string, string> = {
  'dbt_project.yml': DBT_PROJECT,
  'seeds/customers.csv': `id,first_name,last_name,email,signed_up,is_active,lifetime_value,referrer_id
1,Ada,Lovelace,ada@example.com,2023-01-15,true,1520.50,
2,Alan,Turing,alan@example.com,2023-02-01,false,0,1
3,"Hopper, Grace",,grace@example.com,2023-03-12,true,99.99,1
4,Edsger,Dijkstra,,2023-04-30,TRUE,250,2
`,
  'seeds/orders.csv': `order_id,customer_id,ordered_at,shipped_at,amount,quantity,status,is_gift,note
1001,1,2024-01-02 10:15:00,2024-01-03T08:00:00Z,19.99,1,shipped,false,
1002,2,2024-01-02 11:00:30,,5.00,3,pending,true,"fragile, handle with care"
1003,1,2024-01-05 09:00:00,2024-01-06T12:30:00.250Z,120,2,shipped,false,"said ""thanks"""
`,
  'seeds/products.csv': `sku,name,price_cents,weight_kg,launched,discontinued,category
A-100,Widget,1999,0.25,2022-05-01,,tools
B-200,Gadget,24999,1.5,2021-11-20,2024-01-31,tools
C-300,Doohickey,500,0.1,2023-07-07,,toys
`,
  'seeds/eu_prices.csv': 'sku;price;currency\nA-100;19.99;EUR\nB-200;249.99;EUR\n',
  'seeds/bare_cols.csv': 'Id,CustomerName,Amount\n1,a,2.5\n',
  'seeds/empty_table.csv': 'id,name,created\n',
  'seeds/sub/regions.csv': 'code,name,population,area_km2\n01,North,1200000,5000.5\n02,South,800000,4200\n',
  'seeds/sub/properties.yml': 'version: 2\nseeds:\n  - name: regions\n    config:\n      alias: region_codes\n',
};

/** What `dbt seed` (dbt-core 1.10, dbt-duckdb 1.9) made of SHOP, read from information_schema.columns. */
const DBT_DUCKDB_COLUMNS: Record<string, string[]> = {
  'main.bare_cols': ['Id INTEGER', 'CustomerName VARCHAR', 'Amount DOUBLE'],
  'main.customers': ['id INTEGER', 'first_name VARCHAR', 'last_name VARCHAR', 'email VARCHAR', 'signed_up DATE', 'is_active BOOLEAN', 'lifetime_value DOUBLE', 'referrer_id INTEGER'],
  'main.empty_table': ['id INTEGER', 'name INTEGER', 'created INTEGER'],
  'main.eu_prices': ['sku VARCHAR', 'price DOUBLE', 'currency VARCHAR'],
  'main.orders': ['order_id INTEGER', 'customer_id INTEGER', 'ordered_at TIMESTAMP', 'shipped_at TIMESTAMP', 'amount DOUBLE', 'quantity INTEGER', 'status VARCHAR', 'is_gift BOOLEAN', 'note VARCHAR'],
  'main.products': ['sku VARCHAR', 'name VARCHAR', 'price_cents INTEGER', 'weight_kg DOUBLE', 'launched DATE', 'discontinued DATE', 'category VARCHAR'],
  'main_raw.region_codes': ['code VARCHAR', 'name VARCHAR', 'population INTEGER', 'area_km2 DOUBLE'],
};

type Outcome = { events: PipeEvent[]; diagnostics?: readonly Diagnostic[] };

async function runProject(dir: string, select?: string[], exclude?: string[]): Promise<Outcome> {
  const events: PipeEvent[] = [];
  try {
    await run({ project: dir, date: '2024-01-02', threads: 2, select, exclude, emit: (e) => events.push(e) });
    return { events };
  } catch (e) {
    if (e instanceof DiagnosticError) return { events, diagnostics: e.diagnostics };
    throw e;
  }
}

const columnsOf = async (dir: string) => {
  const rows = await queryWarehouse(
    dir,
    `SELECT table_schema || '.' || table_name AS t, list(column_name || ' ' || data_type ORDER BY ordinal_position) AS columns
       FROM information_schema.columns WHERE table_schema NOT LIKE '\\_pipe%' ESCAPE '\\' GROUP BY ALL ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [String(r.t), r.columns]));
};

const where = (d: Diagnostic) => `${d.location?.file}${d.location?.line ? `:${d.location.line}` : ''}`;
const loaded = (o: Outcome) => o.events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.id] : [])).sort();

describe('seeds of a dbt project', () => {
  it('load with the columns and types dbt-duckdb gives them, a subfolder with its folder config, schema and alias', async () => {
    const dir = tempProject(SHOP, 'pipe-seeds-dbt-');
    const first = await runProject(dir);
    expect(first.diagnostics).toBeUndefined();
    expect(await columnsOf(dir)).toEqual(DBT_DUCKDB_COLUMNS);
    expect(await queryWarehouse(dir, 'SELECT code, population, area_km2 FROM main_raw.region_codes ORDER BY code')).toEqual([
      { code: '01', population: 1200000, area_km2: 5000.5 },
      { code: '02', population: 800000, area_km2: 4200 },
    ]);
    expect(await queryWarehouse(dir, "SELECT CAST(shipped_at AS VARCHAR) AS shipped, is_gift, note FROM main.orders ORDER BY order_id")).toEqual([
      { shipped: '2024-01-03 08:00:00', is_gift: false, note: null },
      { shipped: null, is_gift: true, note: 'fragile, handle with care' },
      { shipped: '2024-01-06 12:30:00.25', is_gift: false, note: 'said "thanks"' },
    ]);
    expect(await queryWarehouse(dir, 'SELECT sku, price FROM main.eu_prices ORDER BY sku')).toEqual([
      { sku: 'A-100', price: 19.99 },
      { sku: 'B-200', price: 249.99 },
    ]);

    // The seed in a subfolder is selected by its name, and reloaded alone.
    writeFileSync(join(dir, 'seeds/sub/regions.csv'), 'code,name,population,area_km2\n03,East,5,1\n');
    const again = await runProject(dir, ['regions']);
    expect(again.diagnostics).toBeUndefined();
    expect(loaded(again)).toEqual(['regions']);
    expect(await queryWarehouse(dir, 'SELECT code FROM main_raw.region_codes')).toEqual([{ code: '03' }]);
  });

  it('refuses, at the value, a column dbt-duckdb would load as other values than the file has', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'seeds/zips.csv': 'id,zip\n1,10001\n2,01234\n',
      'seeds/events.csv': 'id,at\n1,2024-01-02T03:04:05Z\n2,2024-01-02T03:04:05+02:00\n',
      'seeds/amounts.csv': 'id,amount\n1,12\n2,"1,000"\n3,null\n',
      'seeds/big.csv': 'id\n1\n3000000000\n',
      'seeds/rates.csv': 'id,rate\n1,1.5\n2,2.5E-3\n',
      'seeds/fine.csv': 'id,zip\n1,01234\n',
      'seeds/fine.yml': 'column_types:\n  zip: varchar\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics?.map((d) => [where(d), d.message, d.hint])).toEqual([
      ['seeds/amounts.csv:3', `column amount: dbt's type inference reads "1,000" as INTEGER, which DuckDB cannot be relied on to load as dbt-duckdb does`, "declare the column's type under the seed's column_types, e.g. amount: varchar"],
      ['seeds/big.csv:3', 'column id: 3000000000 does not fit INTEGER, the type dbt-duckdb gives the column', "declare the column's type under the seed's column_types, e.g. id: bigint"],
      [
        'seeds/events.csv:3',
        `column at: "2024-01-02T03:04:05+02:00" would lose its UTC offset: dbt-duckdb types the column TIMESTAMP, and DuckDB's cast drops the offset`,
        "declare the column's type under the seed's column_types, e.g. at: timestamptz to keep the instant (or at: varchar to keep the text)",
      ],
      // A number with an exponent DOUBLE loads: the hint says so.
      [
        'seeds/rates.csv:3',
        `column rate: dbt's type inference reads "2.5E-3" as DOUBLE, which DuckDB cannot be relied on to load as dbt-duckdb does`,
        "declare the column's type under the seed's column_types, e.g. rate: double to load the numbers, or rate: varchar to keep the text",
      ],
      [
        'seeds/zips.csv:3',
        'column zip: "01234" would lose its leading zero: dbt-duckdb types the column INTEGER',
        "declare the column's type under the seed's column_types, e.g. zip: varchar to keep the text as written (or zip: integer to load numbers)",
      ],
    ]);
    expect(o.events.filter((e) => e.type === 'task-started')).toEqual([]);
  });

  it('stops only the commands that would load a refused seed: a run that reads it, not one that does not', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'seeds/zips.csv': 'id,zip\n1,10001\n2,01234\n',
      'models/reads_zips.sql': "select * from {{ ref('zips') }}",
      'models/other.sql': 'select 1 as x',
    });
    // A model that reads it would load it first: refused, nothing run.
    for (const select of [['reads_zips'], undefined]) {
      const o = await runProject(dir, select);
      expect(o.diagnostics?.map((d) => [d.severity, where(d)])).toEqual([['error', 'seeds/zips.csv:3']]);
      expect(o.events.filter((e) => e.type === 'task-started')).toEqual([]);
    }
    // One that does not runs, told why the seed is left out.
    const o = await runProject(dir, ['other']);
    expect(o.diagnostics).toBeUndefined();
    const told = o.events.flatMap((e) => (e.type === 'diagnostic' ? [e.diagnostic] : []));
    expect(told.map((d) => [d.severity, where(d), d.message.endsWith('zips is left out of what this command builds')])).toEqual([['warning', 'seeds/zips.csv:3', true]]);
    expect(o.events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.model] : []))).toEqual(['other']);
  });

  it('refuses, at the value, one its declared column type would change, which dbt-duckdb loads changed', async () => {
    // dbt-duckdb 1.11 loads 2024-01-01 23:30:00, 2, 10.01 and 2024-01-01 from the first row.
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\nseeds:\n  shop:\n    s:\n      +column_types:\n        ts: timestamp\n        n: integer\n        amt: decimal(10,2)\n        d: date\n",
      'seeds/s.csv': 'id,ts,n,amt,d\n1,2024-01-01 23:30:00+05:00,1.7,10.005,2024-01-01 10:00:00\n2,2024-01-02 01:00:00-08:00,2.5,0.015,2024-01-02\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics?.map((d) => [where(d), d.message])).toEqual([
      ['seeds/s.csv:2', 'column ts of seeds/s.csv is declared TIMESTAMP (dbt_project.yml:7): "2024-01-01 23:30:00+05:00" would load as 2024-01-01 23:30:00: TIMESTAMP drops the UTC offset, which makes it another instant'],
      ['seeds/s.csv:2', 'column n of seeds/s.csv is declared INTEGER (dbt_project.yml:8): "1.7" would load as 2, rounded to a whole number: INTEGER keeps no decimals'],
      ['seeds/s.csv:2', 'column amt of seeds/s.csv is declared DECIMAL(10,2) (dbt_project.yml:9): "10.005" would load as 10.01, rounded to the decimals DECIMAL(10,2) keeps'],
      ['seeds/s.csv:2', 'column d of seeds/s.csv is declared DATE (dbt_project.yml:10): "2024-01-01 10:00:00" would load as 2024-01-01, cut to what DATE keeps'],
    ]);
    expect(o.events.filter((e) => e.type === 'task-started')).toEqual([]);
  });

  it('matches column_types to header names exactly, as dbt-duckdb does: a column named in another case is typed as inferred, with a warning naming the type', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\nseeds:\n  shop:\n    t:\n      +column_types:\n        ZIP: varchar\n",
      'seeds/t.csv': 'id,zip\n1,10001\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    const warned = o.events.flatMap((e) => (e.type === 'diagnostic' ? [[e.diagnostic.code, where(e.diagnostic), e.diagnostic.message]] : []));
    expect(warned).toEqual([
      ['unknown-column', 'dbt_project.yml:7', "column_types names 'ZIP', but the column of seeds/t.csv is 'zip': dbt-duckdb matches column names exactly, and types the column INTEGER as it infers it, not VARCHAR"],
    ]);
    expect((await columnsOf(dir))['main.t']).toEqual(['id INTEGER', 'zip INTEGER']);
  });

  it("loads a seed whose properties type a column its file does not have, which types nothing in dbt, with a warning at the entry", async () => {
    // The Tuva project types tuva_last_run in the properties of seeds whose files have no such column.
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'seeds/t.csv': 'id,zip\n1,10001\n',
      'seeds/t.yml': 'version: 2\nseeds:\n  - name: t\n    config:\n      column_types:\n        zip: varchar\n        loaded_at: timestamp\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    const warned = o.events.flatMap((e) => (e.type === 'diagnostic' ? [[e.diagnostic.code, where(e.diagnostic), e.diagnostic.message]] : []));
    expect(warned).toEqual([['unknown-column', 'seeds/t.yml:7', "column_types names column 'loaded_at', which seeds/t.csv does not have: it types nothing, as in dbt"]]);
    expect((await columnsOf(dir))['main.t']).toEqual(['id INTEGER', 'zip VARCHAR']);
  });

  it('loads a seed whose column_types names a column in another case with the type dbt-duckdb infers, the type named here', async () => {
    // dbt-activity-schema's integration tests: +column_types ACTIVITY_REPEATED_AT: TIMESTAMP over every seed.
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\nseeds:\n  shop:\n    +column_types:\n      TS: TIMESTAMP\n",
      'seeds/t.csv': 'id,ts\n1,2024-01-01 10:00:00\n2,\n',
      'seeds/other.csv': 'id\n1\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    const warned = o.events.flatMap((e) => (e.type === 'diagnostic' ? [[e.diagnostic.code, where(e.diagnostic), e.diagnostic.message]] : []));
    expect(warned).toEqual([
      ['unknown-column', 'dbt_project.yml:6', "column_types names 'TS', but the column of seeds/t.csv is 'ts': dbt-duckdb matches column names exactly, and types the column TIMESTAMP as it infers it, the type named"],
    ]);
    expect((await columnsOf(dir))['main.t']).toEqual(['id INTEGER', 'ts TIMESTAMP']);
  });
});

describe("a dbt project's seed whose header leaves a column unnamed (a trailing comma)", () => {
  it("loads it under the name dbt gives it (its place's letter), with a warning at the header; a bad row is still said at its line", async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'seeds/trailing.csv': 'id,name,\r\n1,x,\r\n2,y,\r\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    const warned = o.events.flatMap((e) => (e.type === 'diagnostic' ? [[where(e.diagnostic), e.diagnostic.message]] : []));
    expect(warned).toEqual([['seeds/trailing.csv:1', "column 3 of the header of seed trailing has no name: it is loaded as 'c', the name dbt gives it"]]);
    expect((await columnsOf(dir))['main.trailing']).toEqual(['id INTEGER', 'name VARCHAR', 'c INTEGER']);
    expect(await queryWarehouse(dir, 'SELECT id, name, c FROM main.trailing ORDER BY id')).toEqual([{ id: 1, name: 'x', c: null }, { id: 2, name: 'y', c: null }]);
    // A row with a field too many: found before anything is written, at its line.
    writeFileSync(join(dir, 'seeds/trailing.csv'), 'id,name,\n1,x,\n2,y,z,9\n');
    const bad = await runProject(dir);
    expect(bad.diagnostics?.map((d) => where(d))).toEqual(['seeds/trailing.csv:3']);
  });
});

describe("a dbt project's seed whose header repeats a name", () => {
  it('loads it under the names dbt gives them (a_2, and b_2 after a blank named b), with a warning each; names equal but for case stay refused', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'seeds/dup.csv': 'a,a,b\n1,2,3\n',
      'seeds/blank.csv': 'a,,b\n1,2,3\n',
      'seeds/dup2.csv': 'a,a,a_2\n1,2,3\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    const warned = o.events.flatMap((e) => (e.type === 'diagnostic' ? [[where(e.diagnostic), e.diagnostic.message]] : [])).sort();
    expect(warned).toEqual([
      ['seeds/blank.csv:1', "column 2 of the header of seed blank has no name: it is loaded as 'b', the name dbt gives it"],
      ['seeds/blank.csv:1', "column 3 of the header of seed blank repeats 'b': it is loaded as 'b_2', the name dbt gives it"],
      ['seeds/dup.csv:1', "column 2 of the header of seed dup repeats 'a': it is loaded as 'a_2', the name dbt gives it"],
      ['seeds/dup2.csv:1', "column 2 of the header of seed dup2 repeats 'a': it is loaded as 'a_2', the name dbt gives it"],
      ['seeds/dup2.csv:1', "column 3 of the header of seed dup2 repeats 'a_2': it is loaded as 'a_2_2', the name dbt gives it"],
    ]);
    // As dbt-duckdb 1.11 loads them.
    const columns = await columnsOf(dir);
    expect([columns['main.dup'], columns['main.blank'], columns['main.dup2']]).toEqual([
      ['a INTEGER', 'a_2 INTEGER', 'b INTEGER'],
      ['a INTEGER', 'b INTEGER', 'b_2 INTEGER'],
      ['a INTEGER', 'a_2 INTEGER', 'a_2_2 INTEGER'],
    ]);
    expect(await queryWarehouse(dir, 'SELECT * FROM main.dup2')).toEqual([{ a: 1, a_2: 2, a_2_2: 3 }]);
    writeFileSync(join(dir, 'seeds/dup.csv'), 'A,a\n1,2\n');
    const cased = await runProject(dir);
    expect(cased.diagnostics?.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual(["the header of seed dup names two columns 'A' and 'a': DuckDB does not tell column names apart by case"]);
  });
});

describe("a dbt project's seed whose header names a column with spaces around it", () => {
  it('keeps them, as dbt-duckdb creates the column quoted (DuckDB reading the header alone would drop them)', async () => {
    const dir = tempProject({ 'dbt_project.yml': "name: shop\nversion: '1.0'\n", 'seeds/spaced.csv': 'a ,b, c\n1,2,3\n' });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    expect((await columnsOf(dir))['main.spaced']).toEqual(['a  INTEGER', 'b INTEGER', ' c INTEGER']);
    expect(await queryWarehouse(dir, 'SELECT "a ", " c" FROM main.spaced')).toEqual([{ 'a ': 1, ' c': 3 }]);
  });
});

describe('a seed whose table would not be its file', () => {
  it('is refused when its header has a nameless, padded or repeated name, or another separator than its delimiter', async () => {
    const dir = tempProject({
      'seeds/blank.csv': 'a,,b\n1,2,3\n',
      'seeds/padded.csv': 'a, b\n1,2\n',
      'seeds/twice.csv': 'id,Name,name\n1,x,y\n',
      'seeds/same.csv': 'a,a\n1,2\n',
      'seeds/commas.csv': 'a,b\n1,2\n',
      'seeds/commas.yaml': "delimiter: ';'\n",
      'seeds/é.csv': 'É,é\n1,2\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics?.map((d) => [d.code, where(d), d.message])).toEqual([
      ['bad-csv', 'seeds/blank.csv:1', 'column 2 of the header of seed blank has no name'],
      ['bad-csv', 'seeds/commas.csv:1', "the header of seed commas is one column with a ',' in it: its delimiter is ';'"],
      ['bad-csv', 'seeds/padded.csv:1', "column 2 of the header of seed padded, ' b', starts or ends with spaces, which DuckDB would drop from the column's name"],
      ['bad-csv', 'seeds/same.csv:1', "the header of seed same names two columns 'a'"],
      ['bad-csv', 'seeds/twice.csv:1', "the header of seed twice names two columns 'Name' and 'name': DuckDB does not tell column names apart by case"],
    ]);
  });

  it('is refused when the engine reads other column names than the header line has', async () => {
    // The file as it stands when the run starts, against the header analysis read.
    const w = await TestWarehouse.open('pipe-seeds-dbt-names-');
    try {
      const csv = join(w.dir, 'people.csv');
      writeFileSync(csv, 'id,label\n1,x\n');
      const task = {
        csv: { file: 'seeds/people.csv', read: { absPath: csv, columnTypes: {} }, names: ['id', 'name'], columnTypes: [] },
        steps: [{ kind: 'sql', sql: 'SELECT 1' }],
      } as unknown as Task;
      const diagnostics = await preflightSeeds(w.session, [task]);
      expect(diagnostics.map((d) => [d.code, where(d), d.message])).toEqual([
        ['bad-csv', 'seeds/people.csv:1', 'DuckDB reads the columns of seeds/people.csv as id, label, not as its header line names them: id, name'],
      ]);
    } finally {
      w.close();
    }
  });

  it('with quote_columns false, loads a header name with spaces around it under the name without them, as dbt-duckdb creates it bare', async () => {
    // dbt-ml-inline-preprocessing's seeds: `input, output`.
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\nseeds:\n  shop:\n    +quote_columns: false\n",
      'seeds/padded.csv': 'input, output ,\tn\ncat,dog,1\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    expect((await columnsOf(dir))['main.padded']).toEqual(['input VARCHAR', 'output VARCHAR', 'n INTEGER']);
    expect(await queryWarehouse(dir, 'SELECT output, n FROM main.padded')).toEqual([{ output: 'dog', n: 1 }]);
  });

  it('with quote_columns false, is refused when a column name cannot be created bare', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\nseeds:\n  shop:\n    +quote_columns: false\n",
      'seeds/keyword.csv': 'id,order,MixedCase\n1,2,3\n',
      'seeds/spaced.csv': 'id,Order ID\n1,2\n',
    });
    const o = await runProject(dir);
    expect(o.diagnostics?.map((d) => [d.code, where(d), d.message])).toEqual([
      ['bad-config', 'dbt_project.yml:5', "quote_columns is false, and column 'Order ID' of seeds/spaced.csv cannot be created without quotes: dbt-duckdb would fail to create the table"],
    ]);
    writeFileSync(join(dir, 'seeds/spaced.csv'), 'id,order_id\n1,2\n');
    const again = await runProject(dir);
    expect(again.diagnostics?.map((d) => [d.code, where(d), d.message])).toEqual([
      ['bad-config', 'dbt_project.yml:5', "quote_columns is false, and column 'order' of seeds/keyword.csv is a DuckDB keyword: dbt-duckdb would fail to create the table"],
    ]);
    writeFileSync(join(dir, 'seeds/keyword.csv'), 'id,sort_order,MixedCase\n1,2,3\n');
    expect((await runProject(dir)).diagnostics).toBeUndefined();
    expect(await columnsOf(dir)).toEqual({ 'main.keyword': ['id INTEGER', 'sort_order INTEGER', 'MixedCase INTEGER'], 'main.spaced': ['id INTEGER', 'order_id INTEGER'] });
  });

  it("takes column types written as templates in dbt_project.yml, as dbt renders them", async () => {
    const dir = tempProject({
      'dbt_project.yml': `name: shop
version: '1.0'
seeds:
  shop:
    +column_types:
      synced: timestamp
    typed:
      +column_types:
        id: "{%- if target.type == 'bigquery' -%} INT64 {%- else -%} bigint {%- endif -%}"
        amount: "{{ 'decimal(10,2)' }}"
`,
      'seeds/typed.csv': 'id,amount,synced\n1,2.5,2024-01-01 00:00:00\n',
    });
    expect((await runProject(dir)).diagnostics).toBeUndefined();
    expect(await columnsOf(dir)).toEqual({ 'main.typed': ['id BIGINT', 'amount DECIMAL(10,2)', 'synced TIMESTAMP'] });
  });

  it("is read with the quote DuckDB's sniffer finds, as dbt-duckdb's COPY reads it, into the types agate reads with \" quotes", async () => {
    // 'Doe' loads as Doe, '' as NULL, 'O''Brien' as O'Brien; a column with a quoted value is text for agate.
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'seeds/people.csv': "id,name\n1,'Doe'\n2,'Roe'\n",
      'seeds/pairs.csv': "a,b\nx,y\nx,''\n'',2\n",
      'seeds/doubled.csv': "id,name\n1,'O''Brien'\n2,''\n",
      'seeds/apostrophes.csv': "id,name\n1,O'Brien\n2,\"D'Arcy, J\"\n",
    });
    expect((await runProject(dir)).diagnostics).toBeUndefined();
    expect(await columnsOf(dir)).toEqual({
      'main.apostrophes': ['id INTEGER', 'name VARCHAR'],
      'main.doubled': ['id INTEGER', 'name VARCHAR'],
      'main.pairs': ['a VARCHAR', 'b VARCHAR'],
      'main.people': ['id INTEGER', 'name VARCHAR'],
    });
    const rows = (table: string) => queryWarehouse(dir, `SELECT * FROM main.${table} ORDER BY ALL NULLS LAST`);
    expect(await rows('people')).toEqual([{ id: 1, name: 'Doe' }, { id: 2, name: 'Roe' }]);
    expect(await rows('pairs')).toEqual([{ a: 'x', b: 'y' }, { a: 'x', b: null }, { a: null, b: '2' }]);
    expect(await rows('doubled')).toEqual([{ id: 1, name: "O'Brien" }, { id: 2, name: null }]);
    expect(await rows('apostrophes')).toEqual([{ id: 1, name: "O'Brien" }, { id: 2, name: "D'Arcy, J" }]);
  });

  it('is refused where the file read with \" quotes (its types) and with the sniffed quote (its values) disagree', async () => {
    // 'Doe, J' is one value to DuckDB's sniffed reading and two to agate's (dbt-duckdb fails on it).
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'seeds/people.csv': "id,name\n1,'Roe'\n2,'Doe, J'\n",
    });
    const o = await runProject(dir);
    expect(o.diagnostics?.map((d) => [d.code, where(d)])).toEqual([['bad-csv', 'seeds/people.csv:3']]);
    expect(o.diagnostics?.[0].message).toBe(
      "dbt-duckdb loads seeds/people.csv with ' as its quote character (DuckDB's CSV sniffer finds it in the file), and types its columns from the file read with \" quotes (agate): here the two readings give other values, so which table dbt-duckdb makes is not sure",
    );
    writeFileSync(join(dir, 'seeds/people.csv'), 'id,name\n1,Roe\n2,"Doe, J"\n');
    expect((await runProject(dir)).diagnostics).toBeUndefined();
    expect(await queryWarehouse(dir, 'SELECT name FROM main.people ORDER BY name')).toEqual([{ name: 'Doe, J' }, { name: 'Roe' }]);
  });
});

describe("a dbt project's seed of dates beside text in another date format", () => {
  it('loads its DATE columns as dbt-duckdb types them (%Y-%m-%d), not in a format the sniffer took from the text column', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      // As dbt-duckdb loads it: note is text, dt a DATE.
      'seeds/notes.csv': 'note,dt\n01/02/2024,2024-01-31\n2024-02-29,2024-02-29\n',
      // Text of one other date format throughout: dbt-duckdb's COPY reads dt in it and fails; the types are agate's all the same.
      'seeds/us.csv': 'us,dt\n01/02/2024,2024-01-31\n03/04/2024,2024-02-29\n',
      // Declared DATE: read in the format the file writes, as dbt-duckdb's COPY reads it.
      'seeds/declared.csv': 'd,n\n01/31/2024,1\n02/29/2024,2\n',
      'seeds/properties.yml': 'version: 2\nseeds:\n  - name: declared\n    config:\n      column_types:\n        d: date\n',
    });
    expect((await runProject(dir)).diagnostics).toBeUndefined();
    expect(await columnsOf(dir)).toEqual({
      'main.declared': ['d DATE', 'n INTEGER'],
      'main.notes': ['note VARCHAR', 'dt DATE'],
      'main.us': ['us VARCHAR', 'dt DATE'],
    });
    const rows = (sql: string) => queryWarehouse(dir, sql);
    expect(await rows('SELECT note, dt::VARCHAR AS dt FROM main.notes ORDER BY dt')).toEqual([
      { note: '01/02/2024', dt: '2024-01-31' },
      { note: '2024-02-29', dt: '2024-02-29' },
    ]);
    expect(await rows('SELECT us, dt::VARCHAR AS dt FROM main.us ORDER BY dt')).toEqual([
      { us: '01/02/2024', dt: '2024-01-31' },
      { us: '03/04/2024', dt: '2024-02-29' },
    ]);
    expect(await rows('SELECT d::VARCHAR AS d FROM main.declared ORDER BY d')).toEqual([{ d: '2024-01-31' }, { d: '2024-02-29' }]);
  });
});

describe('a seed of a pipe project', () => {
  it('is read at its delimiter, its types inferred by DuckDB', async () => {
    const dir = tempProject({
      'seeds/tabbed.csv': 'id\tname\tprice\n1\tWidget, large\t2.50\n2\t"tab\there"\t3\n',
      'seeds/tabbed.yaml': 'delimiter: "\\t"\n',
      'seeds/piped.csv': 'zip|n\n01234|1\n',
      'seeds/piped.yaml': "delimiter: '|'\n",
    });
    expect((await runProject(dir)).diagnostics).toBeUndefined();
    expect(await columnsOf(dir)).toEqual({ 'main.piped': ['zip VARCHAR', 'n BIGINT'], 'main.tabbed': ['id BIGINT', 'name VARCHAR', 'price DOUBLE'] });
    expect(await queryWarehouse(dir, 'SELECT name FROM tabbed ORDER BY id')).toEqual([{ name: 'Widget, large' }, { name: 'tab\there' }]);
  });
});

describe("a dbt project's seed of one column with a blank line", () => {
  it('loads a row of NULL for it, as dbt-duckdb does, without a word', async () => {
    const dir = tempProject({ 'dbt_project.yml': "name: shop\nversion: '1.0'\n", 'seeds/one.csv': 'v\n1\n\n2\n\n' });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    expect(o.events.filter((e) => e.type === 'diagnostic' && e.diagnostic.severity === 'warning')).toEqual([]);
    expect(await queryWarehouse(dir, 'SELECT count(*) AS n, count(v) AS v FROM main.one')).toEqual([{ n: '4', v: '2' }]);
  });
});

/** Beside the seeds: a node pipe does not build, and the commands it stops. */
describe("a dbt project's Python model", () => {
  it('stops for a Python model only the commands that may build it: one that leaves it out by name runs the rest', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      // Its tags as dbt reads them, from its dbt.config() calls (a comment is none).
      'models/py/scores.py': 'def model(dbt, session):\n    dbt.config(materialized="table", tags=["py"])  # tags=["t"]\n    return dbt.ref("other").df()\n',
      'models/other.sql': 'select 1 as x',
      'models/tagged.sql': "{{ config(tags=['t']) }}\nselect 2 as x",
    });
    const refused = (o: Outcome) => o.diagnostics?.filter((d) => d.message.includes('is a Python model')).map((d) => d.severity);
    // Everything, its tag, a graph operator that may reach it, or its name: refused as before.
    for (const select of [undefined, ['tag:py'], ['tag:p*'], ['other+'], ['scores']]) expect(refused(await runProject(dir, select)), String(select)).toEqual(['error']);
    // A tag it has not, or its tag left out: the rest runs.
    const byTag = await runProject(dir, ['tag:t']);
    expect(byTag.diagnostics).toBeUndefined();
    expect(byTag.events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.model] : []))).toEqual(['tagged']);
    // Named models alone: the rest runs, told why the Python model is not built.
    const o = await runProject(dir, ['other']);
    expect(o.diagnostics).toBeUndefined();
    const told = o.events.flatMap((e) => (e.type === 'diagnostic' ? [e.diagnostic] : []));
    expect(told.map((d) => [d.severity, d.message.endsWith('scores is left out of what this command builds'), d.hint?.includes('--exclude scores builds the rest')])).toEqual([['warning', true, true]]);
    expect(o.events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.model] : []))).toEqual(['other']);
    expect((await runProject(dir, undefined, ['tag:py'])).diagnostics).toBeUndefined();
    // What is downstream of a node it does not read (its dbt.ref() calls say what it reads), or nodes of
    // another kind alone: the rest runs. Downstream of what it reads: refused (other+ above).
    writeFileSync(join(dir, 'models/apart.sql'), 'select 3 as x');
    mkdirSync(join(dir, 'seeds'), { recursive: true });
    writeFileSync(join(dir, 'seeds/codes.csv'), 'id\n1\n');
    for (const select of [['apart+'], ['resource_type:seed']]) {
      const apart = await runProject(dir, select);
      expect(apart.diagnostics, String(select)).toBeUndefined();
    }
    // A Python model reading a Python model that reads what is selected is reached through it.
    writeFileSync(join(dir, 'models/py/later.py'), 'def model(dbt, session):\n    return dbt.ref("scores").df()\n');
    const chained = await runProject(dir, ['other+'], ['scores']);
    // (scores itself left out: the refusal names what the command builds.)
    expect(chained.diagnostics?.map((d) => d.message)).toEqual(['models/py/later.py is a Python model: pipe builds SQL models only']);
    const chainedBoth = await runProject(dir, ['other+']);
    expect(chainedBoth.diagnostics?.map((d) => d.message)).toEqual(['2 models are Python models (later and scores): pipe builds SQL models only']);
    // One of them selected: the refusal names it alone, and what to leave out for it.
    const one = await runProject(dir, ['scores']);
    expect(one.diagnostics?.map((d) => [d.message, d.hint?.startsWith('write it as a SQL model; --exclude scores builds the rest')])).toEqual([
      ['models/py/scores.py is a Python model: pipe builds SQL models only', true],
    ]);
    rmSync(join(dir, 'models/py/later.py'));
    rmSync(join(dir, 'models/apart.sql'));
    rmSync(join(dir, 'seeds/codes.csv'));
    // Its folder, left out: the rest runs. Its folder, selected: refused for the Python model, not
    // as a folder without model files.
    for (const exclude of [['models/py'], ['path:models/py/'], ['models/py/scores.py']]) {
      const left = await runProject(dir, undefined, exclude);
      expect(left.diagnostics, String(exclude)).toBeUndefined();
      // Both SQL models built or current (a run before built them), nothing failed.
      expect(left.events.flatMap((e) => (e.type === 'run-finished' ? [[e.succeeded, e.failed]] : [])), String(exclude)).toEqual([[2, 0]]);
    }
    const folder = await runProject(dir, ['path:models/py']);
    expect(folder.diagnostics?.map((d) => [d.severity, d.message])).toEqual([['error', 'models/py/scores.py is a Python model: pipe builds SQL models only']]);
    // A model reading it cannot be built either: refused at its ref(), unless it is left out too.
    writeFileSync(join(dir, 'models/ranked.sql'), "select * from {{ ref('scores') }}");
    const reader = await runProject(dir, undefined, ['scores']);
    expect(reader.diagnostics?.filter((d) => d.severity === 'error').map((d) => [d.severity, d.message, where(d)])).toEqual([
      ['error', "ref('scores'): scores is a Python model, which pipe does not build, so ranked cannot be built from it", 'models/ranked.sql:1'],
    ]);
    const both = await runProject(dir, undefined, ['scores', 'ranked']);
    expect(both.diagnostics).toBeUndefined();
    // What reads the reader is left out with it, as the hint says: leaving out the two alone refuses the third.
    writeFileSync(join(dir, 'models/top.sql'), "select * from {{ ref('ranked') }}");
    const third = await runProject(dir, undefined, ['scores', 'ranked']);
    expect(third.diagnostics?.map((d) => d.message)).toEqual(['top reads ranked, which is not built yet and not selected']);
    const hinted = (await runProject(dir)).diagnostics?.find((d) => d.code === 'python-ref')?.hint;
    expect(hinted).toBe('leave both out, and what reads ranked (--exclude scores ranked+), or build scores outside pipe, declare its table as a source and read it with source()');
    expect((await runProject(dir, undefined, ['scores', 'ranked+'])).diagnostics).toBeUndefined();
    // Through an ephemeral model, inlined into what reads it: that is built from the Python model too, and refused.
    writeFileSync(join(dir, 'models/eph.sql'), "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('scores') }}");
    writeFileSync(join(dir, 'models/via_eph.sql'), "select * from {{ ref('eph') }}");
    const inlined = await runProject(dir, ['via_eph']);
    expect(inlined.diagnostics?.filter((d) => d.severity === 'error').map((d) => [d.message, where(d)])).toEqual([
      ["ref('scores'): scores is a Python model, which pipe does not build, so eph cannot be built from it", 'models/eph.sql:2'],
    ]);
  });

  it('many of them are one refusal naming them, with the folder they share to leave them out by', async () => {
    const py = 'def model(dbt, session):\n    return None\n';
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      ...Object.fromEntries(['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'].map((n) => [`models/raw/${n}.py`, py])),
      'models/stg/other.sql': 'select 1 as x',
    });
    const all = await runProject(dir);
    expect(all.diagnostics?.map((d) => [d.message, d.hint?.includes('--exclude models/raw builds the rest')])).toEqual([
      ['7 models are Python models (r1, r2, r3, r4, r5 and 2 more): pipe builds SQL models only', true],
    ]);
    expect((await runProject(dir, undefined, ['models/raw'])).diagnostics).toBeUndefined();
    // pipe ls lists them as dbt ls does, with what their dbt.ref() calls read, though pipe builds none.
    writeFileSync(join(dir, 'models/raw/r1.py'), 'def model(dbt, session):\n    return dbt.ref("other").df()\n');
    const listed = await nodesIn(dir);
    expect(listed.code, explain(listed)).toBe(0);
    expect(listed.nodes.map((n) => [n.name, n.kind, n.upstream])).toEqual([
      ['other', 'view', []],
      ...['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'].map((n) => [n, 'python', n === 'r1' ? ['other'] : []]),
    ]);
    expect((await nodesIn(dir, { select: ['other'] })).nodes.map((n) => n.name)).toEqual(['other']);
    // A Python model named with what reads it: it, and the Python models reading it, not the others.
    writeFileSync(join(dir, 'models/raw/r2.py'), 'def model(dbt, session):\n    return dbt.ref("r1").df()\n');
    expect((await nodesIn(dir, { select: ['r1+'] })).nodes.map((n) => n.name)).toEqual(['r1', 'r2']);
  });

  it('is no refusal for the commands that build nothing: compile, show, status, docs generate read the rest, told it is left out', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/py/scores.py': 'def model(dbt, session):\n    return dbt.ref("other").df()\n',
      'models/other.sql': 'select 1 as x',
    });
    expect((await runProject(dir, ['other'])).diagnostics).toBeUndefined();
    const leftOut = (r: PipeResult) => r.events.flatMap((e) => (e.type === 'diagnostic' && e.diagnostic.message.includes('is a Python model') ? [e.diagnostic.severity] : []));
    const compiled = await compileIn(dir, { date: '2024-01-02' });
    expect([compiled.code, compiled.models.map((m) => m.model), leftOut(compiled)]).toEqual([0, ['other'], ['warning']]);
    // Named, it is refused as a run refuses it, and so is a model reading it, which compile leaves out otherwise.
    writeFileSync(join(dir, 'models/reader.sql'), "select * from {{ ref('scores') }}");
    const named = await compileIn(dir, { date: '2024-01-02', model: 'scores' });
    expect([named.code, named.stderr]).toEqual([2, expect.stringContaining('error: models/py/scores.py is a Python model: pipe builds SQL models only')]);
    expect((await compileIn(dir, { date: '2024-01-02' })).models.map((m) => m.model)).toEqual(['other']);
    const reader = await compileIn(dir, { date: '2024-01-02', model: 'reader' });
    expect([reader.code, reader.stderr]).toEqual([2, expect.stringContaining("error: ref('scores'): scores is a Python model")]);
    const showPy = await showIn(dir, { model: 'scores' });
    expect([showPy.code, showPy.stderr]).toEqual([2, expect.stringContaining('error: models/py/scores.py is a Python model')]);
    rmSync(join(dir, 'models/reader.sql'));
    const shown = await showIn(dir, { model: 'other', json: true });
    expect([shown.code, JSON.parse(shown.stdout), leftOut(shown)]).toEqual([0, [{ x: 1 }], ['warning']]);
    // --inline compiles the query, analyzing the project again: its warning is said once all the same.
    const inline = await showIn(dir, { model: 'other', json: true, inline: true });
    expect([inline.code, JSON.parse(inline.stdout), leftOut(inline)]).toEqual([0, [{ x: 1 }], ['warning']]);
    const status = await statusIn(dir, { date: '2024-01-02' });
    expect([status.code, leftOut(status)]).toEqual([0, ['warning']]);
    const assets = stubAssets();
    writeFileSync(join(assets, 'app.js'), '/* page */');
    const docs = await docsGenerate({ project: dir, assets });
    expect(docs.warnings.filter((d) => d.message.includes('is a Python model')).map((d) => d.severity)).toEqual(['warning']);
    expect(docs.warnings.map((d) => d.code)).not.toContain('docs-not-compiled');
    expect(readFileSync(join(docs.out, 'data/index.js'), 'utf8')).toContain('"other"');
  });

  it("a refused config of a folder stops each of its models, and a model's refused key that one alone", async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\nmodels:\n  shop:\n    marts:\n      +materialized: incremental\n      +incremental_strategy: merge\n",
      'models/marts/a.sql': 'select 1 as id',
      'models/marts/b.sql': 'select 2 as id',
      'models/c.sql': "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge', merge_update_columns=['v']) }}\nselect 1 as id, 2 as v",
      'models/d.sql': 'select 4 as id',
    });
    const errors = (o: Outcome) => o.diagnostics?.filter((d) => d.severity === 'error').map((d) => d.message);
    // Leaving out one of the folder's models still builds the other: refused, for both.
    expect(errors(await runProject(dir, undefined, ['a', 'c']))).toEqual([
      "incremental_strategy 'merge' needs unique_key: without it every row is inserted, and a re-run would add the same rows again (2 models: a and b)",
    ]);
    const rest = await runProject(dir, undefined, ['a', 'b', 'c']);
    expect(rest.diagnostics).toBeUndefined();
    expect(rest.events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.model] : []))).toEqual(['d']);
    const told = rest.events.flatMap((e) => (e.type === 'diagnostic' && e.diagnostic.severity === 'warning' ? [e.diagnostic.message] : []));
    expect(told.filter((m) => m.endsWith('left out of what this command builds')).sort()).toEqual([
      "config 'merge_update_columns' is not supported by pipe; c is left out of what this command builds",
      "incremental_strategy 'merge' needs unique_key: without it every row is inserted, and a re-run would add the same rows again (2 models: a and b); a and b are left out of what this command builds",
    ]);
  });

  it('switched off by its own dbt.config(enabled=False), is left out as dbt leaves it out', async () => {
    const dir = tempProject({
      'dbt_project.yml': "name: shop\nversion: '1.0'\n",
      'models/py/scores.py': 'def model(dbt, session):\n    dbt.config(\n        enabled=False,\n    )\n    return dbt.ref("other").df()\n',
      'models/other.sql': 'select 1 as x',
    });
    const o = await runProject(dir);
    expect(o.diagnostics).toBeUndefined();
    expect(o.events.flatMap((e) => (e.type === 'task-succeeded' ? [e.task.model] : []))).toEqual(['other']);
  });
});
