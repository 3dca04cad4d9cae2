import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiagnosticError, type Diagnostic } from '../../src/diagnostics/diagnostics.js';
import { quoteLiteral } from '../../src/sql/sql-text.js';
import { run } from '../../src/commands/run.js';
import type { PipeEvent } from '../../src/events/events.js';
import { seedStrategy } from '../../src/plan/strategies/seed.js';
import { DUCKDB } from '../../src/warehouse/duckdb/dialect.js';
import { loadProject } from '../../src/project/load-project.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import type { Row, WarehouseSession } from '../../src/warehouse/warehouse.js';
import { failureOf, TestWarehouse } from './helpers.js';
import { SeedVerdicts, seedVerdictsDir, seedVerdictsOf } from '../../src/project/seed-verdicts.js';
import { preflightSeeds } from '../../src/commands/preflight.js';
import { engineVersion } from '../../src/state/query-reads.js';
import type { Task } from '../../src/plan/task.js';

/**
 * Seeds load strictly: a well-formed CSV loads as DuckDB's own inference read it, and a
 * malformed one is refused at its line while the loaded table stays as it was.
 */

const REPO = resolve(import.meta.dirname, '../..');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pipe-seeds-strict-'));
  roots.push(root);
  write(root, files);
  return root;
}

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

type Outcome = { events: PipeEvent[]; diagnostics?: readonly Diagnostic[] };

/** `pipe run` in-process; diagnostics when it stopped before anything ran. */
async function runProject(root: string): Promise<Outcome> {
  const events: PipeEvent[] = [];
  try {
    await run({ project: root, date: '2024-01-02', threads: 2, emit: (e) => events.push(e) });
    return { events };
  } catch (e) {
    if (e instanceof DiagnosticError) return { events, diagnostics: e.diagnostics };
    throw e;
  }
}

/** Queries the project's warehouse between runs, which open it themselves. */
async function withWarehouse<T>(root: string, use: (session: WarehouseSession) => Promise<T>): Promise<T> {
  const warehouse = await DuckDBWarehouse.open(join(root, 'warehouse.duckdb'));
  try {
    const session = await warehouse.session();
    try {
      return await use(session);
    } finally {
      session.close();
    }
  } finally {
    warehouse.close();
  }
}

const query = (root: string, sql: string): Promise<Row[]> => withWarehouse(root, (s) => s.query(sql));

const where = (d: Diagnostic) => `${d.location?.file}${d.location?.line ? `:${d.location.line}` : ''}`;
const outcomeOf = (o: Outcome, task: string) =>
  o.events.find((e) => (e.type === 'task-succeeded' || e.type === 'task-skipped' || e.type === 'task-failed') && e.task.id === task)?.type;

describe('well-formed seeds', () => {
  // Each as DuckDB read it before seeds were strict: read_csv with the header and inference alone.
  const GOOD: Record<string, string> = {
    quoted: 'id,label,on_day,amount\n1,"beans, roasted",2024-01-02,2.50\n2,,2024-01-03,\n3,"say ""hi""",2024-01-04,1\n',
    no_final_newline: 'id,name\n1,a\n2,b',
    crlf: 'id,name\r\n1,a\r\n2,b\r\n',
    utf8: 'name,city\nJosé,Zürich\n李,東京\n🙂,Kraków\n',
    bom: '\uFEFFid,name\n1,a\n',
    line_break_in_quotes: 'id,note\n1,"two\nlines"\n2,one\n',
    hash_values: 'color,n\n#ff0000,1\n#00ff00,2\n',
    header_only: 'id,name\n',
  };

  it('load with the types and values DuckDB inferred, the example seeds included', async () => {
    const root = project(Object.fromEntries(Object.entries(GOOD).map(([name, text]) => [`seeds/${name}.csv`, text])));
    for (const f of readdirSync(join(REPO, 'seeds'))) cpSync(join(REPO, 'seeds', f), join(root, 'seeds', f));
    const o = await runProject(root);
    expect(o.diagnostics).toBeUndefined();
    const seeds = loadProject(root).seeds;
    expect(seeds.length).toBe(Object.keys(GOOD).length + 3);
    await withWarehouse(root, async (session) => {
      for (const seed of seeds) {
        expect(outcomeOf(o, seed.name), seed.name).toBe('task-succeeded');
        const types = (seed.yaml?.data.column_types ?? {}) as Record<string, string>;
        const typeArg = Object.entries(types).map(([c, t]) => `${quoteLiteral(c)}: ${quoteLiteral(t)}`);
        const before = `read_csv(${quoteLiteral(seed.absPath)}, header = true, auto_detect = true${typeArg.length ? `, types = {${typeArg.join(', ')}}` : ''})`;
        const columns = (sql: string) => session.query(`SELECT column_name, column_type FROM (DESCRIBE ${sql})`);
        expect(await columns(`"main"."${seed.name}"`), seed.name).toEqual(await columns(`SELECT * FROM ${before}`));
        expect(await session.query(`SELECT * FROM "main"."${seed.name}" ORDER BY ALL`), seed.name).toEqual(await session.query(`SELECT * FROM ${before} ORDER BY ALL`));
      }
      expect(await session.query('SELECT count(*) AS n, min(note) AS note FROM line_break_in_quotes')).toEqual([{ n: '2', note: 'one' }]);
      expect(await session.query('SELECT count(*) AS n FROM header_only')).toEqual([{ n: '0' }]);
    });
  });
});

describe('malformed seeds', () => {
  const GOOD_ROWS = 'a,b\n1,x\n2,y\n';
  const MALFORMED: [string, string, string, RegExp][] = [
    ['an unterminated quote', 'a,b\n1,"x\n2,y\n', 'seeds/s.csv:2', /^a quoted field is never closed/],
    ['a row wider than the header, last', 'a\n1\n2\noops,extra\n', 'seeds/s.csv:4', /^the row has more fields than the header's 1$/],
    ['a row narrower than the header', 'a,b,c\n1,2,3\n4,5\n', 'seeds/s.csv:3', /^the row has 2 fields where the header has 3$/],
    ['a bad row after a field with a line break', 'a,b\n"x\ny",1\n3,4\n5,6,7\n', 'seeds/s.csv:5', /^the row has more fields than the header's 2$/],
    ['a 0-byte file', '', 'seeds/s.csv', /^seed s has no header line/],
    ['a file of whitespace', ' \n\n', 'seeds/s.csv', /^seed s has no header line/],
    ['a blank first line', '\na,b\n1,2\n', 'seeds/s.csv:1', /^seed s has a blank first line/],
    ['semicolons between fields', 'a;b\n1;2\n', 'seeds/s.csv:1', /seeds are comma-separated$/],
    // DuckDB meets it while sniffing the first rows, and says line 1.
    ['a row past the length DuckDB reads, among the first rows', `a,b\n1,x\n2,"${'y\n'.repeat(1_050_000)}"\n3,z\n`, 'seeds/s.csv:3', /^the row is longer than DuckDB's limit of 2000000 bytes$/],
  ];

  it.each(MALFORMED)('refuses %s at its line, before anything runs, keeping the loaded table', async (_, text, at, reason) => {
    const root = project({ 'seeds/s.csv': GOOD_ROWS });
    expect((await runProject(root)).diagnostics).toBeUndefined();
    write(root, { 'seeds/s.csv': text });
    const o = await runProject(root);
    expect(o.diagnostics?.map((d) => [d.code, where(d)])).toEqual([['bad-csv', at]]);
    expect(o.diagnostics![0].message).toMatch(reason);
    expect(o.diagnostics![0].message).not.toMatch(/Possible fixes|sniffing|Error:/);
    expect(o.events.filter((e) => e.type === 'task-started')).toEqual([]);
    expect(await query(root, 'SELECT a, b FROM s ORDER BY a')).toEqual([
      { a: '1', b: 'x' },
      { a: '2', b: 'y' },
    ]);
  });

  it('fails the load at the line of a bad row past the rows types are inferred from, or of a value its type refuses', async () => {
    // DuckDB infers types from the first 20480 rows; a bad row after them is found loading.
    const body = Array.from({ length: 25_000 }, (_, i) => `${i},v${i}\n`).join('');
    const root = project({ 'seeds/wide.csv': 'n,v\n', 'seeds/typed.csv': 'n,v\n', 'seeds/declared.csv': 'n\n', 'seeds/declared.yaml': 'column_types:\n  n: INTEGER\n' });
    await runProject(root);
    write(root, {
      'seeds/wide.csv': `n,v\n0,"two\nlines"\n${body}7\n`,
      'seeds/typed.csv': `n,v\n${body}n/a,x\n`,
      'seeds/declared.csv': 'n\n1\nmany\n',
    });
    const o = await runProject(root);
    expect(o.diagnostics).toBeUndefined();
    const failures = o.events.flatMap((e) => (e.type === 'task-failed' ? [[e.task.id, e.error.message, e.error.location]] : []));
    expect(failures.sort()).toEqual([
      ['declared', 'seeds/declared.csv:3: column n: "many" is not a valid INTEGER (the type declared at seeds/declared.yaml:2)', { file: 'seeds/declared.csv', line: 3 }],
      ['typed', `seeds/typed.csv:25002: column n: "n/a" is not a valid BIGINT, the type DuckDB inferred from the first rows; declare the column's type under column_types in seeds/typed.yaml`, { file: 'seeds/typed.csv', line: 25002 }],
      ['wide', 'seeds/wide.csv:25004: the row has 1 field where the header has 2', { file: 'seeds/wide.csv', line: 25004 }],
    ]);
    expect(await query(root, 'SELECT (SELECT count(*) FROM wide) AS wide, (SELECT count(*) FROM typed) AS typed, (SELECT count(*) FROM declared) AS declared')).toEqual([
      { wide: '0', typed: '0', declared: '0' },
    ]);
  });

  it("refuses a file whose line ends are mixed at the first line that ends otherwise, a line break inside quotes left alone", async () => {
    const root = project({ 'seeds/mixed.csv': 'id,name\r\n1,"a\nb"\r\n2,b\r\n3,c\n' });
    const o = await runProject(root);
    expect(o.diagnostics?.map((d) => [d.location, d.message, d.hint])).toEqual([
      [{ file: 'seeds/mixed.csv', line: 5 }, 'this line ends with LF where the lines before it end with CRLF: DuckDB cannot read a file whose line ends are mixed', 'save the file with one kind of line end'],
    ]);
  });

  it('refuses a staged seed of no rows when lines follow the header', async () => {
    const w = await TestWarehouse.open('pipe-seeds-strict-rows-');
    try {
      const csv = join(w.dir, 'empty.csv');
      writeFileSync(csv, 'a,b\n');
      const input = await w.input('empty', DUCKDB.seedSelect({ absPath: csv, columnTypes: {} }));
      const r = await w.run('seed', input, seedStrategy(input, { file: 'seeds/empty.csv', rows: true }));
      expect(r.result.status).toBe('failed');
      expect(failureOf(r.events).error.message).toBe('0 rows loaded from seeds/empty.csv, though lines follow its header');
      expect((await w.relations()).has('"main"."empty"')).toBe(false);
    } finally {
      w.close();
    }
  });
});

describe('a seed config', () => {
  it('reloads the seed when its column_types change, and keeps the plain file hash without one', async () => {
    const root = project({ 'seeds/t.csv': 'n,zip\n1,1234\n' });
    await runProject(root);
    const fileHash = loadProject(root).seeds[0].hash;
    expect(await query(root, "SELECT hash FROM _pipe.seeds WHERE name = 't'")).toEqual([{ hash: fileHash }]);
    const zip = () => query(root, "SELECT data_type AS type FROM duckdb_columns() WHERE table_name = 't' AND column_name = 'zip'");
    expect(await zip()).toEqual([{ type: 'BIGINT' }]);

    write(root, { 'seeds/t.yaml': 'column_types:\n  zip: VARCHAR\n' });
    expect(outcomeOf(await runProject(root), 't')).toBe('task-succeeded');
    expect(await zip()).toEqual([{ type: 'VARCHAR' }]);
    expect(outcomeOf(await runProject(root), 't')).toBe('task-skipped');

    write(root, { 'seeds/t.yaml': 'column_types: {n: INTEGER, zip: VARCHAR}\n' });
    expect(outcomeOf(await runProject(root), 't')).toBe('task-succeeded');
    // Reordered, with a description added: the same table, nothing to reload.
    write(root, { 'seeds/t.yaml': 'description: zip codes\ncolumn_types: {zip: VARCHAR, n: INTEGER}\n' });
    expect(outcomeOf(await runProject(root), 't')).toBe('task-skipped');
  });

  it('refuses unknown types and columns at their YAML lines before anything runs', async () => {
    const root = project({
      'seeds/t.csv': 'n,zip,price\n1,01234,2.5\n',
      'seeds/t.yaml': 'description: typed\ncolumn_types:\n  n: INTEGR\n  zip: VARCHAR\n  prize: DECIMAL(10,2)\n  price: DECIMAL(100,2)\n',
    });
    const o = await runProject(root);
    expect(o.diagnostics?.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      ['bad-column-type', 'seeds/t.yaml:3', "column_types: 'INTEGR' (column n) is not a DuckDB type", "did you mean 'INTEGER'?"],
      [
        'bad-column-type',
        'seeds/t.yaml:6',
        "column_types: 'DECIMAL(100,2)' (column price) is not a valid type: DECIMAL type width must be between 1 and 38",
        'e.g. INTEGER, BIGINT, DOUBLE, DECIMAL(10,2), VARCHAR, DATE, TIMESTAMP',
      ],
      ['unknown-column', 'seeds/t.yaml:5', "column_types names column 'prize', which seeds/t.csv does not have", "did you mean 'price'?"],
    ]);
    expect(await query(root, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 't'")).toEqual([{ n: '0' }]);
  });

  it("refuses a number past a DOUBLE's range (1e400 as inf, -1e-400 as -0.0), and loads one of many digits that a DOUBLE holds exactly", async () => {
    const root = project({
      'seeds/huge.csv': 'id,f\n1,2.5\n2,1e400\n',
      'seeds/tiny.csv': 'id,f\n1,2.5\n2,-1e-400\n',
      'seeds/floats.csv': 'id,f\n1,2.5\n2,1e39\n',
      'seeds/floats.yaml': 'column_types:\n  f: FLOAT\n',
      'seeds/exact.csv': 'id,f\n1,0.1\n2,1.7976931348623157e308\n3,123456789012345.6\n4,-0.00123e-2\n',
    });
    const o = await runProject(root);
    expect(o.diagnostics?.map((d) => [d.code, where(d), d.message])).toEqual([
      ['bad-csv', 'seeds/floats.csv:3', 'column f of seeds/floats.csv is declared FLOAT (seeds/floats.yaml:2): "1e39" is past what FLOAT holds, and would load as inf'],
      ['bad-csv', 'seeds/huge.csv:3', `column f of seeds/huge.csv reads as DOUBLE (DuckDB's inference): "1e400" is past what DOUBLE holds, and would load as inf`],
      ['bad-csv', 'seeds/tiny.csv:3', `column f of seeds/tiny.csv reads as DOUBLE (DuckDB's inference): "-1e-400" is past what DOUBLE holds, and would load as -0.0`],
    ]);
    write(root, { 'seeds/huge.csv': 'id,f\n1,2.5\n', 'seeds/tiny.csv': 'id,f\n1,2.5\n', 'seeds/floats.csv': 'id,f\n1,2.5\n' });
    expect((await runProject(root)).diagnostics).toBeUndefined();
    expect(await query(root, 'SELECT f::VARCHAR AS f FROM exact ORDER BY id')).toEqual([{ f: '0.1' }, { f: '1.7976931348623157e+308' }, { f: '123456789012345.6' }, { f: '-1.23e-05' }]);
  });

  it('refuses what DuckDB would infer a type for that does not hold the file: numbers past a DOUBLE, dates either day first or month first', async () => {
    const root = project({
      'seeds/ids.csv': 'id,ext_id\n1,5\n2,12345678901234567891\n3,12345678901234567892\n',
      'seeds/money.csv': 'id,amount\n1,0.1\n2,12345678901234567.89\n',
      'seeds/us_dates.csv': 'id,d\n1,01/02/2024\n2,03/04/2024\n',
      // Told apart by the 13th: read as it is; decimals of few digits are DOUBLE as ever.
      'seeds/eu_dates.csv': 'id,d,v\n1,13/02/2024,0.5\n2,03/04/2024,2.25\n',
    });
    const o = await runProject(root);
    expect(o.diagnostics?.map((d) => [d.code, where(d), d.message])).toEqual([
      ['bad-csv', 'seeds/ids.csv:3', "column ext_id of seeds/ids.csv reads as DOUBLE (DuckDB's inference), which keeps about 15 significant digits: 12345678901234567891 would load as another number"],
      ['bad-csv', 'seeds/money.csv:3', "column amount of seeds/money.csv reads as DOUBLE (DuckDB's inference), which keeps about 15 significant digits: 12345678901234567.89 would load as another number"],
      ['bad-csv', 'seeds/us_dates.csv:2', "the dates of column d of seeds/us_dates.csv read as %d/%m/%Y (DuckDB's inference), and every one of them reads as %m/%d/%Y too: 01/02/2024 could be either day"],
    ]);
    // Declared, each loads as declared.
    write(root, {
      'seeds/ids.yaml': 'column_types:\n  ext_id: HUGEINT\n',
      'seeds/money.yaml': 'column_types:\n  amount: DECIMAL(20,2)\n',
      'seeds/us_dates.yaml': 'column_types:\n  d: VARCHAR\n',
    });
    expect((await runProject(root)).diagnostics).toBeUndefined();
    expect(await query(root, "SELECT count(DISTINCT ext_id) AS n FROM ids UNION ALL SELECT (SELECT amount FROM money WHERE id = 2)::VARCHAR UNION ALL SELECT strftime(max(d), '%Y-%m-%d') FROM eu_dates")).toEqual([
      { n: '3' },
      { n: '12345678901234567.89' },
      { n: '2024-04-03' },
    ]);
  });

  it('refuses a schema that is not a plain identifier, and a column typed twice in different case', async () => {
    const root = project({
      'seeds/t.csv': 'n\n1\n',
      'seeds/t.yaml': 'schema: raw data\ncolumn_types:\n  n: INTEGER\n  N: BIGINT\n',
    });
    const o = await runProject(root);
    expect(o.diagnostics?.map((d) => [d.code, where(d), d.message])).toEqual([
      ['bad-config', 'seeds/t.yaml:4', "column_types declares 'n' and 'N': DuckDB does not tell column names apart by case"],
      ['bad-config', 'seeds/t.yaml:1', 'schema must be a plain identifier (letters, digits, underscores and $, starting with a letter or an underscore)'],
    ]);
  });
});

describe('a value that would not load as it reads', () => {
  // Past the rows DuckDB infers types from: every row is checked, not a sample.
  const many = (n: number, row: (i: number) => string) => Array.from({ length: n }, (_, i) => `${row(i + 1)}\n`).join('');

  it('is refused at its line when a declared type would round it, cut it or drop its offset', async () => {
    const root = project({
      'seeds/s.csv': 'id,ts,n,amt,d\n1,2024-01-01 23:30:00+05:00,1.7,10.005,2024-01-01 10:00:00\n2,2024-01-02 01:00:00-08:00,2.5,0.015,2024-01-02\n',
      'seeds/s.yaml': 'column_types:\n  ts: TIMESTAMP\n  n: INTEGER\n  amt: DECIMAL(10,2)\n  d: DATE\n',
      'seeds/late.csv': `id,n\n${many(25_000, (i) => `${i},${i}`)}25001,2.5\n`,
      'seeds/late.yaml': 'column_types:\n  n: int\n',
    });
    const o = await runProject(root);
    expect(o.diagnostics?.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      [
        'bad-csv',
        'seeds/late.csv:25002',
        'column n of seeds/late.csv is declared INTEGER (seeds/late.yaml:2): "2.5" would load as 3, rounded to a whole number: INTEGER keeps no decimals',
        'declare a type that holds it under column_types: DECIMAL(19, 1) or DOUBLE for numbers with decimals, VARCHAR to keep the text',
      ],
      [
        'bad-csv',
        'seeds/s.csv:2',
        'column ts of seeds/s.csv is declared TIMESTAMP (seeds/s.yaml:2): "2024-01-01 23:30:00+05:00" would load as 2024-01-01 23:30:00: TIMESTAMP drops the UTC offset, which makes it another instant',
        'declare a type that holds it under column_types: TIMESTAMPTZ keeps the instant (TIMESTAMP the time as written, with the offset dropped by a model), VARCHAR the text',
      ],
      [
        'bad-csv',
        'seeds/s.csv:2',
        'column n of seeds/s.csv is declared INTEGER (seeds/s.yaml:3): "1.7" would load as 2, rounded to a whole number: INTEGER keeps no decimals',
        'declare a type that holds it under column_types: DECIMAL(19, 1) or DOUBLE for numbers with decimals, VARCHAR to keep the text',
      ],
      [
        'bad-csv',
        'seeds/s.csv:2',
        'column amt of seeds/s.csv is declared DECIMAL(10,2) (seeds/s.yaml:4): "10.005" would load as 10.01, rounded to the decimals DECIMAL(10,2) keeps',
        'declare a type that holds it under column_types: DECIMAL(11, 3) or DOUBLE for numbers with decimals, VARCHAR to keep the text',
      ],
      [
        'bad-csv',
        'seeds/s.csv:2',
        'column d of seeds/s.csv is declared DATE (seeds/s.yaml:5): "2024-01-01 10:00:00" would load as 2024-01-01, cut to what DATE keeps',
        'declare a type that holds it under column_types: TIMESTAMP keeps the time of day (TIMESTAMPTZ an offset too), VARCHAR the text',
      ],
    ]);
    expect(o.events.filter((e) => e.type === 'task-started')).toEqual([]);

    // Types that hold the values load them; so do values a type keeps as they read (1.0, 10.50, Z, midnight).
    write(root, {
      'seeds/s.yaml': 'column_types:\n  ts: TIMESTAMPTZ\n  n: DOUBLE\n  amt: DECIMAL(10,3)\n  d: TIMESTAMP\n',
      'seeds/late.csv': 'id,n\n1,1.0\n2,+3\n',
      'seeds/kept.csv': 'id,amt,ts,d\n1,10.50,2024-01-02T03:04:05Z,2024-01-02 00:00:00\n2,1e1,2024-01-02 03:04:05+00:00,2024-01-03\n',
      'seeds/kept.yaml': 'column_types:\n  amt: DECIMAL(10,2)\n  ts: TIMESTAMP\n  d: DATE\n',
    });
    expect((await runProject(root)).diagnostics).toBeUndefined();
    expect(await query(root, "SELECT strftime(ts, '%H:%M') AS ts, n, amt::VARCHAR AS amt FROM s ORDER BY id")).toEqual([
      { ts: '18:30', n: 1.7, amt: '10.005' },
      { ts: '09:00', n: 2.5, amt: '0.015' },
    ]);
    expect(await query(root, 'SELECT amt::VARCHAR AS amt, ts::VARCHAR AS ts, d::VARCHAR AS d FROM kept ORDER BY id')).toEqual([
      { amt: '10.50', ts: '2024-01-02 03:04:05', d: '2024-01-02' },
      { amt: '10.00', ts: '2024-01-02 03:04:05', d: '2024-01-03' },
    ]);
  });

  it('is refused at its line, in any row, when DuckDB inferred a type that would change it', async () => {
    const root = project({
      // The same number at line 21 was refused; past the rows DuckDB infers from it loaded as another.
      'seeds/ids.csv': `id,amount\n${many(20_481, (i) => `${i},${i}.25`)}20482,12345678901234567891\n`,
      'seeds/late.csv': `id,n,d\n${many(25_000, (i) => `${i},${i},2024-01-02`)}25001,1.5,2024-01-02 10:00:00\n`,
      'seeds/hex.csv': 'id,code,bits\n1,0x1F,0b101\n2,0x10,0b11\n',
      'seeds/inf.csv': 'id,until\n1,inf\n',
    });
    const o = await runProject(root);
    expect(o.diagnostics?.map((d) => [d.code, where(d), d.message, d.hint])).toEqual([
      [
        'bad-csv',
        'seeds/hex.csv:2',
        'column code of seeds/hex.csv reads as BIGINT (DuckDB\'s inference), which reads "0x1F" as the number 31: a value must load as what it reads as',
        'declare its type under column_types: VARCHAR to keep the text, or BIGINT to load the number',
      ],
      ['bad-csv', 'seeds/hex.csv:2', 'column bits of seeds/hex.csv reads as BIGINT (DuckDB\'s inference), which reads "0b101" as the number 5: a value must load as what it reads as', 'declare its type under column_types: VARCHAR to keep the text, or BIGINT to load the number'],
      [
        'bad-csv',
        'seeds/ids.csv:20483',
        "column amount of seeds/ids.csv reads as DOUBLE (DuckDB's inference), which keeps about 15 significant digits: 12345678901234567891 would load as another number",
        'declare its type under column_types: DECIMAL(38, s) or HUGEINT for numbers, VARCHAR for identifiers',
      ],
      ['bad-csv', 'seeds/inf.csv:2', 'column until of seeds/inf.csv reads as DATE (DuckDB\'s inference), which reads "inf" as a date past all others (infinity)', 'declare its type under column_types: VARCHAR to keep the text, or DATE to load infinity'],
      [
        'bad-csv',
        'seeds/late.csv:25002',
        'column n of seeds/late.csv reads as BIGINT (DuckDB\'s inference): "1.5" would load as 2, rounded to a whole number: BIGINT keeps no decimals',
        'declare its type under column_types: DECIMAL(19, 1) or DOUBLE for numbers with decimals, VARCHAR to keep the text',
      ],
      [
        'bad-csv',
        'seeds/late.csv:25002',
        'column d of seeds/late.csv reads as DATE (DuckDB\'s inference): "2024-01-02 10:00:00" would load as 2024-01-02, cut to what DATE keeps',
        'declare its type under column_types: TIMESTAMP keeps the time of day (TIMESTAMPTZ an offset too), VARCHAR the text',
      ],
    ]);

    // Forms that load as what they read as: numbers with spaces or a sign, an exponent, nan, a bare point; text DuckDB keeps as text.
    write(root, {
      'seeds/ids.csv': 'id\n1\n',
      'seeds/late.csv': 'id\n1\n',
      'seeds/hex.yaml': 'column_types:\n  code: VARCHAR\n  bits: BIGINT\n',
      'seeds/inf.yaml': 'column_types:\n  until: VARCHAR\n',
      'seeds/forms.csv': 'spaced,signed,exp,nan,point,dot,octal,underscored,minus_hex\n 12 ,+5,1e3,nan,.5,5.,0o17,1_000,-0x10\n',
    });
    expect((await runProject(root)).diagnostics).toBeUndefined();
    expect(await query(root, 'SELECT code, bits, (SELECT until FROM inf) AS until FROM hex ORDER BY id')).toEqual([
      { code: '0x1F', bits: '5', until: 'inf' },
      { code: '0x10', bits: '3', until: 'inf' },
    ]);
    expect(await query(root, 'SELECT COLUMNS(*)::VARCHAR FROM forms')).toEqual([
      { spaced: '12', signed: '+5', exp: '1000.0', nan: 'nan', point: '0.5', dot: '5.0', octal: '0o17', underscored: '1_000', minus_hex: '-0x10' },
    ]);
  });
});

describe('a blank line', () => {
  const warnings = (o: Outcome) =>
    o.events.flatMap((e) => (e.type === 'diagnostic' && e.diagnostic.severity === 'warning' ? [[where(e.diagnostic), e.diagnostic.message]] : []));

  it('of a seed of one column loads a row of NULL, with a warning at its line; a seed of more columns skips it', async () => {
    const root = project({
      'seeds/one.csv': 'v\n1\n\n2\n\n',
      'seeds/crlf.csv': 'v\r\n1\r\n"x\n\ny"\r\n\r\n',
      'seeds/two.csv': 'a,b\n1,2\n\n3,4\n',
    });
    const o = await runProject(root);
    expect(o.diagnostics).toBeUndefined();
    expect(warnings(o).sort()).toEqual([
      ['seeds/crlf.csv:6', 'a blank line in seeds/crlf.csv, a seed of one column, loads as a row of NULL'],
      ['seeds/one.csv:3', 'a blank line in seeds/one.csv, a seed of one column, loads as a row of NULL (and 1 more blank line)'],
    ]);
    expect(await query(root, 'SELECT (SELECT count(*) FROM one) AS one, (SELECT count(*) FROM crlf) AS crlf, (SELECT count(*) FROM two) AS two')).toEqual([{ one: '4', crlf: '3', two: '2' }]);
  });
});

describe("a seed's value check", () => {
  const packs = (root: string) => readdirSync(seedVerdictsDir(root)).filter((f) => f.endsWith('.pack'));
  /** How many entries this process has kept in the project: one more for each check made and passed, and for each file described (its columns). */
  const kept = (root: string) => seedVerdictsOf(root).stats.misses;

  it('is kept once passed, by the file, how it is read and its types: a new warehouse does not read the file for it again', async () => {
    const root = project({ 'seeds/s.csv': 'id,amt,ts\n1,10.5,2024-01-02 03:04:05\n2,1.25,2024-01-03 00:00:00\n', 'seeds/s.yaml': 'column_types:\n  amt: DECIMAL(10,2)\n' });
    expect((await runProject(root)).diagnostics).toBeUndefined();
    expect(kept(root)).toBe(2);
    // A new warehouse loads the same file: its verdict and columns are found, nothing new is kept.
    rmSync(join(root, 'warehouse.duckdb'));
    expect((await runProject(root)).diagnostics).toBeUndefined();
    expect(kept(root)).toBe(2);
    // Kept on disk for the next process, as a pack the verdicts' folder holds.
    expect(packs(root)).toHaveLength(1);
    expect(new SeedVerdicts(seedVerdictsDir(root)).hasAny()).toBe(true);
    // Another type is another check, and a value it would change is refused, and not kept (the seed, another, is described once).
    write(root, { 'seeds/s.yaml': 'column_types:\n  amt: DECIMAL(10,1)\n' });
    expect((await runProject(root)).diagnostics?.map((d) => d.code)).toEqual(['bad-csv']);
    expect((await runProject(root)).diagnostics?.map((d) => d.code)).toEqual(['bad-csv']);
    expect(kept(root)).toBe(3);
    // Another file: described and checked again.
    write(root, { 'seeds/s.csv': 'id,amt,ts\n1,10.5,2024-01-02 03:04:05\n2,1.2,2024-01-03 00:00:00\n' });
    expect((await runProject(root)).diagnostics).toBeUndefined();
    expect(kept(root)).toBe(5);
  });

  it("keeps the columns the engine read a file as: an unchanged seed is not described again by the next process, a changed one is", async () => {
    const w = await TestWarehouse.open('pipe-seed-columns-');
    try {
      const csv = join(w.dir, 'people.csv');
      writeFileSync(csv, 'id,name\n1,ann\n2,bo\n');
      const store = join(w.dir, 'verdicts');
      const task = (sqlHash: string) => ({ csv: { file: 'seeds/people.csv', read: { absPath: csv, columnTypes: {} }, names: ['id', 'name'], columnTypes: [] }, sqlHash, steps: [{ kind: 'sql', sql: 'SELECT 1' }] }) as unknown as Task;
      /** The seed's checks in a new process (a store read from disk), and whether the engine described the file. */
      const check = async (sqlHash: string) => {
        const said: string[] = [];
        const session = new Proxy(w.session, {
          get(target, p) {
            if (p === 'query') return (sql: string) => (said.push(sql), target.query(sql));
            const v = Reflect.get(target, p) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        });
        const verdicts = new SeedVerdicts(store);
        const diagnostics = await preflightSeeds(session, [task(sqlHash)], verdicts);
        verdicts.flush();
        return { diagnostics, described: said.some((sql) => sql.startsWith('DESCRIBE') && sql.includes('auto_detect = true')) };
      };
      expect(await check('first')).toEqual({ diagnostics: [], described: true });
      expect(await check('first')).toEqual({ diagnostics: [], described: false });
      // A file of other content has another hash: described again.
      writeFileSync(csv, 'id,label\n1,x\n');
      expect(await check('second')).toMatchObject({ described: true, diagnostics: [expect.objectContaining({ code: 'bad-csv' })] });
      // Refused by the engine's reading of its header, the file's columns are still kept: the next process refuses it from them.
      expect(await check('second')).toMatchObject({ described: false, diagnostics: [expect.objectContaining({ code: 'bad-csv' })] });
      // A kept entry that is not a list of columns is refused, and the file described again.
      const key = SeedVerdicts.key(await engineVersion(w.session), ['columns', 'third', task('third').csv!.read]);
      const bad = new SeedVerdicts(store);
      bad.write(key, '{"not": "columns"}');
      bad.flush();
      writeFileSync(csv, 'id,name\n1,ann\n');
      expect(await check('third')).toEqual({ diagnostics: [], described: true });
    } finally {
      w.close();
    }
  });
});
