import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatementError, toTaskError } from '../../src/execute/task-errors.js';
import type { Task } from '../../src/plan/task.js';
import type { Dialect } from '../../src/warehouse/dialect.js';
import { DUCKDB } from '../../src/warehouse/duckdb/dialect.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { WarehouseError, type WarehouseSession } from '../../src/warehouse/warehouse.js';

/**
 * The dialect is what pipe asks about the engine: its catalog, the columns of a query, the
 * kind and line of an error. DuckDB's is checked against a real in-memory database; the
 * error reading is checked to come from the dialect a statement ran under, not from DuckDB's
 * words wired in elsewhere.
 */

let warehouse: DuckDBWarehouse;
let s: WarehouseSession;

beforeAll(async () => {
  warehouse = await DuckDBWarehouse.open(':memory:');
  s = await warehouse.session();
  await s.exec('CREATE SCHEMA shop; CREATE TABLE shop.orders (id INTEGER, placed_at TIMESTAMP); CREATE VIEW shop.recent AS SELECT * FROM shop.orders');
  await s.exec('CREATE TEMP TABLE scratch AS SELECT 1 AS x');
});
afterAll(() => {
  s?.close();
  warehouse?.close();
});

const failure = (sql: string) => s.query(sql).then(
  () => {
    throw new Error(`expected ${sql} to fail`);
  },
  (e: unknown) => e as WarehouseError,
);

describe('the DuckDB dialect', () => {
  it('is the dialect of the DuckDB warehouse and of each of its sessions', () => {
    expect(warehouse.dialect).toBe(DUCKDB);
    expect(s.dialect).toBe(DUCKDB);
  });

  it('lists tables and views, not temporary tables, and finds a table by schema and name', async () => {
    const rows = await s.query(`SELECT schema_name, name, type FROM (${DUCKDB.relations()}) ORDER BY 2`);
    expect(rows).toEqual([
      { schema_name: 'shop', name: 'orders', type: 'table' },
      { schema_name: 'shop', name: 'recent', type: 'view' },
    ]);
    // The database each is in: the warehouse's own, before a schema of its name (see ownRelationName).
    expect(await s.query(`SELECT DISTINCT database_name = current_database() AS own FROM (${DUCKDB.relations()})`)).toEqual([{ own: true }]);
    expect(await s.query(DUCKDB.tableExists('shop', 'orders'))).toHaveLength(1);
    expect(await s.query(DUCKDB.tableExists('shop', 'recent'))).toHaveLength(0);
    expect((await s.query(DUCKDB.tablesStartingWith('ord'))).map((r) => r.table_name)).toEqual(['orders']);
  });

  it('describes a relation, none when it does not exist, and a query without running it', async () => {
    expect(await DUCKDB.describeRelation(s, '"shop"."orders"')).toEqual([
      { name: 'id', type: 'INTEGER' },
      { name: 'placed_at', type: 'TIMESTAMP' },
    ]);
    expect(await DUCKDB.describeRelation(s, '"shop"."missing"')).toEqual([]);
    expect(await DUCKDB.describeQuery(s, 'SELECT id * 2 AS twice FROM shop.orders')).toEqual([{ name: 'twice', type: 'INTEGER' }]);
  });

  it('reads the kind, the headline and the statement line of an error', async () => {
    const e = await failure('SELECT id,\n  nope\nFROM shop.orders');
    expect(e).toBeInstanceOf(WarehouseError);
    expect(e.kind).toBe('Binder');
    expect(e.errorClass).toBe('permanent');
    expect(DUCKDB.headline(e.message)).toMatch(/^Referenced column "nope" not found/);
    expect(DUCKDB.errorLine(e.message)).toEqual({ line: 2, marker: 'LINE 2: ' });
    expect(DUCKDB.errorLine('IO Error: disk full')).toBeUndefined();
  });

  it('says in full what makes a name ambiguous: a schema of an attached database\'s name', async () => {
    await s.exec("ATTACH ':memory:' AS shop_raw; CREATE SCHEMA memory.shop_raw; CREATE TABLE memory.shop_raw.t AS SELECT 1 AS x");
    try {
      const e = await failure('SELECT *\nFROM shop_raw.t');
      expect(e.kind).toBe('Binder');
      expect(DUCKDB.headline(e.message)).toMatch(/^"shop_raw" is both a schema of the warehouse and an attached database, and DuckDB cannot tell which a name such as shop_raw.orders means: write it in full \(shop_raw.main.orders/);
    } finally {
      await s.exec('DROP SCHEMA memory.shop_raw CASCADE; DETACH shop_raw');
    }
  });

  it("says a function's signatures after a call that matches none on one line, the query's line after it", async () => {
    const e = await failure("SELECT sum(x)\nFROM (SELECT 'two' AS x)");
    expect(e.kind).toBe('Binder');
    const [first, second, ...rest] = e.message.split('\n');
    expect(first).toMatch(/^Binder Error: No function matches the given name and argument types 'sum\(VARCHAR\)'/);
    expect(second).toMatch(/^its signatures: sum\(DECIMAL\), .*sum\(BIGINT\), .*sum\(DOUBLE\)/);
    expect(rest.join('\n')).toMatch(/^LINE 1: SELECT sum\(x\)/);
    expect(DUCKDB.errorLine(e.message)).toEqual({ line: 1, marker: 'LINE 1: ' });
  });

  it('reads the record a CSV error names', () => {
    expect(DUCKDB.csvFault('Invalid Input Error: CSV Error on Line: 4\nValue with unterminated quote found.')).toEqual({
      kind: 'row',
      record: 4,
      problem: { kind: 'unterminated-quote' },
    });
    expect(DUCKDB.csvFault('Binder Error: nope')).toBeUndefined();
  });
});

describe('reading a failed statement', () => {
  const origin = { file: 'models/m.sql', source: 'select\n  a,\n  b\nfrom t', sql: 'select\n  a,\n  b\nfrom t' };
  const task = { origin } as unknown as Task;
  const statement = `CREATE TABLE x AS\n${origin.sql}`;

  it('locates the error by the line its dialect reads', () => {
    // An engine that names lines its own way: "at line 4 -> ".
    const other: Dialect = {
      ...DUCKDB,
      errorLine: (message) => {
        const m = /at line (\d+) -> /.exec(message);
        return m ? { line: Number(m[1]), marker: m[0] } : undefined;
      },
    };
    const error = new WarehouseError('Binder Error: no b\nat line 4 -> b', 'Binder', 'permanent');
    expect(toTaskError(new StatementError(error, [statement], other), task)).toMatchObject({
      message: 'Binder Error: no b\nmodels/m.sql:3: b',
      location: { file: 'models/m.sql', line: 3 },
    });
    // DuckDB's dialect finds no line in that message: the error is left as it is.
    expect(toTaskError(new StatementError(error, [statement], DUCKDB), task)).toMatchObject({ message: error.message, location: undefined });
  });

  it('takes the line DuckDB quotes over the number it gives when that line does not hold the quote (an error as read_csv is bound)', () => {
    // A 503 answering read_csv's first request is said at "LINE 3" of a statement of two lines.
    const remote = { file: 'models/remote.sql', source: "select count(*) as n from read_csv('http://h/x.csv')", sql: "select count(*) as n from read_csv('http://h/x.csv')" };
    const error = new WarehouseError("HTTP Error: Request returned HTTP 503 for HTTP HEAD to 'http://h/x.csv'\n\nLINE 3: select count(*) as n from read_csv('http://h/x.csv')\n                                       ^", 'IO', 'transient');
    const out = toTaskError(new StatementError(error, [`CREATE OR REPLACE TABLE "main"."remote" AS\n${remote.sql}`], DUCKDB), { origin: remote } as unknown as Task);
    expect(out.location).toEqual({ file: 'models/remote.sql', line: 1 });
    expect(out.message).toMatch(/^HTTP Error: Request returned HTTP 503 for HTTP HEAD to 'http:\/\/h\/x\.csv'\n\nmodels\/remote\.sql:1: select count/);
  });

  it("names the rendered SQL's line where no line of the file rendered it: the line shown below, not the statement's", () => {
    // The failing line's text is on two lines of the file, in two branches of an if: either rendered it.
    const made = { file: 'models/m.sql', source: 'select\n{% if x %}\n  nosuch\n{% else %}\n  nosuch\n{% endif %}\nfrom t', sql: 'select\n  nosuch\nfrom t' };
    const error = new WarehouseError('Binder Error: no nosuch\n\nLINE 3:   nosuch\n          ^', 'Binder', 'permanent');
    const out = toTaskError(new StatementError(error, [`CREATE TABLE x AS\n${made.sql}`], DUCKDB), { origin: made } as unknown as Task);
    expect(out.location).toBeUndefined();
    expect(out.sqlFromLines).toEqual([3, 5]);
    expect(out.sqlContext?.find((l) => l.startsWith('>'))).toMatch(/^>\s+2 \| {3}nosuch$/);
    expect(out.message).toBe(`Binder Error: no nosuch\n\nline 2 of the rendered SQL:   nosuch\n${' '.repeat(30)}^`);
  });
});

describe('the condition "inside an interval"', () => {
  it("keeps exactly the rows a cast to TIMESTAMP puts in the interval, whatever the column type (text with UTC's offset too)", async () => {
    const exact = (column: string, start: number, end: number) => {
      const c = `CAST("${column}" AS TIMESTAMP)`;
      return `${c} >= make_timestamp(${start * 1000}::BIGINT) AND ${c} < make_timestamp(${end * 1000}::BIGINT)`;
    };
    const day = 86_400_000;
    const jan5 = Date.UTC(2024, 0, 5);
    const values: Record<string, string[]> = {
      DATE: ["DATE '2024-01-03'", "DATE '2024-01-04'", "DATE '2024-01-05'", "DATE '2024-01-06'", "DATE '2024-01-07'"],
      TIMESTAMP: ["TIMESTAMP '2024-01-04 23:59:59.999999'", "TIMESTAMP '2024-01-05 00:00:00'", "TIMESTAMP '2024-01-05 23:30:00'", "TIMESTAMP '2024-01-06 00:00:00'"],
      TIMESTAMPTZ: ["TIMESTAMPTZ '2024-01-05 01:00:00+03'", "TIMESTAMPTZ '2024-01-05 23:00:00-03'", "TIMESTAMPTZ '2024-01-05 12:00:00+00'"],
      VARCHAR: ["'2024-01-05'", "'2024-01-05 05:00:00'", "'2024-01-05T23:00:00Z'", "'2024-01-06T01:00:00+00'", "'2024-01-04T23:30:00+00:00'"],
    };
    const intervals = [
      [jan5, jan5 + day],
      [jan5 + 23 * 3_600_000, jan5 + day],
      [jan5 - day, jan5 + 2 * day],
      [jan5 + day, jan5 + 2 * day],
      [jan5 + 12 * 3_600_000, jan5 + day + 12 * 3_600_000],
      [jan5 - 1000, jan5 + day + 1000],
    ];
    for (const [type, list] of Object.entries(values)) {
      const rows = list.map((v, i) => `(${i}, CAST(${v} AS ${type}))`).join(', ');
      for (const [start, end] of intervals) {
        const pick = async (condition: string) =>
          (await s.query(`SELECT i FROM (VALUES ${rows}) AS v(i, "at") WHERE ${condition} ORDER BY i`)).map((r) => Number(r.i));
        const want = await pick(exact('at', start, end));
        expect(await pick(DUCKDB.inInterval('at', start, end)), `${type} [${start}, ${end})`).toEqual(want);
        // Given the column's type as DESCRIBE names it, the condition in that type's terms keeps the same rows.
        const described = String((await s.query(`DESCRIBE SELECT CAST(NULL AS ${type}) AS "at"`))[0].column_type);
        expect(await pick(DUCKDB.inInterval('at', start, end, described)), `${described} [${start}, ${end})`).toEqual(want);
      }
    }
  });

  it('refuses text with an offset other than UTC\'s, whose date is ambiguous, naming the value', async () => {
    const jan5 = Date.UTC(2024, 0, 5);
    // 23:00 at -02:00 is Jan 6 in UTC and Jan 5 as written.
    const rows = "(VALUES ('2024-01-05 10:00:00'), ('2024-01-05T23:00:00-02')) AS v(\"at\")";
    await expect(s.query(`SELECT count(*) AS n FROM ${rows} WHERE ${DUCKDB.inInterval('at', jan5, jan5 + 86_400_000)}`)).rejects.toThrow(
      "pipe: a partition value is text with a UTC offset, whose date is ambiguous: 2024-01-05T23:00:00-02",
    );
    expect(await s.query(DUCKDB.undatedValue('at', rows))).toEqual([{ value: '2024-01-05T23:00:00-02', offset: true }]);
  });
});
