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

/**
 * The catalog's Postgres could not be reached, or its connection broke (a restart, a network
 * cut): DuckDB's message shows the connection string and the catalog query it ran. Said as
 * the catalog lost, naming its host, port and database only, and transient.
 */
const CATALOG_UNREACHABLE = /Unable to connect to Postgres at "([^"]*)": (?:connection to server at "[^"]*", port \d+ failed: )?(?:FATAL:\s*)?([^\n]*)/;
// Postgres's words for a connection that broke; none at all (the message ends after the query) once the connection is gone.
// The query is quoted as it is, quotes of its own included (`"public".ducklake_…`).
const CATALOG_BROKE = /Failed to (?:execute|prepare) query "[\s\S]*?": ?(server closed the connection unexpectedly|no connection to the server|SSL connection has been closed unexpectedly|terminating connection [^\n]*|\s*$)/;

/** Where the catalog's Postgres is (` at host:port/db`, or nothing when DuckDB does not say) and why it failed, or undefined for another error. */
export function catalogProblem(message: string): { readonly where: string; readonly why: string } | undefined {
  const unreachable = CATALOG_UNREACHABLE.exec(message);
  const broke = unreachable ? undefined : CATALOG_BROKE.exec(message);
  if (!unreachable && !broke) return undefined;
  const keys = new Map([...(unreachable?.[1] ?? '').matchAll(/(\w+)=('(?:[^'\\]|\\.)*'|\S+)/g)].map((m) => [m[1].toLowerCase(), m[2]]));
  const where = keys.size > 0 ? ` at ${keys.get('host') ?? 'localhost'}:${keys.get('port') ?? 5432}/${keys.get('dbname') ?? ''}` : '';
  return { where, why: (unreachable?.[2] ?? broke?.[1] ?? '').trim() || 'its connection is gone' };
}

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
    const lost = catalogProblem(read.message);
    if (lost) return new WarehouseError(`lost the lake's catalog (its Postgres${lost.where}): ${lost.why}; run it again once Postgres answers`, read.kind, 'transient');
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
