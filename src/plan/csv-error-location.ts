import { closeSync, openSync, readSync } from 'node:fs';
import type { Location } from '../diagnostics/diagnostics.js';
import { longRecordLine, mixedLineEnd, recordLine } from '../project/csv-text.js';
import type { CsvFault, CsvRowProblem, SeedRead } from '../warehouse/dialect.js';

/**
 * Says the engine's errors about a seed's CSV (read by its dialect into a CsvFault) the way
 * pipe says errors: the file's line and one sentence, never DuckDB's paragraphs of settings
 * and possible fixes. The engine numbers CSV records; a quoted field may hold line breaks,
 * so the record is counted in the file to find the line it starts on.
 */

/** A seed task's CSV file and the column types its YAML declares, to point load errors at either. */
export interface CsvOrigin {
  /** Relative to the project, as diagnostics print it. */
  readonly file: string;
  /** How the engine reads it, without the column types. */
  readonly read: SeedRead;
  /** The names in its header line. */
  readonly names: readonly string[];
  readonly columnTypes: readonly DeclaredType[];
  /** Where quote_columns is set to false, which creates the columns with bare names. */
  readonly bareNames?: Location;
  /** A dbt project's seed: dbt-duckdb reads it with the quote and escape the engine's CSV sniffer finds. */
  readonly sniffedByDbt?: boolean;
  /** Selected and loaded with --full-refresh: its columns take the types the file reads as, whatever the table it replaces had. */
  readonly retyped?: boolean;
  /** It has post-hooks, which may change its table's types (an ALTER after the load). */
  readonly postHooks?: boolean;
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
  // A date that is valid alone: DuckDB reads all of a column's dates in the one format it inferred from the file.
  // A dbt project's seed declares its types in its config (a properties file, dbt_project.yml); pipe's, in the YAML beside it.
  const declare = origin.sniffedByDbt ? "declare the column's type under the seed's column_types" : `declare the column's type under column_types in ${yamlOf(origin.file)}`;
  if (/^(DATE|TIME|TIMESTAMP)/.test(type)) {
    return `column ${column}: "${value}" is not a valid ${type} in the one date format DuckDB inferred for the column from the file, which writes its dates in more than one; write them alike, or ${declare}`;
  }
  return `column ${column}: "${value}" is not a valid ${type}, the type DuckDB inferred from the first rows; ${declare}`;
}

/** One sentence that says what is wrong with the row. */
function rowReason(problem: CsvRowProblem, origin: CsvOrigin): string {
  switch (problem.kind) {
    case 'field-count':
      return fieldCount(problem.expected, problem.found);
    case 'unterminated-quote':
      return 'a quoted field is never closed (a " opens it and no " ends it)';
    case 'conversion':
      return conversion(problem.column, problem.value, problem.type, origin);
    case 'not-utf8':
      return 'the row is not UTF-8 text; save the file as UTF-8';
    case 'too-long':
      return `the row is longer than DuckDB's limit of ${problem.limit} bytes`;
    case 'other':
      return problem.text ?? 'DuckDB rejects the row';
    default: {
      const never: never = problem;
      throw new Error(`internal error: CSV problem ${JSON.stringify(never)}`);
    }
  }
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

/** The line of the file's first record longer than `limit` bytes; undefined when the file cannot be read or has none. */
function longLineInFile(absPath: string, limit: number): number | undefined {
  try {
    return longRecordLine(fileChunks(absPath), limit);
  } catch {
    return undefined;
  }
}

/** The first line that ends otherwise than the lines before it (see mixedLineEnd); undefined when the file cannot be read. */
export function mixedLineEndInFile(absPath: string): ReturnType<typeof mixedLineEnd> {
  try {
    return mixedLineEnd(fileChunks(absPath));
  } catch {
    return undefined;
  }
}

/** The file's line of the engine's record number; the record number itself when the file cannot be read. */
function lineInFile(absPath: string, record: number): number {
  if (record <= 1) return record;
  try {
    return recordLine(fileChunks(absPath), record);
  } catch {
    return record;
  }
}

/**
 * What is wrong with a seed's CSV, and where; undefined when the error was not about
 * reading the CSV.
 */
export function csvProblem(fault: CsvFault | undefined, origin: CsvOrigin, lineOf = lineInFile): CsvProblem | undefined {
  if (!fault) return undefined;
  switch (fault.kind) {
    case 'row': {
      // A row too long is said to be on line 1 when DuckDB meets it while sniffing: found in the file instead.
      const long = fault.problem.kind === 'too-long' ? longLineInFile(origin.read.absPath, fault.problem.limit) : undefined;
      return { reason: rowReason(fault.problem, origin), location: { file: origin.file, line: long ?? lineOf(origin.read.absPath, fault.record) } };
    }
    case 'unreadable':
      return {
        reason: 'not a well-formed CSV file: a row near the top has a different number of fields than the header, or a quote that is never closed',
        location: { file: origin.file },
      };
    default: {
      const never: never = fault;
      throw new Error(`internal error: CSV fault ${JSON.stringify(never)}`);
    }
  }
}

/** A task's error loading a seed, as `seeds/x.csv:4: reason`; undefined when the error is not about the CSV. */
export function csvLoadError(fault: CsvFault | undefined, origin: CsvOrigin): { message: string; location: Location } | undefined {
  const problem = csvProblem(fault, origin);
  if (!problem) return undefined;
  const { file, line } = problem.location;
  return { message: `${line ? `${file}:${line}` : file}: ${problem.reason}`, location: problem.location };
}
