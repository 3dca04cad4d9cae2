import { quoteLiteral } from '../../sql/sql-text.js';
import type { Step } from '../task.js';
import type { StrategyInput } from './strategy.js';
import { tableStrategy } from './table.js';

/**
 * How every seed is read: comma-separated with `"` quotes, the header on line 1, every row
 * as wide as the header, comments not recognised. DuckDB infers only the column types;
 * left to guess the layout too, it reads a malformed file as one text column or drops rows
 * without an error. In strict mode a row it cannot read is an error naming its line.
 */
const CSV_LAYOUT = `header = true, skip = 0, delim = ',', quote = '"', escape = '"', comment = '', strict_mode = true, null_padding = false, ignore_errors = false`;

/** The query that reads a CSV seed, with declared column types overriding inference. */
export function seedSelectSql(absPath: string, columnTypes: Readonly<Record<string, string>>): string {
  const types = Object.entries(columnTypes);
  const typeArg =
    types.length === 0 ? '' : `, types = {${types.map(([c, t]) => `${quoteLiteral(c)}: ${quoteLiteral(t)}`).join(', ')}}`;
  return `SELECT * FROM read_csv(${quoteLiteral(absPath)}, ${CSV_LAYOUT}, auto_detect = true${typeArg})`;
}

/**
 * Reads every row as text without inferring types, for the line of a malformed row: the
 * inference reads the first rows before any is loaded, and its failure names no line.
 */
export function seedRowsAsTextSql(absPath: string, columns: number): string {
  const fields = Array.from({ length: columns }, (_, i) => `'column${i + 1}': 'VARCHAR'`).join(', ');
  return `SELECT count(*) AS n FROM read_csv(${quoteLiteral(absPath)}, ${CSV_LAYOUT}, auto_detect = false, columns = {${fields}})`;
}

/** Binds a declared column type alone, reading nothing: DuckDB refuses a type it does not know. */
export function columnTypeProbeSql(absPath: string, type: string): string {
  return `DESCRIBE SELECT * FROM read_csv(${quoteLiteral(absPath)}, auto_detect = false, header = false, columns = {'probe': ${quoteLiteral(type)}})`;
}

/** What a seed's strategy needs to know of its file. */
export interface SeedFile {
  /** Relative to the project, as errors print it. */
  readonly file: string;
  /** Whether anything follows the header line. */
  readonly rows: boolean;
}

/**
 * A seed is published like a table: staged, then swapped in. A file with lines after its
 * header that loads no rows is refused before the swap, whatever DuckDB made of it.
 */
export function seedStrategy(input: StrategyInput, seed: SeedFile): Step[] {
  const [stage, ...rest] = tableStrategy(input);
  if (!seed.rows) return [stage, ...rest];
  const noRows: Step = {
    kind: 'assert-empty',
    sql: `SELECT ${quoteLiteral(seed.file)} AS seed, count(*) AS rows_loaded FROM ${input.stagingRelation} HAVING count(*) = 0`,
    countSql: `SELECT count(*) AS n FROM ${input.stagingRelation}`,
    message: `rows loaded from ${seed.file}, though lines follow its header`,
  };
  return [stage, noRows, ...rest];
}
