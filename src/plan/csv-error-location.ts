import { closeSync, openSync, readSync } from 'node:fs';
import type { Location } from '../diagnostics/diagnostics.js';
import { recordLine } from '../project/csv-text.js';

/**
 * Says DuckDB's errors about a seed's CSV the way pipe says errors: the file's line and one
 * sentence, never DuckDB's paragraphs of settings and possible fixes. DuckDB numbers CSV
 * records ("CSV Error on Line: 4", the header being 1); a quoted field may hold line breaks,
 * so the record is counted in the file to find the line it starts on.
 */

/** A seed task's CSV file and the column types its YAML declares, to point load errors at either. */
export interface CsvOrigin {
  /** Relative to the project, as diagnostics print it. */
  readonly file: string;
  readonly absPath: string;
  /** Fields of the header line. */
  readonly columns: number;
  readonly columnTypes: readonly DeclaredType[];
}

export interface DeclaredType {
  readonly column: string;
  readonly type: string;
  /** Its line in the seed's YAML. */
  readonly location: Location;
}

export interface CsvProblem {
  /** One sentence, without the place. */
  readonly reason: string;
  readonly location: Location;
}

const SNIFF_FAILURE_RE = /Error when sniffing file/;

/**
 * DuckDB found no consistent reading of the first rows (it reads them before any row when
 * inferring types) and says so without a line; reading the fields as text without inference
 * gives the line.
 */
export function isSniffFailure(message: string): boolean {
  return SNIFF_FAILURE_RE.test(message);
}

function fieldCount(expected: number, found: number): string {
  // DuckDB stops counting one field past the header's number.
  return found > expected
    ? `the row has more fields than the header's ${expected}`
    : `the row has ${found} field${found === 1 ? '' : 's'} where the header has ${expected}`;
}

/** The YAML beside a seed, where its column types are declared. */
const yamlOf = (csvFile: string) => csvFile.replace(/\.csv$/, '.yaml');

function conversion(column: string, value: string, type: string, origin: CsvOrigin): string {
  const declared = origin.columnTypes.find((d) => d.column.toLowerCase() === column.toLowerCase());
  if (declared) {
    const at = declared.location.line ? `${declared.location.file}:${declared.location.line}` : declared.location.file;
    return `column ${column}: "${value}" is not a valid ${type} (the type declared at ${at})`;
  }
  return `column ${column}: "${value}" is not a valid ${type}, the type DuckDB inferred from the first rows; declare the column's type under column_types in ${yamlOf(origin.file)}`;
}

/** The sentence of DuckDB's CSV error that says what is wrong with the row. */
function rowReason(message: string, origin: CsvOrigin): string {
  const columns = /Expected Number of Columns: (\d+) Found: (\d+)/.exec(message);
  if (columns) return fieldCount(Number(columns[1]), Number(columns[2]));
  if (/Value with unterminated quote found/.test(message)) return 'a quoted field is never closed (a " opens it and no " ends it)';
  const cast = /^Error when converting column "(.*)"\. Could not convert string "(.*)" to '(.+)'\s*$/m.exec(message);
  if (cast) return conversion(cast[1], cast[2], cast[3], origin);
  if (/Invalid unicode/.test(message)) return 'the row is not UTF-8 text; save the file as UTF-8';
  const size = /Maximum line size of (\d+) bytes exceeded/.exec(message);
  if (size) return `the row is longer than DuckDB's limit of ${size[1]} bytes`;
  // Otherwise the reason is the last line before DuckDB's advice and settings.
  const body = message.split(/\n(?:Possible fixes:|\s+file = )/)[0].split('\n');
  const last = body.reverse().find((l) => l.trim() !== '' && !l.startsWith('Original Line:'));
  return last?.trim() ?? 'DuckDB rejects the row';
}

/** Chunks of a file from its start, read as they are needed. */
function* fileChunks(absPath: string): Generator<Buffer> {
  const fd = openSync(absPath, 'r');
  try {
    const buffer = Buffer.alloc(1 << 16);
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) yield buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The file's line of DuckDB's record number; the record number itself when the file cannot be read. */
function lineInFile(absPath: string, record: number): number {
  if (record <= 1) return record;
  try {
    return recordLine(fileChunks(absPath), record);
  } catch {
    return record;
  }
}

/**
 * What is wrong with a seed's CSV by a DuckDB error, and where; undefined when the error is
 * not about reading the CSV.
 */
export function csvProblem(message: string, origin: CsvOrigin, lineOf = lineInFile): CsvProblem | undefined {
  const row = /CSV Error on Line: (\d+)/.exec(message);
  if (row) return { reason: rowReason(message, origin), location: { file: origin.file, line: lineOf(origin.absPath, Number(row[1])) } };
  if (isSniffFailure(message)) {
    return {
      reason: 'not a well-formed CSV file: a row near the top has a different number of fields than the header, or a quote that is never closed',
      location: { file: origin.file },
    };
  }
  return undefined;
}

/** A task's error loading a seed, as `seeds/x.csv:4: reason`; undefined when the error is not about the CSV. */
export function csvLoadError(message: string, origin: CsvOrigin): { message: string; location: Location } | undefined {
  const problem = csvProblem(message, origin);
  if (!problem) return undefined;
  const { file, line } = problem.location;
  return { message: `${line ? `${file}:${line}` : file}: ${problem.reason}`, location: problem.location };
}
