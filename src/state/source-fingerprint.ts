import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceNode } from '../analyze/sources.js';
import { byCodeUnit } from '../util/code-unit-order.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { statStamp } from '../util/stat-stamp.js';
import { quoteIdent } from '../sql/sql-text.js';
import { hashOf } from './data-version.js';
import { UNKNOWN } from './tracking.js';

/**
 * A source's fingerprint: what changes when its data does. Its `version_query`'s result when
 * it declares one (`select max(updated_at) from …`: cheaper than a scan, and as good as the
 * user's query). A table or view: its row count and an order-insensitive hash of its rows (one
 * scan, once per run). Local files (an `external_location`): each file's stamp (statStamp:
 * size, modification and change times, inode), without reading them, every file under a folder
 * it names; a file replaced by
 * another of the same size and modification time (`cp -p`, `rsync -t`, `mv` of a file made
 * elsewhere, a tar extracted) changes its change time or its inode. A location pipe cannot
 * stat (a glob, a URL, a table function) is fingerprinted by its rows, like a table; anything
 * that fails is UNKNOWN, and what reads it runs.
 *
 * A relation's rows are fingerprinted with its columns: their names, order and types, as
 * DuckDB binds them (no data read). The hash of the rows alone misses a change of shape: two
 * columns' names swapped keep every row's hash, and so does a column of INTEGER cents turned
 * into DECIMAL(10,2) (DuckDB hashes a decimal by its stored integer: 1.50 as 150), or a BOOLEAN
 * into an INTEGER. A version_query, which says the rows, is taken with the columns too.
 */
export async function sourceFingerprint(session: WarehouseSession, source: SourceNode): Promise<string> {
  try {
    if (source.versionQuery !== undefined) {
      const rows = await session.query(source.versionQuery);
      return hashOf('query', JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), JSON.stringify(await columnsOf(session, source.relation)));
    }
    if (source.reads.kind === 'external' && source.reads.files.length > 0 && !/[*?[]/.test(source.reads.location)) {
      return hashOf('files', ...source.reads.files.flatMap(filesUnder).map((f) => `${f}:${statStamp(f)}`));
    }
    const columns = await columnsOf(session, source.relation);
    const [row] = await session.query(`SELECT count(*)::VARCHAR AS n, coalesce(sum(${rowHash(columns)}), 0)::VARCHAR AS h FROM ${source.relation} AS t`);
    return hashOf('rows', String(row.n), String(row.h), JSON.stringify(columns));
  } catch {
    return UNKNOWN;
  }
}

/**
 * The files a path names: itself, or every file under it when it is a folder (DuckDB reads a
 * folder's files, those of its subfolders too), in one order: a file written, added or removed
 * anywhere under it changes the fingerprint, where the folder's own stamp changes only with its
 * own entries.
 */
function filesUnder(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name))
    .sort(byCodeUnit);
}

/** The relation's columns as DuckDB binds them, in order: `[name, type]` each (DESCRIBE reads no rows). */
async function columnsOf(session: WarehouseSession, relation: string): Promise<[string, string][]> {
  const columns = await session.query(`DESCRIBE SELECT * FROM ${relation}`);
  return columns.map((c) => [String(c.column_name), String(c.column_type)]);
}

/** Types whose values DuckDB's hash() tells apart: one value, no nesting. */
const SCALAR_TYPE =
  /^(?:BOOLEAN|U?(?:TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\)|VARCHAR|BLOB|BIT|UUID|INTERVAL|DATE|TIME(?: WITH TIME ZONE)?|TIMESTAMP(?:_S|_MS|_NS| WITH TIME ZONE)?|ENUM\(.*\))$/;

/**
 * A row's hash: of its scalar values as they are, of any other as its JSON text. DuckDB's
 * hash() of a nested value loses its shape: `[[1],[2]]` hashes as `[[1,2]]`, a NULL list as
 * `[]` and as `[NULL]`, a struct of NULLs as a NULL struct; JSON keeps it (and says NaN and
 * NULL apart, and text from its quotes). A float's sign goes in beside it: hash() takes -0.0
 * for 0.0 (and -NaN for NaN), which 1/x or a text of it tells apart. A value of two halves is
 * hashed as its text: hash() XORs the halves' hashes, so an INTERVAL of 1 month hashes as 1
 * day and 30 days, 31 days as 0 days, a HUGEINT -1 (and 2^64+1) as 0, and so do a DECIMAL
 * wider than 18 digits (stored as a HUGEINT: -0.01 as 0.00) and a UUID whose halves match.
 * A JSON value is hashed as its text, which a model reads (`payload::VARCHAR`): to_json() would
 * write it anew (`1e2` as `100.0`, without its spaces), and a rewrite of the text go unseen;
 * a nested value holding JSON is hashed as its text too, beside its JSON. A VARIANT is hashed
 * as it is (its type goes in) and as its text.
 */
function rowHash(columns: readonly [string, string][]): string {
  return `hash(${columns
    .map(([name, type]) => {
      const c = `t.${quoteIdent(name)}`;
      if (type === 'JSON') return c;
      // to_json() writes a VARIANT as its text, 1 and '1' alike; hash() tells its types apart.
      if (type === 'VARIANT') return `${c}, ${c}::VARCHAR`;
      if (!SCALAR_TYPE.test(type)) return HOLDS_JSON.test(type) ? `to_json(${c}), ${c}::VARCHAR` : `to_json(${c})`;
      if (FLOAT_TYPE.test(type)) return `${c}, signbit(${c})`;
      return TWO_HALVES_TYPE.test(type) || wideDecimal(type) ? `${c}::VARCHAR` : c;
    })
    .join(', ')})`;
}

const FLOAT_TYPE = /^(?:FLOAT|DOUBLE)$/;

/** A nested type with a JSON part (`JSON[]`, `STRUCT(a JSON)`, `MAP(VARCHAR, JSON)`). */
const HOLDS_JSON = /\bJSON\b/;

/** Types DuckDB stores in two 64-bit halves, whose hash() XORs theirs. */
const TWO_HALVES_TYPE = /^(?:U?HUGEINT|INTERVAL|UUID)$/;

/** A DECIMAL of more than 18 digits, stored as a HUGEINT. */
function wideDecimal(type: string): boolean {
  const m = /^DECIMAL\((\d+),\d+\)$/.exec(type);
  return m !== null && Number(m[1]) > 18;
}

/** Fingerprints taken once per run: every task that reads a source in the run sees the same one. */
export class SourceFingerprints {
  private readonly taken = new Map<string, Promise<string>>();

  /** The source's fingerprint, taken on `session` by the first task that asks. */
  of(source: SourceNode, session: WarehouseSession): Promise<string> {
    let known = this.taken.get(source.name);
    if (!known) {
      known = sourceFingerprint(session, source);
      this.taken.set(source.name, known);
    }
    return known;
  }
}
