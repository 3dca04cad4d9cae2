import { hasDateText, quoteLiteral, withoutDates } from '../sql/sql-text.js';
import type { WarehouseSession } from '../warehouse/warehouse.js';
import { hashOf } from './data-version.js';
import { QueryReadsCache } from './query-reads-cache.js';

/**
 * Whether a model's query reads anything pipe does not track: a table that no ref(),
 * source() or seed gives it, a table function (a file read directly), or a function that is
 * not DuckDB's own (a macro: CREATE MACRO, in a hook or by hand, whose definition, and what it
 * reads, pipe does not see). DuckDB parses the query (`json_serialize_sql`, no binding, no
 * data read); pipe walks the tree for the tables and functions it names. Once per distinct
 * SQL and set of known relations.
 */

/**
 * What readAll judged, by memoKey, in two generations: a long-lived process (watch, schedule)
 * meets new SQL every day, and memory is bounded by dropping the older generation when the
 * newer one has grown past MEMO_LIMIT, at the start of a readAll. What the calls just before
 * judged is still known then: a status or backfill of more queries than that asks each again
 * (untrackedReads) after judging them all at once. (Forgetting them as it went, a status of
 * 99,700 tasks asked DuckDB about each again, one round trip each: 190 s, not 15.)
 */
let memo = new Map<string, string | undefined>();
let earlier = new Map<string, string | undefined>();
const MEMO_LIMIT = 100_000;

function isJudged(key: string): boolean {
  return memo.has(key) || earlier.has(key);
}

function judgementOf(key: string): string | undefined {
  return memo.has(key) ? memo.get(key) : earlier.get(key);
}
/** The SQL hashes of the queries looked at whose text DuckDB's parser refused (see refusedByParser). */
const unparsed = new Set<string>();

/** The SQL hashes of the queries looked at whose text may be a statement other than a query (see mayNotBeAQuery). */
const unqueried = new Set<string>();

/** Whether DuckDB's parser refused the text of a query readAll looked at: a syntax error, not a statement it cannot serialize. */
export function refusedByParser(sqlHash: string): boolean {
  return unparsed.has(sqlHash);
}

/**
 * Whether the text of a query readAll looked at may be a statement other than a query: one
 * DuckDB cannot serialize as a SELECT (a DELETE, a PRAGMA, but also a PIVOT, which it parses
 * into several statements), or a DESCRIBE, SHOW or SUMMARIZE, which it serializes as a SELECT
 * of the catalog that no table can be created from. Which it is, its parser says (preflight).
 */
export function mayNotBeAQuery(sqlHash: string): boolean {
  return unqueried.has(sqlHash);
}

/** See mayNotBeAQuery; for json_serialize_sql's tree, as text and parsed. */
function treeMayNotBeAQuery(text: string, tree: unknown): boolean {
  return (tree as { error_type?: string }).error_type === 'not implemented' || text.includes('"SHOW_REF"');
}

/** Table functions whose rows their arguments alone give: they read nothing. */
const PURE_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest']);

/**
 * Why the query reads something untracked, or undefined when everything it names is among
 * `known` (relations as pipe renders them: `"schema"."name"`, `"db"."schema"."name"`, a
 * quoted file path or a table function call).
 */
export async function untrackedReads(session: WarehouseSession, sqlHash: string, sql: string, known: readonly string[]): Promise<string | undefined> {
  const key = memoKey(await readerOf(session), { sqlHash, known });
  if (!isJudged(key)) await readAll(session, [{ sqlHash, sql, known }]);
  return judgementOf(key);
}

/** A query to look at. */
export interface QueryToRead {
  readonly sqlHash: string;
  readonly sql: string;
  readonly known: readonly string[];
}

/**
 * What a judgement depends on besides the query: the version of DuckDB whose parser gives the
 * trees (a lake's is DuckDB's too); the name of the warehouse's own database, which a query
 * may name its tables with (`wh.main.orders` is `main.orders`) and no other may stand for; and
 * the functions its catalog holds. `key` is all of it, hashed.
 */
interface Reader extends JudgeContext {
  readonly engine: string;
  readonly catalog: string;
  readonly functions: Functions;
  readonly key: string;
}

/** The functions of a DuckDB catalog by lower-case name: its own (with its loaded extensions'), and those defined in it (macros). */
export interface Functions {
  readonly builtin: ReadonlySet<string>;
  readonly defined: ReadonlySet<string>;
}

/** What judge knows of the warehouse (see Reader); what it is not told it does not check. */
export interface JudgeContext {
  readonly catalog?: string;
  readonly functions?: Functions;
  /**
   * Where DuckDB looks for a table named without a schema, in order (its search_path, or the
   * current schema alone; lower-case, `schema` or `catalog.schema`): `main` when not given.
   */
  readonly schemas?: readonly string[];
}

const memoKey = (reader: Reader, q: Pick<QueryToRead, 'sqlHash' | 'known'>) => [reader.key, q.sqlHash, ...q.known].join('\u0000');

/**
 * Looks at many queries in few round trips (a run's, before it starts), so that untrackedReads
 * answers from memory; with `kept`, what an earlier process judged is not parsed again, and
 * what this one judges is kept for the next.
 */
export async function readAll(session: WarehouseSession, queries: readonly QueryToRead[], kept?: QueryReadsCache): Promise<void> {
  const reader = await readerOf(session);
  if (memo.size > MEMO_LIMIT) {
    earlier = memo;
    memo = new Map();
  }
  if (unparsed.size + unqueried.size > MEMO_LIMIT) {
    unparsed.clear();
    unqueried.clear();
  }
  const unjudged = new Map<string, QueryToRead>();
  for (const q of queries) {
    const key = memoKey(reader, q);
    // What this call asks is kept in the newer generation: the next rotation keeps it too.
    if (!memo.has(key) && earlier.has(key)) memo.set(key, earlier.get(key));
    else if (!memo.has(key) && !unjudged.has(key)) unjudged.set(key, q);
  }
  let todo = [...unjudged.values()];
  if (todo.length === 0) return;
  const keyOf = (q: QueryToRead) => QueryReadsCache.key(reader.key, q.sqlHash, q.known);
  if (kept) {
    todo = todo.filter((q) => {
      const judged = kept.judgement(keyOf(q));
      if (judged === undefined) return true;
      memo.set(memoKey(reader, q), judged ?? undefined);
      return false;
    });
  }
  const judged: [QueryToRead, string | undefined][] = [];
  // The queries of a model's dates differ in their dates alone (see withoutDates): one of each
  // shape is parsed, and its verdict is the others' when nothing it judged by holds a date.
  const shapes = new Map<string, QueryToRead[]>();
  for (const q of todo) {
    const shape = [withoutDates(q.sql), ...q.known].join('\u0000');
    const same = shapes.get(shape);
    if (same) same.push(q);
    else shapes.set(shape, [q]);
  }
  const alike = new Map<QueryToRead, QueryToRead[]>();
  for (const [first, ...others] of shapes.values()) if (others.length > 0) alike.set(first, others);
  const again: QueryToRead[] = [];
  await judgeEach([...shapes.values()].map(([first]) => first), (q, verdict, tree) => {
    const others = alike.get(q);
    if (others === undefined) return;
    if (tree === undefined || judgedByDates(tree)) again.push(...others);
    else for (const o of others) settle(o, verdict, true);
  });
  await judgeEach(again, () => undefined);
  // Kept together, once every chunk is judged: one pack for the run.
  if (kept) for (const [q, verdict] of judged) kept.keep(keyOf(q), verdict);

  function settle(q: QueryToRead, verdict: string | undefined, keep: boolean): void {
    memo.set(memoKey(reader, q), verdict);
    if (keep) judged.push([q, verdict]);
  }

  /** Parses and judges `queries`, telling `after` of each (its tree when it parsed as a query, to stand for its shape). */
  async function judgeEach(queries: readonly QueryToRead[], after: (q: QueryToRead, verdict: string | undefined, tree: unknown) => void): Promise<void> {
    const chunk = 200;
    for (let i = 0; i < queries.length; i += chunk) {
      const part = queries.slice(i, i + chunk);
      let texts: string[];
      try {
        const rows = await session.query(
          `SELECT i, json_serialize_sql(s)::VARCHAR AS tree FROM (VALUES ${part.map((q, j) => `(${j}, ${quoteLiteral(q.sql)})`).join(', ')}) AS t(i, s) ORDER BY i ASC`,
        );
        texts = rows.map((r) => String(r.tree));
      } catch {
        texts = part.map(() => '{"error":true}');
      }
      const trees = texts.map(parseTree);
      part.forEach((q, j) => {
        const verdict = judge(trees[j], q.known, reader, q.sql);
        if ((trees[j] as { error_type?: string }).error_type === 'parser') unparsed.add(q.sqlHash);
        const maybeNot = treeMayNotBeAQuery(texts[j], trees[j]);
        if (maybeNot) unqueried.add(q.sqlHash);
        // A query DuckDB could not parse is judged again next time (its chunk may have failed for
        // another's sake), and so is one that may not be a query, for preflight to see it again.
        const parsed = (trees[j] as { error?: boolean }).error !== true && !maybeNot;
        settle(q, verdict, parsed);
        after(q, verdict, parsed ? trees[j] : undefined);
      });
    }
  }
}

/**
 * Whether what judge reads of a tree holds a date (see withoutDates): a table's name or a
 * table function's arguments. Then queries of its shape may read other tables for other dates,
 * and are judged each.
 */
function judgedByDates(tree: unknown): boolean {
  let found = false;
  const walk = (n: unknown): void => {
    if (found || n === null || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(walk);
    const o = n as Record<string, unknown>;
    if ((o.type === 'BASE_TABLE' || o.type === 'SHOW_REF') && hasDateText(JSON.stringify([o.catalog_name, o.schema_name, o.table_name]))) found = true;
    if (o.type === 'TABLE_FUNCTION' && hasDateText(JSON.stringify(o.function))) found = true;
    for (const v of Object.values(o)) walk(v);
  };
  walk(tree);
  return found;
}

/** Each reader asked, with the count of changes of functions it was asked after (see readerOf). */
const readers = new WeakMap<object, { readonly generation: number; readonly reader: Promise<Reader> }>();

/** The version of DuckDB whose parser gives the trees, asked once per session. */
export async function engineVersion(session: WarehouseSession): Promise<string> {
  return (await readerOf(session)).engine;
}

/**
 * The session's Reader. duckdb_functions() takes some 20 ms, so it is asked once for all the
 * sessions of a database instance (they see the same functions), and asked again after a
 * statement of any of them may have changed the functions (see mayChangeFunctions: a macro
 * created, an extension loaded). A session that ran such a statement asks for itself from
 * then on: it may hold temporary macros the others do not. A session that does not say which
 * others see its functions (functionsScope) is asked once.
 */
export function readerOf(session: WarehouseSession): Promise<Reader> {
  // Per connection: a batch's view of its connection is that connection's.
  const own = session.sessionOfConnection ?? session;
  const scope = own.functionsScope;
  const key = scope && !scope.changedOwn ? scope.instance : own;
  const generation = scope?.generation ?? 0;
  const held = readers.get(key);
  if (held && held.generation === generation) return held.reader;
  // Before any change, what an earlier process found, nothing written to the file since (see
  // duckdb/kept-functions.ts); what is found now is kept for the next.
  const first = scope !== undefined && generation === 0 && !scope.changedOwn;
  const kept = first ? readerFromKept(scope.kept) : undefined;
  if (kept) scope?.keep?.(scope.kept);
  const reader = kept
    ? Promise.resolve(kept)
    : askReader(own).then(
        (found) => {
          if (first) scope.keep?.(keptOfReader(found));
          return found;
        },
        (e: unknown) => {
          if (readers.get(key)?.reader === reader) readers.delete(key);
          throw e;
        },
      );
  readers.set(key, { generation, reader });
  return reader;
}

/**
 * Asks the functions of `session`'s database again, whatever was asked before: statements
 * pipe does not read (a project's on-run-start hooks, which may run anything) may have made a
 * macro. Where they differ from those asked before, the change is counted as a statement's
 * would be: nothing asked before them is kept for the next process.
 */
export async function askFunctionsAgain(session: WarehouseSession): Promise<void> {
  const own = session.sessionOfConnection ?? session;
  const scope = own.functionsScope;
  const key = scope && !scope.changedOwn ? scope.instance : own;
  const before = await readers.get(key)?.reader.catch(() => undefined);
  const fresh = await askReader(own);
  if (before !== undefined && before.key !== fresh.key) scope?.changed?.();
  readers.set(key, { generation: own.functionsScope?.generation ?? 0, reader: Promise.resolve(fresh) });
}

/** A Reader as kept between processes (see readerFromKept). */
interface KeptReader {
  readonly engine: string;
  readonly catalog: string;
  readonly builtin: readonly string[];
  readonly defined: readonly string[];
  readonly schemas: readonly string[];
}

function keptOfReader(r: Reader): KeptReader {
  return { engine: r.engine, catalog: r.catalog, builtin: [...r.functions.builtin], defined: [...r.functions.defined], schemas: [...(r.schemas ?? [])] };
}

/** The Reader kept by an earlier process; undefined when nothing is kept or it does not hold together (it is then asked). */
function readerFromKept(kept: unknown): Reader | undefined {
  if (kept === null || typeof kept !== 'object') return undefined;
  const k = kept as Partial<Record<keyof KeptReader, unknown>>;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (typeof k.engine !== 'string' || typeof k.catalog !== 'string' || !strings(k.builtin) || !strings(k.defined) || !strings(k.schemas)) return undefined;
  if (k.engine === '' || k.builtin.length === 0 || k.schemas.length === 0) return undefined;
  return readerOfParts(k.engine, k.catalog, { builtin: new Set(k.builtin), defined: new Set(k.defined) }, k.schemas);
}

/**
 * Asks for the functions of the database ahead (see readerOf), on a connection of its own, for
 * the caller to await beside other work: duckdb_functions() takes 20-40 ms, which a command
 * would otherwise wait for as it first judges a query, after preparing the warehouse. Never
 * fails: an ask that failed is asked again where the functions are needed, and its error met
 * there.
 */
export function askFunctionsAhead(withSession: (work: (session: WarehouseSession) => Promise<unknown>) => Promise<unknown>): Promise<void> {
  return withSession((s) => readerOf(s)).then(
    () => undefined,
    () => undefined,
  );
}

async function askReader(session: WarehouseSession): Promise<Reader> {
  // DuckDB's own functions by their full names: a macro named like one (lower, bool_or) would
  // otherwise answer in its place, and the answer be the macro's.
  const [row] = await session.query(
    'SELECT library_version AS v, system.main.current_database() AS db, system.main.current_schema() AS s, system.main.to_json(system.main.current_schemas(false))::VARCHAR AS path FROM system.main.pragma_version()',
  );
  const names = await session.query(
    'SELECT system.main.lower(function_name) AS name, system.main.bool_or(internal) AS builtin, system.main.bool_or(NOT internal) AS defined FROM system.main.duckdb_functions() GROUP BY 1 ORDER BY 1 ASC',
  );
  const engine = String(row?.v ?? '');
  const catalog = String(row?.db ?? '');
  const functions = {
    builtin: new Set(names.filter((n) => n.builtin === true).map((n) => String(n.name))),
    defined: new Set(names.filter((n) => n.defined === true).map((n) => String(n.name))),
  };
  const path = JSON.parse(String(row?.path ?? '[]')) as string[];
  const schemas = (path.length > 0 ? path : [String(row?.s ?? 'main')]).map((p) => p.toLowerCase());
  return readerOfParts(engine, catalog, functions, schemas);
}

function readerOfParts(engine: string, catalog: string, functions: Functions, schemas: readonly string[]): Reader {
  const key = hashOf(engine, catalog, [...functions.builtin].join(','), [...functions.defined].join(','), schemas.join('\u0000'));
  return { engine, catalog, functions, schemas, key };
}

interface Named {
  readonly catalog: string;
  readonly schema: string;
  readonly name: string;
}

/**
 * The judgement on a parsed tree (exported for tests), for a warehouse whose own database is
 * `context.catalog`. A table named with another database (`prod.main.orders`, attached) is
 * that database's: only a relation rendered with it stands for it, not the warehouse's
 * `"main"."orders"` of the same schema and name. A call of a function that is not DuckDB's
 * own (`context.functions`), or that a macro of the same name shadows, is a call of a macro
 * pipe cannot see into: a later definition (a hook's `create or replace macro`) changes what
 * the query computes, and its body may read any table.
 */
export function judge(
  tree: unknown,
  known: readonly string[],
  context: JudgeContext = {},
  /** The query's text, when known: a constant DuckDB's tree gives as text is told from a keyword (`header = true` is the text 't' there) by where it stands in it. */
  sql?: string,
): string | undefined {
  const root = tree as { error?: boolean; statements?: unknown[] };
  if (root.error || !Array.isArray(root.statements)) return 'its query could not be parsed to see what it reads';
  const tables: Named[] = [];
  const functions: string[] = [];
  const called = new Set<string>();
  const shown: string[] = [];
  /** The function nodes of table function calls, judged as table functions. */
  const tableFunctions = new Set<unknown>();
  /**
   * `scope`: the common table expressions a plain name reads there, as DuckDB binds them: a
   * query's own WITH in its body and its subqueries, each one in the ones after it in that WITH,
   * none in itself unless recursive (`with events as (select * from events)` reads the table).
   */
  const walk = (n: unknown, scope: ReadonlySet<string>): void => {
    if (Array.isArray(n)) return n.forEach((c) => walk(c, scope));
    if (n === null || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (o.type === 'BASE_TABLE' && typeof o.table_name === 'string') {
      const named = { catalog: String(o.catalog_name ?? ''), schema: String(o.schema_name ?? ''), name: o.table_name };
      if (named.catalog !== '' || named.schema !== '' || !scope.has(named.name.toLowerCase())) tables.push(named);
    }
    // SHOW TABLES, SHOW ALL TABLES, SHOW DATABASES: the catalog, not a query of a table (DESCRIBE and SUMMARIZE have one).
    if (o.type === 'SHOW_REF' && (o.query === null || o.query === undefined)) shown.push(String(o.table_name ?? '').replaceAll('"', '').replace(/^__show_tables_expanded$/, 'all tables'));
    if (o.type === 'TABLE_FUNCTION') {
      functions.push(JSON.stringify(o.function));
      tableFunctions.add(o.function);
    }
    if (o.type === 'FUNCTION' && typeof o.function_name === 'string' && !tableFunctions.has(o)) called.add(o.function_name.toLowerCase());
    let inner = scope;
    if (o.type === 'RECURSIVE_CTE_NODE' && typeof o.cte_name === 'string') inner = new Set([...scope, o.cte_name.toLowerCase()]);
    const map = (o.cte_map as { map?: { key: string; value: unknown }[] } | undefined)?.map;
    if (Array.isArray(map) && map.length > 0) {
      const withs = new Set(inner);
      for (const m of map) {
        walk(m.value, withs);
        withs.add(m.key.toLowerCase());
      }
      inner = withs;
    }
    for (const [k, v] of Object.entries(o)) if (k !== 'cte_map') walk(v, inner);
  };
  walk(root.statements, new Set());
  if (shown.length > 0) return `its query reads the warehouse's catalog (SHOW ${shown[0].toUpperCase()}), which pipe cannot track`;
  const own = (context.catalog ?? '').toLowerCase();
  const knownNames = new Set(known.map((k) => normalize(k, own)));
  const schemas = context.schemas ?? ['main'];
  for (const t of tables) {
    if (t.schema === '' && t.catalog === '' && schemas.length !== 1) {
      return `its query reads ${t.name} by its plain name, which DuckDB looks for in the schemas of its search_path (${schemas.join(', ')}) in turn`;
    }
    const catalog = t.catalog.toLowerCase() === own ? '' : t.catalog;
    const full = [catalog, t.schema || normalize(schemas[0], own), t.name].filter((p) => p !== '').join('.').toLowerCase();
    if (knownNames.has(full) || (catalog === '' && knownNames.has(t.name.toLowerCase()))) continue;
    return `its query reads ${[t.catalog, t.schema, t.name].filter((p) => p !== '').join('.')}, which no ref(), source() or seed gives it`;
  }
  // A table function pipe did not render from a source (read_csv of a file, a catalog function).
  /** The query's UTF-8 bytes: DuckDB places a constant by its byte offset. */
  let bytes: Buffer | undefined;
  const calls = known.filter((k) => /\(/.test(k)).map((k) => k.toLowerCase());
  for (const f of functions) {
    const name = /"function_name":"([^"]+)"/.exec(f)?.[1] ?? 'a table function';
    if (PURE_TABLE_FUNCTIONS.has(name.toLowerCase())) continue;
    // A source's call: the same function, each text constant of the call a whole literal of it (a
    // path that is part of another, data/clicks.csv of data/clicks.csv.gz, is another file).
    bytes ??= sql === undefined ? undefined : Buffer.from(sql);
    const args = textConstants(JSON.parse(f), bytes).map((a) => a.toLowerCase());
    const literals = args.map((a) => `'${a.replaceAll("'", "''")}'`);
    const called = new RegExp(`(^|[^a-z0-9_])${name.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\(`);
    if (args.length > 0 && calls.some((c) => called.test(c) && literals.every((l) => c.includes(l)))) continue;
    return `its query calls ${name}(), which pipe cannot track`;
  }
  const { functions: catalog } = context;
  if (catalog) {
    for (const name of called) {
      if (catalog.builtin.has(name) && !catalog.defined.has(name)) continue;
      return `its query calls ${name}(), a macro or function that is not DuckDB's own, whose definition pipe cannot track`;
    }
  }
  return undefined;
}

/**
 * The text constants of a parsed expression (a table function's call), as the SQL wrote them.
 * DuckDB's tree gives a keyword constant as text too (`header = true` is 't'): with the SQL, only
 * a constant that stands as a quoted literal there is one.
 */
function textConstants(n: unknown, sql: Buffer | undefined, out: string[] = []): string[] {
  if (Array.isArray(n)) {
    for (const c of n) textConstants(c, sql, out);
    return out;
  }
  if (n === null || typeof n !== 'object') return out;
  const o = n as { class?: unknown; query_location?: unknown; value?: { type?: { id?: unknown }; is_null?: unknown; value?: unknown } };
  if (o.class === 'CONSTANT' && o.value?.type?.id === 'VARCHAR' && o.value.is_null === false && typeof o.value.value === 'string') {
    const at = typeof o.query_location === 'number' ? o.query_location : undefined;
    if (sql === undefined || at === undefined || quotedAt(sql, at)) out.push(o.value.value);
  }
  for (const v of Object.values(n)) textConstants(v, sql, out);
  return out;
}

/** Whether a quoted literal starts at byte `at` of the SQL: `'…'`, `E'…'`, or dollar-quoted. */
function quotedAt(sql: Buffer, at: number): boolean {
  const c = sql[at];
  return c === 0x27 || c === 0x24 || ((c === 0x45 || c === 0x65) && sql[at + 1] === 0x27);
}

/** `"a"."b"` → `a.b`, and `"own"."a"."b"` too (`own`: the warehouse's database, lower case); a quoted file path `'x.csv'` → `x.csv`; lower case. */
function normalize(relation: string, own: string): string {
  const t = relation.trim();
  if (t.startsWith("'")) return t.slice(1, -1).replaceAll("''", "'").toLowerCase();
  if (t.includes('(')) return t.toLowerCase();
  const parts = t
    .split(/\.(?=(?:[^"]*"[^"]*")*[^"]*$)/)
    .map((p) => (p.startsWith('"') ? p.slice(1, -1).replaceAll('""', '"') : p).toLowerCase());
  return (parts.length === 3 && parts[0] === own ? parts.slice(1) : parts).join('.');
}

/**
 * json_serialize_sql's text as JSON: DuckDB writes a DOUBLE constant that is not finite
 * (`select 1e400`) as a bare Infinity, -Infinity or NaN, which JSON has not; what a query reads
 * does not depend on a constant's value, so each is read as null.
 */
export function parseTree(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return JSON.parse(text.replace(/"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)/g, (m: string, bare: string | undefined) => (bare === undefined ? m : 'null'))) as unknown;
  }
}
