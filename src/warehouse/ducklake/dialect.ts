import { DUCKDB } from '../duckdb/dialect.js';
import { WarehouseError, type ErrorClass } from '../warehouse.js';
import type { Dialect } from '../dialect.js';

/**
 * DuckLake speaks DuckDB's SQL: every strategy's statements run as they are (CREATE OR
 * REPLACE, RENAME, DELETE+INSERT, MERGE, ALTER … ADD/DROP/SET DATA TYPE, views, comments,
 * temporary tables on the connection). What differs is read here: what it lacks (constraints
 * other than NOT NULL, indexes, sequences, ENUM and UNION columns, user types) and its
 * commit conflicts.
 */

/** A commit another writer's commit made impossible: the work is right, its snapshot is old. */
const CONFLICT = /Failed to commit DuckLake transaction|Transaction conflict|conflict/i;

/** What DuckLake cannot store, and what to write instead. */
const LACKS: readonly { readonly pattern: RegExp; readonly hint: string }[] = [
  { pattern: /PRIMARY KEY\/UNIQUE constraints are not supported|CHECK constraints are not supported/, hint: 'DuckLake keeps NOT NULL only: check keys and values with tests instead' },
  { pattern: /does not support indexes/, hint: 'DuckLake has no indexes: leave them out' },
  { pattern: /unsupported type (ENUM|UNION)/, hint: 'DuckLake stores no ENUM or UNION columns: cast the column to VARCHAR' },
  { pattern: /does not support (sequences|user-defined types)/, hint: 'DuckLake has none: compute the value in the query instead' },
];

/** A hint for an error of something DuckLake lacks; undefined for other errors. */
export function lakeLacks(message: string): string | undefined {
  return LACKS.find((l) => l.pattern.test(message))?.hint;
}

export const DUCKLAKE: Dialect = {
  ...DUCKDB,
  name: 'DuckLake',
  tempCommitsApart: true,
  // Deletes from one table in two of a lake's transactions may conflict at commit: its partitions are written one at a time.
  concurrentPartitions: false,
  classify(e) {
    const read = DUCKDB.classify(e);
    if (e instanceof WarehouseError) return read;
    const errorClass: ErrorClass = read.kind === 'TransactionContext' && CONFLICT.test(read.message) ? 'transient' : read.errorClass;
    const hint = lakeLacks(read.message);
    const message = hint === undefined ? read.message : `${read.message.split('\n')[0]} (${hint})${read.message.slice(read.message.split('\n')[0].length)}`;
    return new WarehouseError(message, read.kind, errorClass);
  },
};

/** Whether an error is a commit that another writer's commit refused: the same work may then succeed on the new snapshot. */
export function isCommitConflict(error: unknown): boolean {
  return error instanceof WarehouseError && error.kind === 'TransactionContext' && CONFLICT.test(error.message);
}
