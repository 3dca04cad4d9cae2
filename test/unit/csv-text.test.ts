import { describe, expect, it } from 'vitest';
import { csvLoadError, csvProblem, type CsvOrigin } from '../../src/plan/csv-error-location.js';
import { csvHead, csvShape, forEachCsvRow, recordLine } from '../../src/project/csv-text.js';
import { seedHash } from '../../src/project/load-project.js';
import { DUCKDB } from '../../src/warehouse/duckdb/dialect.js';

describe('csvShape', () => {
  it('finds no header in an empty or blank file, as text or bytes', () => {
    for (const text of ['', '   ', '\n\n', ' \r\n\t\n', '\uFEFF']) {
      expect(csvShape(text)).toEqual({ kind: 'blank' });
      expect(csvShape(Buffer.from(text))).toEqual({ kind: 'blank' });
    }
  });

  it('reads the header names outside quotes and sees whether rows follow', () => {
    expect(csvShape('a,b\n')).toEqual({ kind: 'header', names: ['a', 'b'], rows: false });
    expect(csvShape('a,b')).toEqual({ kind: 'header', names: ['a', 'b'], rows: false });
    expect(csvShape('a,b\r\n  \r\n')).toEqual({ kind: 'header', names: ['a', 'b'], rows: false });
    expect(csvShape('"x, y",b,"it""s"\n1,2,3')).toEqual({ kind: 'header', names: ['x, y', 'b', 'it"s'], rows: true });
    expect(csvShape('"multi\nline",b\n1,2\n')).toEqual({ kind: 'header', names: ['multi\nline', 'b'], rows: true });
    expect(csvShape(Buffer.from('\uFEFFid,naïve\n1,x\n'))).toEqual({ kind: 'header', names: ['id', 'naïve'], rows: true });
    expect(csvShape('a,,b \n')).toEqual({ kind: 'header', names: ['a', '', 'b '], rows: false });
  });

  it('counts the fields at the delimiter, not at commas', () => {
    expect(csvShape('a;b,c;d\n1;2,5;3\n', ';')).toEqual({ kind: 'header', names: ['a', 'b,c', 'd'], rows: true });
    expect(csvShape('a\t"b\tc"\n', '\t')).toEqual({ kind: 'header', names: ['a', 'b\tc'], rows: false });
    expect(csvShape('a|b\r\n1|2', '|')).toEqual({ kind: 'header', names: ['a', 'b'], rows: true });
  });

  it('sees another separator in a header of one field, but not inside quotes', () => {
    expect(csvShape('a;b\n1;2\n')).toMatchObject({ names: ['a;b'], separator: ';' });
    expect(csvShape('a\tb\n')).toMatchObject({ names: ['a\tb'], separator: 'tab' });
    expect(csvShape('"a;b"\n1\n')).toEqual({ kind: 'header', names: ['a;b'], rows: true });
    expect(csvShape('a;b,c\n')).toEqual({ kind: 'header', names: ['a;b', 'c'], rows: false });
    // A comma-separated file read at another delimiter.
    expect(csvShape('a,b\n1,2\n', ';')).toMatchObject({ names: ['a,b'], separator: ',' });
    expect(csvShape('"a,b"\n1\n', ';')).toEqual({ kind: 'header', names: ['a,b'], rows: true });
  });

  it('refuses a header after a blank first line, and a header whose quote never closes', () => {
    expect(csvShape('\na,b\n1,2\n')).toEqual({ kind: 'blank-first-line' });
    expect(csvShape('  \r\na,b\n')).toEqual({ kind: 'blank-first-line' });
    expect(csvShape('a,"b\n1,2\n')).toEqual({ kind: 'unterminated-header' });
  });
});

describe('csvHead', () => {
  it('keeps the start of the file its shape is read from, at any delimiter', () => {
    const text = 'a;b\r\n\r\n  1;2\n3;4\n';
    expect(csvHead(text)).toBe('a;b\r\n\r\n  1');
    expect(csvShape(csvHead(Buffer.from(text)), ';')).toEqual(csvShape(text, ';'));
    expect(csvHead('a,b\n')).toBe('a,b\n');
    expect(csvHead('a,"b\n1,2\n')).toBe('a,"b\n1,2\n');
  });
});

describe('forEachCsvRow', () => {
  const rows = (text: string, delimiter = ',') => {
    const out: [number, readonly string[]][] = [];
    forEachCsvRow(text, delimiter, (fields, line) => out.push([line, fields]));
    return out;
  };

  it('yields the unquoted fields of each row after the header, with the line it starts on', () => {
    expect(rows('a,b\n1,"x, ""y"""\n\n"two\nlines",\n3,z')).toEqual([
      [2, ['1', 'x, "y"']],
      [4, ['two\nlines', '']],
      [6, ['3', 'z']],
    ]);
    expect(rows('\uFEFFa;b\r\n1;2,5\r\n3;4\r\n', ';')).toEqual([
      [2, ['1', '2,5']],
      [3, ['3', '4']],
    ]);
    expect(rows('a,b\n')).toEqual([]);
  });
});

describe('recordLine', () => {
  const text = 'a,b\n"x\ny",1\n3,"p ""q""\nr"\n5,6\n';
  it('finds the line a record starts on, past line breaks inside quotes', () => {
    expect([1, 2, 3, 4, 5].map((r) => recordLine([text], r))).toEqual([1, 2, 4, 6, 7]);
  });

  it('reads the same across chunk boundaries and CRLF endings', () => {
    const crlf = text.replaceAll('\n', '\r\n');
    const chunks = (t: string) => Array.from(Buffer.from(t)).map((b) => Buffer.from([b]));
    expect([1, 2, 3, 4].map((r) => recordLine(chunks(crlf), r))).toEqual([1, 2, 4, 6]);
    expect(recordLine(chunks(`\uFEFF${text}`), 4)).toBe(6);
  });

  it('treats a quote inside an unquoted field as text, as DuckDB does', () => {
    expect(recordLine(['a,b\n1,x"y\n2,z\n'], 3)).toBe(3);
  });
});

describe('csvProblem', () => {
  // Read as pipe reads them: DuckDB's message by its dialect, the fault by csvProblem.
  const fault = (message: string) => DUCKDB.csvFault(message);
  const origin: CsvOrigin = {
    file: 'seeds/s.csv',
    read: { absPath: '/p/seeds/s.csv', columnTypes: {} },
    names: ['a', 'price'],
    columnTypes: [{ column: 'price', type: 'INTEGER', location: { file: 'seeds/s.yaml', line: 3 } }],
  };
  const lineOf = (_: string, record: number) => record + 10;
  // DuckDB's messages, cut down to the lines pipe reads.
  const duck = (reason: string) =>
    `Invalid Input Error: CSV Error on Line: 4\nOriginal Line: 5,6,7\n${reason}\n\nPossible fixes:\n* Enable ignore errors (ignore_errors=true) to skip this row\n\n  file = /p/seeds/s.csv\n  delimiter = , (Set By User)\n`;

  it('says what is wrong with the row in one sentence, at the line of the record', () => {
    expect(csvProblem(fault(duck('Expected Number of Columns: 2 Found: 3')), origin, lineOf)).toEqual({
      reason: "the row has more fields than the header's 2",
      location: { file: 'seeds/s.csv', line: 14 },
    });
    expect(csvProblem(fault(duck('Expected Number of Columns: 3 Found: 1')), origin, lineOf)?.reason).toBe('the row has 1 field where the header has 3');
    expect(csvProblem(fault(duck('Value with unterminated quote found.')), origin, lineOf)?.reason).toMatch(/^a quoted field is never closed/);
    expect(csvProblem(fault(duck('Invalid unicode (byte sequence mismatch) detected. This file is not utf-8 encoded.')), origin, lineOf)?.reason).toMatch(/not UTF-8/);
    expect(csvProblem(fault(duck('Something DuckDB adds one day.')), origin, lineOf)?.reason).toBe('Something DuckDB adds one day.');
  });

  it('names the declared type and its YAML line, or says where to declare an inferred one', () => {
    const cast = (column: string, type: string) =>
      duck(`Error when converting column "${column}". Could not convert string "n/a" to '${type}'\n\nColumn ${column} is being converted as type ${type}`);
    expect(csvProblem(fault(cast('Price', 'INTEGER')), origin, lineOf)?.reason).toBe('column Price: "n/a" is not a valid INTEGER (the type declared at seeds/s.yaml:3)');
    expect(csvProblem(fault(cast('qty', 'BIGINT')), origin, lineOf)?.reason).toBe(
      'column qty: "n/a" is not a valid BIGINT, the type DuckDB inferred from the first rows; declare the column\'s type under column_types in seeds/s.yaml',
    );
    // A valid date of another format than the one the column's dates were inferred in.
    expect(csvProblem(fault(cast('d', 'DATE')), origin, lineOf)?.reason).toBe(
      'column d: "n/a" is not a valid DATE in the one date format DuckDB inferred for the column from the file, which writes its dates in more than one; write them alike, or declare the column\'s type under column_types in seeds/s.yaml',
    );
    // A dbt project's seed declares its types in its config, not in a YAML file of pipe's beside it.
    expect(csvProblem(fault(cast('qty', 'BIGINT')), { ...origin, sniffedByDbt: true }, lineOf)?.reason).toBe(
      'column qty: "n/a" is not a valid BIGINT, the type DuckDB inferred from the first rows; declare the column\'s type under the seed\'s column_types',
    );
  });

  it('prefixes a task error with the file and line, and leaves errors of other kinds alone', () => {
    expect(csvLoadError(fault(duck('Expected Number of Columns: 2 Found: 1')), { ...origin, read: { absPath: '/nonexistent/s.csv', columnTypes: {} } })).toEqual({
      message: 'seeds/s.csv:4: the row has 1 field where the header has 2',
      location: { file: 'seeds/s.csv', line: 4 },
    });
    expect(csvLoadError(fault('Invalid Input Error: Error when sniffing file "/p/seeds/s.csv".\nIt was not possible…'), origin)?.message).toMatch(/^seeds\/s\.csv: not a well-formed CSV file/);
    expect(csvLoadError(fault('IO Error: disk full'), origin)).toBeUndefined();
  });
});

describe('seedHash', () => {
  it('is the file hash alone for a seed whose config changes nothing of its table', () => {
    expect(seedHash('abc123', { columnTypes: {} })).toBe('abc123');
  });

  it('changes with a column type or the schema, and not with the order of column_types', () => {
    const typed = seedHash('abc123', { columnTypes: { a: 'INTEGER', b: 'VARCHAR' } });
    expect(typed).not.toBe('abc123');
    expect(seedHash('abc123', { columnTypes: { b: 'VARCHAR', a: 'INTEGER' } })).toBe(typed);
    expect(seedHash('abc123', { columnTypes: { a: 'BIGINT', b: 'VARCHAR' } })).not.toBe(typed);
    expect(seedHash('abc124', { columnTypes: { a: 'INTEGER', b: 'VARCHAR' } })).not.toBe(typed);
    expect(seedHash('abc123', { columnTypes: {}, schema: 'raw' })).not.toBe('abc123');
  });
});
