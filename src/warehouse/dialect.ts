import type { WarehouseError, WarehouseSession } from './warehouse.js';

/**
 * What varies from one database engine to another, in one place: the SQL each strategy
 * writes, the SQL of the run state, how a query's columns are read, and how the engine's
 * errors are read (their kind and cause, the statement line they name). A warehouse hands
 * its dialect out with every session; the plan phase, which has no warehouse, writes with
 * the default (duckdb/dialect.ts). Another engine adds a folder beside `duckdb/` with its
 * own warehouse and dialect.
 *
 * Relations come in already quoted (`"schema"."name"`, see sql/sql-text.ts); names that a
 * dialect quotes itself (a column, a bare table name) come in raw.
 */

/** A column as the engine describes it; `type` is the engine's own spelling. */
export interface Column {
  readonly name: string;
  readonly type: string;
}

/** What stands under a relation's name. */
export type RelationKind = 'table' | 'view';

/** Statements run in one transaction, and which of them reports the rows written. */
export interface CountedStatements {
  readonly statements: readonly string[];
  readonly countAt: number;
}

/** The statement line an error names, and the text in the message that names it. */
export interface ErrorLine {
  /** 1-based, in the statement as executed. */
  readonly line: number;
  /** The marker as it appears in the message (`LINE 14: `), for rewriting it into a file's line. */
  readonly marker: string;
  /**
   * The error is not of that line, which the engine named wrongly: raised in a view the
   * statement reads, the engine numbers the view's text as if it were the statement's. Why, in
   * a few words (`reads no column sale_time`).
   */
  readonly notOfLine?: string;
}

/** How a seed's CSV file is read. */
export interface SeedRead {
  readonly absPath: string;
  /** Column name -> the engine's type, overriding its inference. */
  readonly columnTypes: Readonly<Record<string, string>>;
  /** The field separator; a comma when absent. */
  readonly delimiter?: string;
  /** The columns' names, given when they are not all the header's own (see SeedCsv.header). */
  readonly names?: readonly string[];
  /**
   * Quoted and escaped as the engine's CSV sniffer finds the file is (dbt-duckdb's `COPY ...
   * FROM` of a seed), not with `"` alone.
   */
  readonly sniffedQuotes?: boolean;
  /**
   * Its DATE columns are written `%Y-%m-%d` (dbt's type inference types no other text DATE):
   * read with that format, not one the engine's sniffer picks for the whole file, which may
   * come from a text column of another date format (`01/02/2024`) and fail the DATE column.
   */
  readonly isoDates?: boolean;
}

/** A column of a seed whose every value must load as what it reads as, into `type` (the engine's name for it). */
export interface SeedValueCheck {
  readonly column: string;
  readonly type: string;
  /**
   * The engine inferred the type from the first rows: it is held to what a reader of the file
   * would take the text for, too (a number written in decimal digits, a date that is a day).
   */
  readonly inferred: boolean;
}

/** How a seed's value would change loading into its column's type. */
export type ValueChange =
  /** Rounded to the type's decimals (none for an integer type): `1.7` into INTEGER is 2. */
  | 'rounded'
  /** A time of day or a fraction of a second cut off: `2024-01-01 10:00:00` into DATE. */
  | 'truncated'
  /** A UTC offset dropped, leaving another instant: `01:00:00-08:00` into TIMESTAMP is 01:00. */
  | 'offset'
  /** An inferred DOUBLE: more significant digits than a DOUBLE keeps. */
  | 'digits'
  /** An inferred integer: a number written otherwise than in decimal digits (`0x1F`, `0b101`, `1_000`, `1e3`). */
  | 'notation'
  /** An inferred date or timestamp: `inf` or `infinity`, which the engine reads as a date past all others. */
  | 'infinite'
  /** A floating-point number past the type's range: `1e400` loads as inf, `1e-400` as 0. */
  | 'range';

/** What is wrong with a CSV row, as the engine says it. */
export type CsvRowProblem =
  | { readonly kind: 'field-count'; readonly expected: number; readonly found: number }
  | { readonly kind: 'unterminated-quote' }
  | { readonly kind: 'conversion'; readonly column: string; readonly value: string; readonly type: string }
  | { readonly kind: 'not-utf8' }
  | { readonly kind: 'too-long'; readonly limit: number }
  /** Anything else, in the engine's words when it has some. */
  | { readonly kind: 'other'; readonly text?: string };

/** An error reading a CSV file: at a record (1-based, the header being 1), or of the file as a whole. */
export type CsvFault = { readonly kind: 'row'; readonly record: number; readonly problem: CsvRowProblem } | { readonly kind: 'unreadable' };

/** The SQL of the materialization strategies (plan/strategies/). */
export interface StrategySql {
  /** Builds `sql`'s result into a table of the same schema as the published one. */
  stageTable(relation: string, sql: string): string;
  /** Builds `sql`'s result into a table of the connection alone, gone with it; see `tempRelation`. */
  stageTempTable(name: string, sql: string): string;
  /** How the statements of the same connection name a table made by `stageTempTable`. */
  tempRelation(name: string): string;
  createView(relation: string, sql: string): string;
  /** Drops what stands under the name, by what it is; nothing when nothing does. */
  dropRelation(relation: string, kind: RelationKind | undefined): readonly string[];
  dropTable(relation: string): string;
  /** Replaces whatever stands under `relation` (`kind`) by the staging table, renamed to `name`. */
  swapIn(staging: string, relation: string, name: string, kind: RelationKind | undefined): readonly string[];
  /**
   * The condition "column, read as a timestamp, falls in [start, end)" (epoch ms). Given the
   * column's type as the warehouse describes it, the same condition in that type's own terms
   * where the dialect has them (cheaper to evaluate on every row); the typeless form otherwise.
   */
  inInterval(column: string, start: number, end: number, type?: string): string;
  /**
   * A query for one value (`value`) of `column` among `rows` that inInterval cannot read as a
   * date or timestamp: text such as 02/01/2024, or (`offset` true) text with a UTC offset
   * other than UTC's, whose date is ambiguous and which inInterval refuses.
   */
  undatedValue(column: string, rows: string): string;
  /**
   * Replaces the rows of `target` that match `inside` by the rows of `staging` (matched by
   * column name), creating `target` from the staged shape if needed, then drops `staging`.
   */
  replacePartition(target: string, staging: string, inside: string): CountedStatements;
  /**
   * Replaces the rows of `target` that match `inside` by the rows of `sql` (matched by column
   * name), in one pass over the query: a row of `sql` that does not match `inside` fails the
   * insert with the error `outside`. With `create`, the first statement creates `target` from
   * the query's shape if needed, reading none of its rows.
   */
  writePartition(target: string, sql: string, inside: string, outside: string, create: boolean): CountedStatements;
  /**
   * Replaces the rows of `target` whose `keys` columns equal a staged row's by the staged rows
   * and adds the others (matched by column name), creating `target` from the staged shape if
   * needed, then drops `staging`: `merge` updates the matching rows in place, `delete+insert`
   * deletes them and inserts every staged row. The staged keys are unique and not NULL.
   */
  replaceByKey(target: string, staging: string, keys: readonly string[], how: 'merge' | 'delete+insert'): CountedStatements;
  /** Adds the rows of `staging` to `target` (matched by column name), creating `target` from the staged shape if needed, then drops `staging`. */
  appendRows(target: string, staging: string): CountedStatements;
  /**
   * The rows of `staging` that `target` holds already: equal in every column of `columns`
   * (the staged ones, which the table has), NULL equal to NULL.
   */
  rowsAlreadyIn(staging: string, target: string, columns: readonly string[]): string;
  /** Schema changes of an incremental table, run inside its publishing transaction. */
  addColumn(relation: string, column: Column): string;
  dropColumn(relation: string, column: string): string;
  retypeColumn(relation: string, column: string, type: string): string;
  /** Writes a relation's rows to a file (an external model's). */
  copyToFile(relation: string, path: string, format: 'parquet' | 'csv' | 'json', delimiter: string | undefined): string;
  /**
   * A view over a file `copyToFile` wrote. `nullRow`: the rows were none, and the file holds one
   * row of NULLs (so that it keeps the columns); the view leaves it out.
   */
  fileView(view: string, path: string, format: 'parquet' | 'csv' | 'json', nullRow: readonly string[] | undefined): string;
  /** Adds a row of NULLs to a table of `columns` columns. */
  insertNullRow(relation: string, columns: number): string;
  /**
   * Writes the rows of `sql`, whose columns are `columns`, to a Parquet file, so that
   * `rowsFromFile` reads them back as they were: each value of a type the file would not keep
   * exactly (a HUGEINT would come back a DOUBLE) is written as text.
   */
  rowsToFile(sql: string, columns: readonly Column[], path: string): string;
  /** The rows `rowsToFile` wrote, each column of its own type again. */
  rowsFromFile(path: string, columns: readonly Column[]): string;
  /** A comment on a table or view, and on one of its columns. */
  commentOn(kind: RelationKind, relation: string, text: string): string;
  commentOnColumn(relation: string, column: string, text: string): string;
  /** A query returning no rows whose columns have the given names and declared types, to read each type as the engine spells it. */
  declaredColumns(columns: readonly { readonly name: string; readonly dataType: string }[]): string;
  /** An empty table of the given columns, with their constraints (an enforced contract's). */
  createTableOf(relation: string, columns: readonly { readonly name: string; readonly dataType: string; readonly constraints: readonly string[] }[], tableConstraints: readonly string[]): string;
  /** Inserts `sql`'s rows into a table by column name. */
  insertByName(relation: string, sql: string): string;
  /** A snapshot's row version id (dbt's `dbt_scd_id`): a hash of the expressions' text, as dbt computes it. */
  snapshotHash(parts: readonly string[]): string;
  /** The time a snapshot records a change at when no column gives one: the publishing transaction's. */
  snapshotTime(): string;
  /** A snapshot's first build: its table from `select` (the staged rows with the snapshot's columns), with the rows written counted. */
  snapshotCreate(relation: string, select: string): CountedStatements;
  /**
   * Closes the current rows of a snapshot that the staged `changes` update or delete, matched by
   * version id: their valid-to becomes the change's. `current` is what valid-to holds for
   * current rows when it is not NULL.
   */
  snapshotClose(relation: string, changes: string, columns: { readonly dbt_scd_id: string; readonly dbt_valid_to: string }, current: string | undefined): string;
  /** Inserts the staged new versions (`dbt_change_type` insert) of a snapshot, the named columns. */
  snapshotInsert(relation: string, changes: string, columns: readonly string[]): string;
  /** The query that reads a CSV seed, with the given column types overriding inference. */
  seedSelect(seed: SeedRead): string;
  /** Reads a seed's rows as text without inference (a row count `n`), for the line of a malformed row. */
  seedRowsAsText(seed: SeedRead, columns: number): string;
  /**
   * The quote and escape characters the engine's CSV sniffer finds in the file (`quote` and
   * `escape` columns, '' for none), as dbt-duckdb's `COPY ... FROM` reads a seed.
   */
  sniffedCsvDialect(seed: SeedRead): string;
  /**
   * The first row (`row`, from 1; none when every row agrees) where the file read with `"`
   * quotes (as dbt's agate reads it, for the types) and read with the sniffed `quote` (as
   * dbt-duckdb loads it) disagree beyond the quoting: a value other than the same text, that
   * text within `quote`s (a quote in it written twice where `escape` is the quote), or NULL
   * for two `quote`s (an empty quoted value).
   */
  seedQuotingDisagreement(seed: SeedRead, quote: string, escape: string, columns: number): string;
  /** The date and timestamp formats (`date_format`, `timestamp_format`, null for ISO or none) the engine's inference reads a seed's columns with. */
  sniffedDateFormats(seed: SeedRead): string;
  /**
   * The first row of a seed, in the file's order and read as text, with a value that would
   * not load as what it reads as into its column's type (see SeedValueCheck): for each check
   * `i` that the row fails, `value_i` (the value as the file writes it), `change_i` (a
   * ValueChange) and `became_i` (what the column would hold); no row when every value of the
   * file passes. Reads the whole file. Undefined when the engine keeps every value of these
   * types as it reads (text, say), and there is nothing to read.
   */
  seedValueChanges(seed: SeedRead, checks: readonly SeedValueCheck[]): string | undefined;
  /**
   * Whether `column`'s values, read with `format`, all read with `swapped` too (`ambiguous`
   * true), some as another date (`example`, the first such value).
   */
  ambiguousDates(seed: SeedRead, column: string, format: string, swapped: string): string;
}

/** The SQL of pipe's run state (warehouse/run-state.ts). */
export interface StateSql {
  /** A timestamp literal of epoch milliseconds. */
  timestamp(ms: number): string;
  /** Epoch milliseconds of a timestamp expression. */
  epochMs(expression: string): string;
  /** The value of `value` in the row where `key` is largest, a NULL value included (unlike a plain arg max). */
  latest(value: string, key: string): string;
  /**
   * Whether `expression` is one of `values`: a condition. However many the values, the
   * statement's text stays one the engine parses at once (ten thousand quoted names in a list
   * cost DuckDB's parser about 30 ms each time they appear).
   */
  memberOf(expression: string, values: readonly string[]): string;
  /** The relations of the open database, temporary ones left out: rows of `database_name`, `schema_name`, `name`, `type` (table or view). */
  relations(): string;
  /** The tables whose names start with `prefix`: rows of `database_name`, `schema_name`, `table_name`. */
  tablesStartingWith(prefix: string): string;
  /** One row when the table exists. */
  tableExists(schema: string, name: string): string;
  /** What stands under the name: a row of `type` (table or view), none when nothing does. */
  relationKind(schema: string, name: string): string;
}

/** Reading what a query or a relation is made of, without running it. */
export interface Introspection {
  /** The columns `sql` would return; throws the engine's error when it does not bind. */
  describeQuery(session: WarehouseSession, sql: string): Promise<Column[]>;
  /** The columns of a relation; none when it does not exist. */
  describeRelation(session: WarehouseSession, relation: string): Promise<Column[]>;
  /**
   * The tables and views of a database (`database`, an attached one, else the open one), of
   * every schema: rows of `schema_name`, `name`. What a source reads is found among them.
   */
  relationsIn(database: string | undefined): string;
  /** The databases the session can read (the open one and those attached): rows of `name`. */
  databases(): string;
  /**
   * The latest value of `loadedAt` (an expression of the relation's columns giving a
   * timestamp, a timestamp with time zone or a date; a timestamp without one is read as UTC)
   * among the rows `filter` keeps, in epoch milliseconds: a row of `latest`, NULL when none has
   * one; `is_time`, false when `loadedAt` is of another type (then `latest` is NULL: a text's max
   * is the greatest text, not the latest time), and `type`, the engine's name of its type.
   */
  latestLoadedAt(relation: string, loadedAt: string, filter: string | undefined): string;
  /** The same, of the value a query gives (dbt's `loaded_at_query`): its first column's, with `rows`, how many rows it gave. */
  latestOfQuery(query: string): string;
  /** The engine's type names, upper case, for suggesting one. */
  typeNames(session: WarehouseSession): Promise<string[]>;
  /** Binds type names (at least one), reading nothing: the engine refuses one it does not know. */
  typeProbe(absPath: string, types: readonly string[]): string;
  /** Whether a refused probe means the type is unknown (rather than its arguments wrong). */
  isUnknownType(message: string): boolean;
  /** Parses, creating nothing, a table whose column is named `name` without quotes: refused when the name is a keyword. */
  bareColumnProbe(name: string): string;
}

/** Reading the engine's errors. */
export interface ErrorReading {
  /** The engine's error as pipe reports it: its kind split out, and whether a retry may cure it. */
  classify(error: unknown): WarehouseError;
  /** The statement line an error names, when it names one; given the statement run, as read against its text. */
  errorLine(message: string, statement?: string): ErrorLine | undefined;
  /** The first line of an error, without the engine's label of its kind. */
  headline(message: string): string;
  /** The column an error says a query names and its inputs lack; undefined for any other error. */
  unknownColumn(message: string): string | undefined;
  /** What an error says is wrong with a CSV file being read; undefined when it is not about one. */
  csvFault(message: string): CsvFault | undefined;
}

/**
 * What a partition's condition (Dialect.inInterval) raises at text with a UTC offset, followed
 * by the value: which date such text belongs to is ambiguous, and pipe does not pick one.
 */
export const PARTITION_OFFSET_ERROR = 'pipe: a partition value is text with a UTC offset, whose date is ambiguous: ';

export interface Dialect extends StrategySql, StateSql, Introspection, ErrorReading {
  /** The engine, as messages name it ("DuckDB"). */
  readonly name: string;
  /**
   * What of a session pipe keeps that a statement of the project's changes: its time zone
   * (pipe's partitions read timestamps in UTC) or its default database (pipe's relation names
   * are of the warehouse's own); undefined for neither.
   */
  pinnedSessionChange?(sql: string): 'TimeZone' | 'Calendar' | 'USE' | 'disabled_optimizers' | undefined;
  /**
   * Set where a transaction's changes to the connection's temporary tables can commit while
   * the rest fails (a DuckLake commit refused for a conflict): a publishing transaction then
   * drops its temporary staging table only after it committed, so that running it again
   * still finds its rows.
   */
  readonly tempCommitsApart?: boolean;
  /**
   * Set where transactions of one connection pool may delete and insert different rows of one
   * table side by side: the partitions of a table are then written concurrently.
   */
  readonly concurrentPartitions?: boolean;
}
