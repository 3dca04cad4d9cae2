import { withArticle } from '../util/english.js';
import { error, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { queriesOf } from '../execute/run-currency.js';
import { sha256 } from '../project/pack-store.js';
import { newlines, quoteLiteral, sqlPieces, statementSeparators, statementStart, withoutDates } from '../sql/sql-text.js';
import { locateSqlError, type SqlOrigin } from '../plan/sql-error-location.js';
import { allSteps, type Task } from '../plan/task.js';
import { QueryReadsCache } from '../state/query-reads-cache.js';
import { engineVersion, mayNotBeAQuery, readAll, refusedByParser } from '../state/query-reads.js';
import { statementsIn, WarehouseError, type WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Before anything runs: every model and check is exactly one statement that DuckDB's own
 * parser reads. Text that parses into two statements would run both (a `--var` value that
 * closes a quote could drop a table), so it is refused at its file and line; so is text with
 * a syntax error, which would otherwise fail only when its task's turn came, after others
 * had been written.
 */

const HINT =
  "a model or check is one query (select ... or with ... select ...); if a var() or env_var() value is put inside quotes, quote it with a filter instead: {{ var('x') | sqlstring }} (a literal) or {{ var('x') | ident }} (a name)";

/** Where the second statement begins: the line after the first separating semicolon. */
function secondStatementAt(sql: string, origin: SqlOrigin | undefined, fallback: Location): Location {
  const sep = statementSeparators(sql)[0];
  if (sep === undefined || !origin) return fallback;
  return renderedLineAt(sql.slice(0, sep).split('\n').length, sql, origin, fallback);
}

/** Where line `line` of the rendered `sql` was written in its file. */
function renderedLineAt(line: number, sql: string, origin: SqlOrigin, fallback: Location): Location {
  const located = locateSqlError(line, sql, origin)?.location;
  if (located) return located;
  // The rendered line matches no line of the file (a value changed it beyond recognition):
  // templates keep their lines, so the same line of the file is where it came from.
  return !origin.inserted && line <= origin.source.split('\n').length ? { file: origin.file, line } : fallback;
}

/** A text to parse, and how to report it. */
interface Parsed {
  readonly sql: string;
  readonly what: string;
  /** The task's node. */
  readonly node: string;
  readonly origin?: SqlOrigin;
  readonly at: Location;
  /** A model's query, which pipe writes as a table or view (`CREATE ... AS`), or a check's, which pipe reads from (`SELECT * FROM (...)`). */
  readonly of: 'model' | 'check';
}

/** How pipe runs each kind of text, to parse it as it runs: only a query fits. */
const AS_RUN: Record<Parsed['of'], (sql: string) => string> = {
  model: (sql) => `CREATE TABLE __pipe_probe AS\n${sql}`,
  check: (sql) => `SELECT * FROM (\n${sql}\n) AS failing`,
};

/**
 * The texts of `tasks` that run as they are planned (SQL rendered again as a task runs is
 * checked then, see execute/render-at-run.ts): each model's query and each check's.
 */
function textsOf(tasks: readonly Task[]): Parsed[] {
  const texts: Parsed[] = [];
  for (const task of tasks) {
    // A task rendered again as it runs is planned again from that render, checks and all: a
    // check of a view reads the model's query, which is the parse's until then.
    if (task.renderAtRun) continue;
    if (task.sql !== undefined && task.origin) texts.push({ sql: task.sql, what: task.node, node: task.node, origin: task.origin, at: { file: task.file }, of: 'model' });
    for (const step of allSteps(task.steps)) {
      const checks = step.kind === 'check' ? [step] : step.kind === 'publish' ? (step.checks ?? []) : [];
      for (const c of checks) if (!c.renderAtRun) texts.push({ sql: c.sql, what: `${task.node}: check ${c.name}`, node: task.node, at: c.location, of: 'check' });
    }
  }
  return texts;
}

export async function preflightStatements(session: WarehouseSession, tasks: readonly Task[], kept?: QueryReadsCache): Promise<Diagnostic[]> {
  const texts = textsOf(tasks);
  // A text with a syntax error has no statements to count (statementsIn): it is reported once.
  return [...(await syntaxErrors(session, tasks, texts, kept)), ...(await severalStatements(session, texts))];
}

/**
 * The texts DuckDB's parser refuses. The queries whose reads a run judges are parsed for that
 * (once per text, kept beside the warehouse: see state/query-reads.ts), and the run finds them
 * judged; the others (checks, untracked models) are parsed here, many to a statement, a text
 * that parses kept too. What `json_serialize_sql` refuses as a syntax error is read once more
 * by the connection's own parser, which knows the syntax of loaded extensions and says where.
 */
async function syntaxErrors(session: WarehouseSession, tasks: readonly Task[], texts: readonly Parsed[], kept?: QueryReadsCache): Promise<Diagnostic[]> {
  const queries = queriesOf(tasks);
  await readAll(session, queries, kept);
  const judged = new Set(queries.map((q) => q.sql));
  const suspects = new Set(queries.filter((q) => refusedByParser(q.sqlHash) || mayNotBeAQuery(q.sqlHash)).map((q) => q.sql));
  for (const sql of await refusedOf(session, [...new Set(texts.filter((t) => !judged.has(t.sql)).map((t) => t.sql))], kept)) suspects.add(sql);
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();
  // A model's query that does not parse, by node: a check of a view reads it inside its own
  // text (the staged query), and fails for its error, which the model's diagnostic says once.
  const refusedQueries = new Map<string, string>();
  for (const t of texts) {
    if (!suspects.has(t.sql) || reported.has(t.what)) continue;
    reported.add(t.what);
    // Its own text, the model's query put aside, is still parsed: an error of its own is said too.
    const query = refusedQueries.get(t.node);
    const own = t.of === 'check' && query !== undefined && t.sql.includes(query) ? t.sql.replaceAll(query, 'select 1') : undefined;
    const problem = await parserProblem(session, own ?? t.sql);
    if (own !== undefined && problem === undefined) continue;
    if (problem === undefined) {
      const other = await notAQuery(session, t);
      if (other) diagnostics.push(other);
      continue;
    }
    if (t.of === 'model') refusedQueries.set(t.node, t.sql);
    // At the end of input, the query stops short: at its last line (see locateSqlError).
    const line = problem.line ?? (/at end of input/.test(problem.text) ? t.sql.split('\n').length : undefined);
    const located = t.origin && line !== undefined ? locateSqlError(line, t.sql, t.origin, true)?.location : undefined;
    // Only a query: check is a template: Jinja elsewhere in a check reaches the parser as it is.
    const jinja = t.of === 'check' && /\{\{|\{%/.test(t.sql);
    // No line of the file rendered it (a macro's output): the rendered line is said, as dbt shows it.
    const rendered = !located && problem.line !== undefined ? (own ?? t.sql).split('\n')[problem.line - 1]?.trim() : undefined;
    const shown = rendered ? ` (rendered line ${problem.line}: ${rendered.length > 120 ? `${rendered.slice(0, 117)}…` : rendered})` : '';
    // A model's: the rest of the project is built without it (and what reads it), as dbt builds the rest.
    const hint = jinja
      ? 'a check other than query: is SQL, not a template: write the value, or make it a query: check, which renders Jinja'
      : t.of === 'model'
        ? `fix it; until then, --exclude ${t.node}+ builds the rest of the project`
        : undefined;
    diagnostics.push(error('sql-syntax', `${t.what}: ${problem.text}${shown}`, located ?? t.at, hint ? { hint } : undefined));
  }
  return diagnostics;
}

/**
 * A text that parses but is not a query (a DELETE, a DROP, a PRAGMA, a DESCRIBE): pipe would
 * write it as a table or read it as a check's rows, and DuckDB would refuse that only when its
 * turn came, after others had been written. Read by the parser as pipe runs it (a PIVOT is a
 * query there); the error points at the statement's first line.
 */
async function notAQuery(session: WarehouseSession, t: Parsed): Promise<Diagnostic | undefined> {
  if ((await parserProblem(session, AS_RUN[t.of](t.sql))) === undefined) return undefined;
  const start = statementStart(t.sql);
  const keyword = /^[(\s]*([A-Za-z_]+)/.exec(t.sql.slice(start))?.[1]?.toUpperCase();
  const line = t.sql.slice(0, start).split('\n').length;
  const at = t.origin ? renderedLineAt(line, t.sql, t.origin, t.at) : t.at;
  const what = keyword ? `${withArticle(keyword)} statement` : 'a statement';
  return t.of === 'model'
    ? error('not-a-query', `${t.what} is ${what}, not a query: a model is one query (select ..., with ... select ..., from ..., values ...), whose rows pipe writes as its table or view`, at, {
        hint: 'a statement to run beside the model belongs in a pre_hook or post_hook; one to run once, in on-run-start, on-run-end or pipe run-operation',
      })
    : error('not-a-query', `${t.what} is ${what}, not a query: a check is one query, which returns the failing rows`, at);
}

/** The texts among `sqls` DuckDB's parser refuses, parsed 200 to a statement; those that parse are kept. */
async function refusedOf(session: WarehouseSession, sqls: readonly string[], kept?: QueryReadsCache): Promise<string[]> {
  const engine = kept ? await engineVersion(session) : '';
  const keyOf = (sql: string) => QueryReadsCache.parsesKey(engine, sha256(sql));
  const todo = kept ? sqls.filter((sql) => kept.judgement(keyOf(sql)) === undefined) : sqls;
  // One text of each shape is parsed: a backfill's dates of one model differ in their dates alone.
  const alike = new Map<string, string[]>();
  for (const sql of todo) {
    const shape = withoutDates(sql);
    const group = alike.get(shape);
    if (group) group.push(sql);
    else alike.set(shape, [sql]);
  }
  const groups = [...alike.values()];
  const refused: string[] = [];
  for (let i = 0; i < groups.length; i += 200) {
    const part = groups.slice(i, i + 200).map((group) => group[0]);
    let rows: Record<string, unknown>[];
    try {
      rows = await session.query(
        // Also what may not be a query (see mayNotBeAQuery): it is read again, and never kept as parsing.
        `SELECT i FROM (SELECT i, json_serialize_sql(s) AS j FROM (VALUES ${part.map((sql, j) => `(${j}, ${quoteLiteral(sql)})`).join(', ')}) AS t(i, s)) ` +
          `WHERE j->>'error_type' IN ('parser', 'not implemented') OR contains(j::VARCHAR, '"SHOW_REF"')`,
      );
    } catch (e) {
      if (!(e instanceof WarehouseError)) throw e;
      // Not told: these texts run as they are, and a syntax error among them fails its task at its line.
      continue;
    }
    const bad = new Set(rows.map((r) => Number(r.i)));
    groups.slice(i, i + 200).forEach((group, j) => {
      for (const sql of group) {
        if (bad.has(j)) refused.push(sql);
        else kept?.keep(keyOf(sql), undefined);
      }
    });
  }
  return refused;
}

/** What the connection's parser says of `sql`: its first line and the line of the text it names; undefined when it reads it. */
async function parserProblem(session: WarehouseSession, sql: string): Promise<{ text: string; line?: number } | undefined> {
  try {
    await session.statementCount(sql);
    return undefined;
  } catch (e) {
    if (!(e instanceof WarehouseError)) throw e;
    // DuckDB's parser has no Unicode-escape strings, and says so in its own terms, at no line.
    if (/unicode_to_utf8 NOT IMPLEMENTED/.test(e.message)) {
      const at = sqlPieces(sql).find((p) => p.kind === 'string' && /^U&'/i.test(sql.slice(p.start - 2, p.start + 1)));
      return { text: "DuckDB does not read U&'…' strings (Unicode escapes): write the characters themselves, or build them with chr()", line: at === undefined ? undefined : newlines(sql, at.start) + 1 };
    }
    const named = session.dialect.errorLine(e.message);
    return { text: session.dialect.headline(e.message), line: named?.line };
  }
}

/** Texts that parse into more than one statement. */
async function severalStatements(session: WarehouseSession, texts: readonly Parsed[]): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();
  const checked = new Set<string>();
  const verify = async (sql: string, what: string, origin: SqlOrigin | undefined, at: Location) => {
    if (checked.has(sql) || reported.has(what)) return;
    checked.add(sql);
    const count = await statementsIn(session, sql);
    if (count === undefined || count <= 1) return;
    reported.add(what);
    diagnostics.push(
      error('several-statements', `${what} renders to ${count} SQL statements; pipe runs exactly one`, secondStatementAt(sql, origin, at), { hint: HINT }),
    );
  };
  for (const t of texts) await verify(t.sql, t.what, t.origin, t.at);
  return diagnostics;
}
