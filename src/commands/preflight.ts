import { readFileSync } from 'node:fs';
import { error, warning, type Diagnostic, type Location } from '../diagnostics/diagnostics.js';
import { didYouMean } from '../diagnostics/suggest.js';
import { csvProblem, mixedLineEndInFile, type CsvOrigin } from '../plan/csv-error-location.js';
import { missingColumn, ownQuery } from '../plan/column-uses.js';
import { allSteps, type CheckStep, type Task, type TaskKind } from '../plan/task.js';
import { blankLines, forEachCsvRow, lineOfValue } from '../project/csv-text.js';
import { SeedVerdicts } from '../project/seed-verdicts.js';
import { engineVersion } from '../state/query-reads.js';
import { DAY_MS } from '../dates/dates.js';
import { partitionColumnProblem } from '../execute/step-runner.js';
import { quoteIdent, quoteLiteral, withoutDates } from '../sql/sql-text.js';
import { withArticle } from '../util/english.js';
import { readRelationsOf } from '../warehouse/relations-of.js';
import type { Column, SeedValueCheck, ValueChange } from '../warehouse/dialect.js';
import { WarehouseError, type WarehouseSession } from '../warehouse/warehouse.js';

/**
 * Before anything runs: every column a check or a model's config names is one the rows have:
 * the model's own (what its query produces) or, for a relationships check, the other model's;
 * and a build of one hour partitions by a column that holds times (see partitionColumnProblem).
 * The queries are bound, not executed (DESCRIBE). A query that reads what this same run builds
 * first is bound with that standing in as its query gives it (see withPlannedRelations), so a
 * first run refuses what the next would; a query rendered when its task runs, and one that
 * still does not bind, have their columns verified when the task runs.
 */
export async function preflightCheckColumns(session: WarehouseSession, tasks: readonly Task[]): Promise<Diagnostic[]> {
  const found = await checkColumns(session, tasks);
  // A query that did not bind may read what the run builds first (a first run): bound again with that standing in.
  return found.unbound ? (await withPlannedRelations(session, tasks, () => checkColumns(session, tasks))).diagnostics : found.diagnostics;
}

/** See preflightCheckColumns; `unbound` when a query it needed did not bind. */
async function checkColumns(session: WarehouseSession, tasks: readonly Task[]): Promise<{ diagnostics: Diagnostic[]; unbound: boolean }> {
  let unbound = false;
  const diagnostics: Diagnostic[] = [];
  const reported = new Set<string>();
  const described = new Map<string, Promise<Column[] | undefined>>();
  const problems = new Map<string, Promise<string | undefined>>();
  const rowsOf = (query: string) => {
    const shape = withoutDates(query);
    let found = described.get(shape);
    if (!found) {
      found = session.dialect.describeQuery(session, query).catch(() => undefined);
      described.set(shape, found);
    }
    return found.then((columns) => {
      unbound ||= columns === undefined;
      return columns;
    });
  };
  const columnsOf = (query: string) => rowsOf(query).then((columns) => columns?.map((c) => c.name));
  /** The nodes the run builds, by name: one task each is enough, their queries differing in dates alone. */
  const builtHere = new Map<string, Task>();
  for (const task of tasks) if (!NOT_BUILDS.has(task.kind) && !builtHere.has(task.node)) builtHere.set(task.node, task);
  for (const task of tasks) {
    // A query rendered again as its task runs is not known yet: its columns are verified then.
    if (task.renderAtRun) continue;
    const own = ownQuery(task);
    const report = (d: Diagnostic) => {
      const key = `${d.location?.file}:${d.location?.line ?? ''}:${d.message}`;
      if (!reported.has(key)) diagnostics.push(d);
      reported.add(key);
    };
    // A build of one hour whose partition column holds days: refused as its task would refuse it.
    const hour = task.interval !== undefined && task.interval.end - task.interval.start < DAY_MS;
    for (const step of allSteps(task.steps)) {
      if (hour && step.kind === 'schema-change' && step.partitionBy !== undefined) {
        const rows = await rowsOf(own);
        const problem = rows && partitionColumnProblem(task, step.partitionBy, rows);
        if (problem) report(error('bad-partition', problem, step.partitionByAt ?? { file: task.file }));
      }
      const checks = step.kind === 'check' ? [step] : step.kind === 'publish' ? (step.checks ?? []) : [];
      for (const c of checks) {
        const bound = c.renderAtRun ? undefined : boundCheck(c, own);
        if (bound === undefined) continue;
        const columns = await columnsOf(own);
        if (columns) {
          const key = withoutDates(bound);
          if (!problems.has(key)) problems.set(key, bindProblem(session, bound));
          const problem = await problems.get(key);
          const d = problem === undefined ? undefined : checkDiagnostic(session, task.node, c, columns, problem);
          if (d) report(d);
        }
      }
      if (step.kind !== 'columns') continue;
      // Another model's columns, as this run leaves them: one it builds has its query's (a
      // column added in the same change is there), unless they are known only as it runs.
      const other = step.of === undefined ? undefined : builtHere.get(step.of);
      if (other !== undefined && (other.renderAtRun || !SHAPED_BY_QUERY.has(other.kind))) continue;
      const columns = await columnsOf(step.of === undefined ? own : other !== undefined ? ownQuery(other) : `SELECT * FROM ${step.relation}`);
      if (!columns) continue;
      const have = new Set(columns.map((c) => c.toLowerCase()));
      for (const use of step.expected) {
        if (have.has(use.column.toLowerCase())) continue;
        const { message, hint } = missingColumn(use, step.of ?? task.node, columns, step.of === undefined);
        report(error('unknown-column', message, use.location, { hint }));
      }
    }
  }
  return { diagnostics, unbound };
}

/**
 * A check's query over the rows of the model's query `own`, to bind before the run: an
 * `expression` check's condition, as its query puts it (a condition may end in a -- comment),
 * or a `query` check that reads nothing but the data checked (see CheckStep.checked).
 */
function boundCheck(c: CheckStep, own: string): string | undefined {
  if (c.expression !== undefined) return `SELECT * FROM (\n${own}\n) AS checked WHERE (${c.expression}\n) IS NOT TRUE`;
  if (c.checked !== undefined) return c.sql.replaceAll(c.checked, `(\n${own}\n)`);
  return undefined;
}

/** Why a query does not bind, in the engine's words; undefined when it does. */
function bindProblem(session: WarehouseSession, sql: string): Promise<string | undefined> {
  return session.dialect.describeQuery(session, sql).then(
    () => undefined,
    (e: unknown) => warehouseMessage(e),
  );
}

/**
 * What a check that does not bind over the model's rows is told before the run: a column the
 * model does not produce, at the check's line; for an expression, any other problem too. A
 * query check's other problems are left to its run (what stands for the rows in it is then
 * the table, which some SQL can name where it cannot name a query: `{{ this }}.id`).
 */
function checkDiagnostic(session: WarehouseSession, node: string, c: CheckStep, columns: readonly string[], problem: string): Diagnostic | undefined {
  const column = session.dialect.unknownColumn(problem);
  if (column !== undefined && !columns.some((x) => x.toLowerCase() === column.toLowerCase())) {
    const { message, hint } = missingColumn({ column, namedBy: `check ${c.name}`, location: c.location }, node, columns, true);
    return error('unknown-column', message, c.location, { hint });
  }
  if (c.expression === undefined) return undefined;
  return error('bad-check', `check ${c.name} cannot run on the rows of ${node}: ${session.dialect.headline(problem)}`, c.location, { hint: `${node} produces: ${columns.join(', ')}` });
}

/** Tasks that build no node: a test's, a unit test's (named by its model), a run hook's. */
const NOT_BUILDS: ReadonlySet<TaskKind> = new Set<TaskKind>(['test', 'unit-test', 'run-hook']);

/** What a first build creates from the query's shape alone: its columns are the query's. */
const SHAPED_BY_QUERY: ReadonlySet<TaskKind> = new Set<TaskKind>(['seed', 'table', 'view', 'incremental', 'merge', 'delete+insert', 'append', 'microbatch', 'external']);

/**
 * Runs `bind` with what the run creates before its readers standing in the catalog as it will:
 * each relation that is not there yet, as an empty table of its query's columns, in a transaction rolled back
 * afterwards, so that nothing is written. A relation of schema main stands as a temporary table
 * (a read-only warehouse included); one of another schema (a model's `schema` config) as a
 * table in that schema, created with it when missing, which only a warehouse open for writing
 * allows (a read-only one, as a dry run opens, leaves them out: a statement it refuses would
 * end the transaction). So on a first run, a model whose upstream the run builds binds before
 * anything runs, as it binds on the next. Left out, and so bound only as they run: queries
 * rendered as they run, snapshots (their table adds columns), models with hooks (which may
 * change what the table holds), and relations of another database.
 */
async function withPlannedRelations<T>(session: WarehouseSession, tasks: readonly Task[], bind: () => Promise<T>): Promise<T> {
  const planned = new Map<string, { schema: string; name: string; sql: string }>();
  let writable: boolean | undefined;
  for (const t of tasks) {
    const parts = /^"((?:[^"]|"")*)"\."((?:[^"]|"")*)"$/.exec(t.relation);
    if (parts === null || t.sql === undefined || t.renderAtRun || !SHAPED_BY_QUERY.has(t.kind) || planned.has(t.relation)) continue;
    if (allSteps(t.steps).some((s) => s.kind === 'hook')) continue;
    const [schema, name] = [parts[1].replaceAll('""', '"'), parts[2].replaceAll('""', '"')];
    if (schema !== 'main' && !(writable ??= await openForWriting(session))) continue;
    planned.set(t.relation, { schema, name, sql: t.sql });
  }
  const existing = planned.size === 0 ? undefined : await readRelationsOf(session, [...planned.keys()]).catch(() => undefined);
  const missing = [...planned].filter(([relation]) => existing !== undefined && !existing.has(relation));
  if (missing.length === 0) return bind();
  try {
    await session.exec('BEGIN TRANSACTION');
  } catch {
    return bind();
  }
  try {
    // In dependency order as planned; a view whose inputs are not there yet binds on a later pass.
    let pending = missing;
    while (pending.length > 0) {
      const next: typeof pending = [];
      for (const entry of pending) {
        const [, { schema, name, sql }] = entry;
        // An empty table, not a view: what reads it binds against its columns alone, where a
        // view of views would make each reader bind everything under it again (a project of a
        // thousand models nested ten deep took 40 s to stand in, against 9 s to build).
        const shape = `SELECT * FROM (\n${sql}\n) LIMIT 0`;
        const create =
          schema === 'main'
            ? `CREATE TEMP TABLE ${quoteIdent(name)} AS\n${shape}`
            : `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};\nCREATE TABLE ${quoteIdent(schema)}.${quoteIdent(name)} AS\n${shape}`;
        const made = await session.exec(create).then(
          () => true,
          (e: unknown) => (warehouseMessage(e), false),
        );
        if (!made) next.push(entry);
      }
      if (next.length === pending.length) break;
      pending = next;
    }
    return await bind();
  } finally {
    await session.rollback();
  }
}

/** Whether the session's database takes writes (not opened read-only): only then may a stand-in have a schema of its own. */
async function openForWriting(session: WarehouseSession): Promise<boolean> {
  const rows = await session.query('SELECT NOT readonly AS writable FROM duckdb_databases() WHERE database_name = current_database()').catch(() => []);
  return rows[0]?.writable === true;
}

/** Before anything runs: every data_type of an enforced contract is a type of the engine, each reported at its column. */
export async function preflightContractTypes(session: WarehouseSession, tasks: readonly Task[]): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const step of tasks.flatMap((t) => allSteps(t.steps))) {
    if (step.kind !== 'contract') continue;
    for (const c of step.columns) {
      const key = `${c.location.file}:${c.location.line}:${c.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const refused = await session.query(session.dialect.declaredColumns([c])).then(
        () => undefined,
        (e: unknown) => warehouseMessage(e),
      );
      if (refused === undefined) continue;
      diagnostics.push(error('bad-contract', `data_type '${c.dataType}' of column ${c.name} is not a ${session.dialect.name} type: ${session.dialect.headline(refused)}`, c.location));
    }
  }
  return diagnostics;
}

/**
 * Before anything runs: every seed about to be loaded binds as strict CSV (DuckDB infers its
 * types from the first rows, so a malformed row among them is found now, at its line), and
 * every column type its YAML declares is a DuckDB type of a column the file has. Nothing is
 * loaded; an unchanged seed is not read at all.
 */
export function preflightSeeds(session: WarehouseSession, tasks: readonly Task[], verdicts?: SeedVerdicts): Promise<Diagnostic[]> {
  // What the checks keep goes into one pack.
  return verdicts ? verdicts.together(() => checkSeeds(session, tasks, verdicts)) : checkSeeds(session, tasks);
}

async function checkSeeds(session: WarehouseSession, tasks: readonly Task[], verdicts?: SeedVerdicts): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const typeNames = new TypeNames(session);
  for (const task of tasks) {
    if (!task.csv || task.noop || task.steps.length === 0) continue;
    const declared = await declaredTypes(session, task.csv, typeNames);
    diagnostics.push(...declared.problems);
    const described = await describedSeed(session, task.csv, task.sqlHash, verdicts);
    const header = await headerProblems(session, task.csv, described);
    diagnostics.push(...header);
    diagnostics.push(...(await bareNameProblems(session, task.csv)));
    if (described.columns && declared.types && header.length === 0) {
      // A dbt project's undeclared columns are typed as dbt-duckdb types them, checked from the file's text (seed-inference.ts).
      const inferred = task.csv.sniffedByDbt ? [] : undeclared(task.csv, described.columns);
      const checks = [...declared.types, ...inferred];
      // The check's verdict is a fact of the file: kept by its content, how it is read and what it is checked against.
      const key = verdicts && task.sqlHash !== undefined ? SeedVerdicts.key(await engineVersion(session), [task.sqlHash, task.csv.read, checks]) : undefined;
      if (key === undefined || !verdicts!.passed(key)) {
        const problems = await valueProblems(session, task.csv, checks);
        diagnostics.push(...problems);
        if (key !== undefined && problems.length === 0) verdicts!.pass(key);
      }
    }
    // A seed with post-hooks may change its table's types itself (an ALTER after the load): left to them.
    if (described.columns && header.length === 0 && task.sql !== undefined && task.relation !== undefined && !task.csv.retyped && !task.csv.postHooks) {
      diagnostics.push(...(await textNow(session, task.csv, task.relation, task.sql)));
    }
    // dbt-duckdb loads the same NULL rows: a dbt project's seed loads as dbt's, without a word.
    if (!task.csv.sniffedByDbt && task.csv.names.length === 1) diagnostics.push(...blankLineWarnings(task.csv));
    if (task.csv.sniffedByDbt) diagnostics.push(...(await sniffedDialectProblems(session, task.csv)));
    else if (described.columns) diagnostics.push(...(await ambiguousDateProblems(session, task.csv, described.columns)));
  }
  return diagnostics;
}

/**
 * A column of the seed's table that the reload would make text (VARCHAR) where it is of
 * another type: a value the type does not read as the file's reader reads it (`two` or `+5` in
 * a column of numbers, `2024-13-05` among dates) has come into the file, most often a typo,
 * and what reads the column would compare, sort and sum text from then on. Refused, at the
 * first value that makes it text where one can be told, unless column_types declares the
 * column or the load is the seed's full refresh. Read only where the table exists.
 */
async function textNow(session: WarehouseSession, csv: CsvOrigin, relation: string, sql: string): Promise<Diagnostic[]> {
  const declared = new Set(csv.columnTypes.map((d) => d.column.toLowerCase()));
  const before = await session.dialect.describeRelation(session, relation).catch(() => [] as Column[]);
  if (before.length === 0) return [];
  const was = new Map(before.map((c) => [c.name.toLowerCase(), c.type]));
  const text = 'VARCHAR';
  const now = await session.dialect.describeQuery(session, sql).catch(() => [] as Column[]);
  const out: Diagnostic[] = [];
  let file: string | undefined;
  for (const c of now) {
    const old = was.get(c.name.toLowerCase());
    if (c.type !== text || old === undefined || old === text || declared.has(c.name.toLowerCase())) continue;
    const value = await valueMadeText(session, sql, c.name, old);
    file ??= readFileSync(csv.read.absPath, 'utf8');
    const index = csv.names.findIndex((n) => n.toLowerCase() === c.name.toLowerCase());
    const line = index < 0 || value === undefined ? undefined : lineOfValue(file, csv.read.delimiter ?? ',', index, value);
    const what = value === undefined ? `its values read as text now, not as ${withArticle(old)}` : `"${value}" is not ${withArticle(old)} as the file's reader reads it`;
    out.push(
      error(
        'seed-value',
        `column ${c.name}: ${what} (the seed's table has it as ${old}): loaded now, the column would be ${text}, and what reads it would compare, sort and sum text`,
        { file: csv.file, ...(line === undefined ? {} : { line }) },
        { hint: `fix the value; or, for a column of text from now on, declare it (column_types: {${c.name}: ${text.toLowerCase()}}) or load the seed with --full-refresh` },
      ),
    );
  }
  return out;
}

/** How a value of each kind of type is written where the file's reader takes it for that type, as DuckDB writes it back. */
const PLAIN_FORMS: readonly (readonly [RegExp, string])[] = [
  // A leading zero (007) makes a column of whole numbers text, as the reader keeps its zeros.
  [/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/, '^-?(0|[1-9][0-9]*)$'],
  [/^(FLOAT|DOUBLE|DECIMAL.*)$/, '^-?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$'],
  [/^BOOLEAN$/, '(?i)^(true|false|t|f|yes|no|y|n|1|0)$'],
];

/**
 * The first value of column `name` that makes it text: one the old type cannot take, else one
 * it takes by a cast but that is not written as the file's reader writes that type (`+5`,
 * `1_000`, `2024-01-05 BC`); undefined where none can be told.
 */
async function valueMadeText(session: WarehouseSession, sql: string, name: string, old: string): Promise<string | undefined> {
  const column = quoteIdent(name);
  const first = async (where: string) => {
    const [row] = await session.query(`SELECT ${column}::VARCHAR AS v FROM (${sql}) AS s WHERE ${column} IS NOT NULL AND (${where}) LIMIT 1`).catch(() => []);
    return row?.v == null ? undefined : String(row.v);
  };
  const form = PLAIN_FORMS.find(([type]) => type.test(old))?.[1];
  // Dates and times the reader takes in the form it found in the file (13/02/2024), which a cast
  // does not read: only a value in the ISO form that no cast reads (2024-13-02) is a culprit.
  // Text with no digit at all (n/a, unknown) is no date of any form.
  if (/^(DATE|TIME|TIMESTAMP)/.test(old)) return first(`TRY_CAST(${column} AS ${old}) IS NULL AND (regexp_full_match(trim(${column}), '[0-9]{4}-[0-9]{2}-[0-9]{2}.*|[0-9]{2}:[0-9]{2}.*') OR NOT regexp_matches(${column}, '[0-9]'))`);
  return (await first(`TRY_CAST(${column} AS ${old}) IS NULL`)) ?? (form === undefined ? undefined : await first(`NOT regexp_full_match(trim(${column}), ${quoteLiteral(form)})`));
}

/** A seed's columns as the engine reads the file, or the engine's reason it cannot. */
type Described = { readonly columns: readonly Column[]; readonly refused?: undefined } | { readonly columns?: undefined; readonly refused: string };

/**
 * The file as the engine will load it, described once: DuckDB sniffs the file each time (tens
 * of ms for a large one). The columns of a file the engine read are kept by its content, how
 * it is read and the engine's version (see SeedVerdicts), so an unchanged seed is not sniffed
 * again in the next run.
 */
async function describedSeed(session: WarehouseSession, csv: CsvOrigin, sqlHash: string | undefined, verdicts: SeedVerdicts | undefined): Promise<Described> {
  const key = verdicts && sqlHash !== undefined ? SeedVerdicts.key(await engineVersion(session), ['columns', sqlHash, csv.read]) : undefined;
  const kept = key === undefined ? undefined : verdicts!.columns(key);
  if (kept) return { columns: kept };
  return session.dialect.describeQuery(session, session.dialect.seedSelect(csv.read)).then(
    (columns): Described => {
      if (key !== undefined && columns.length > 0) verdicts!.keepColumns(key, columns);
      return { columns };
    },
    (e: unknown): Described => ({ refused: warehouseMessage(e) }),
  );
}

/** The engine's type names, read once and only when a declared type is refused. */
class TypeNames {
  private names?: string[];
  constructor(private readonly session: WarehouseSession) {}

  /** The type a misspelt name probably meant; none when the name is a type already (its arguments are wrong). */
  async suggest(word: string): Promise<string | undefined> {
    this.names ??= await this.session.dialect.typeNames(this.session);
    return this.names.includes(word.toUpperCase()) ? undefined : didYouMean(word.toUpperCase(), this.names);
  }
}

/**
 * The declared types bound together, as the engine names them (`INT` is INTEGER), and when
 * that is refused each alone, so that every bad one is reported at its own line.
 */
async function declaredTypes(
  session: WarehouseSession,
  csv: CsvOrigin,
  typeNames: TypeNames,
): Promise<{ readonly problems: readonly Diagnostic[]; readonly types?: readonly SeedValueCheck[] }> {
  if (csv.columnTypes.length === 0) return { problems: [], types: [] };
  const bound = await session.query(session.dialect.typeProbe(csv.read.absPath, csv.columnTypes.map((d) => d.type))).then(
    (rows) => rows,
    (e: unknown) => (warehouseMessage(e), undefined),
  );
  if (bound) {
    const types = csv.columnTypes.map((d, i) => ({ column: d.column, type: String(bound[i]?.column_type ?? d.type), inferred: false }));
    return { problems: [], types };
  }
  const problems: Diagnostic[] = [];
  for (const d of csv.columnTypes) {
    const refused = await session.query(session.dialect.typeProbe(csv.read.absPath, [d.type])).then(
      () => undefined,
      (e: unknown) => warehouseMessage(e),
    );
    if (refused === undefined) continue;
    const unknown = session.dialect.isUnknownType(refused);
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(d.type.trim())?.[0];
    problems.push(
      error(
        'bad-column-type',
        unknown
          ? `column_types: '${d.type}' (column ${d.column}) is not a ${session.dialect.name} type`
          : `column_types: '${d.type}' (column ${d.column}) is not a valid type: ${session.dialect.headline(refused)}`,
        d.location,
        { hint: (unknown && word && (await typeNames.suggest(word))) || 'e.g. INTEGER, BIGINT, DOUBLE, DECIMAL(10,2), VARCHAR, DATE, TIMESTAMP' },
      ),
    );
  }
  return { problems };
}

/**
 * The file read as the engine will load it, without types: its columns, or why it cannot be
 * read. The columns must be the header's names as the file writes them: a table whose columns
 * the engine renamed (or whose header it took for a row) is not the file's.
 */
async function headerProblems(session: WarehouseSession, csv: CsvOrigin, described: Described): Promise<Diagnostic[]> {
  if (described.refused !== undefined) {
    let message = described.refused;
    // No consistent reading of the first rows names no line; reading the fields as text without inference does.
    if (session.dialect.csvFault(message)?.kind === 'unreadable') {
      message = await session.query(session.dialect.seedRowsAsText(csv.read, csv.names.length)).then(
        () => message,
        (e2: unknown) => warehouseMessage(e2),
      );
    }
    const problem = csvProblem(session.dialect.csvFault(message), csv);
    if (problem) return [error('bad-csv', problem.reason, problem.location)];
    const mixed = mixedLineEndInFile(csv.read.absPath);
    if (mixed) {
      return [
        error('bad-csv', `this line ends with ${mixed.ends} where the lines before it end with ${mixed.others}: ${session.dialect.name} cannot read a file whose line ends are mixed`, { file: csv.file, line: mixed.line }, {
          hint: 'save the file with one kind of line end',
        }),
      ];
    }
    return [error('bad-csv', `cannot be read: ${session.dialect.headline(message)}`, { file: csv.file })];
  }
  const columns = described.columns.map((c) => c.name);
  if (columns.length !== csv.names.length || columns.some((c, i) => c !== csv.names[i])) {
    return [
      error('bad-csv', `${session.dialect.name} reads the columns of ${csv.file} as ${columns.join(', ')}, not as its header line names them: ${csv.names.join(', ')}`, {
        file: csv.file,
        line: 1,
      }),
    ];
  }
  const have = new Set(columns.map((c) => c.toLowerCase()));
  return csv.columnTypes
    .filter((d) => !have.has(d.column.toLowerCase()))
    .map((d) =>
      error('unknown-column', `column_types names column '${d.column}', which ${csv.file} does not have`, d.location, {
        hint: didYouMean(d.column, columns) ?? `its columns: ${columns.join(', ')}`,
      }),
    );
}

/**
 * A dbt project's seed is loaded quoted as DuckDB's sniffer finds it, as dbt-duckdb's COPY
 * loads it (`'Doe'` as Doe, `''` as NULL), into the types dbt's agate reads from the file with
 * `"` quotes. The two readings must have the same rows and, value for value, the same text (or
 * that text within the sniffed quotes, or two quotes for NULL): where they do not (a quoted
 * value holding the delimiter, an escape), which values go in which columns is not sure, and
 * the seed is refused at the first line that differs.
 */
async function sniffedDialectProblems(session: WarehouseSession, csv: CsvOrigin): Promise<Diagnostic[]> {
  const [found] = await session.query(session.dialect.sniffedCsvDialect(csv.read)).catch(() => []);
  const quote = String(found?.quote ?? '');
  const escape = String(found?.escape ?? '');
  const unlike = [quote !== '' && quote !== '"' ? `${quote} as its quote character` : '', escape !== '' && escape !== '"' ? `${escape} as its escape character` : ''].filter(Boolean);
  if (unlike.length === 0) return [];
  const differs = await session.query(session.dialect.seedQuotingDisagreement(csv.read, quote === '' ? '"' : quote, escape, csv.names.length)).then(
    (rows) => (rows.length > 0 ? { row: Number(rows[0]!.row) } : undefined),
    () => ({ row: undefined }),
  );
  if (differs === undefined) return [];
  const delimiter = csv.read.delimiter ?? ',';
  // A reading that fails has a row of another width than the header's, read with " quotes.
  const at =
    firstRowWhere(csv.read.absPath, delimiter, differs.row === undefined ? (fields) => fields.length !== csv.names.length : (_, n) => n === differs.row) ??
    firstLineWith(csv.read.absPath, quote !== '' && quote !== '"' ? quote : escape, delimiter);
  return [
    error(
      'bad-csv',
      `dbt-duckdb loads ${csv.file} with ${unlike.join(' and ')} (DuckDB's CSV sniffer finds ${unlike.length > 1 ? 'them' : 'it'} in the file), and types its columns from the file read with " quotes (agate): here the two readings give other values, so which table dbt-duckdb makes is not sure`,
      { file: csv.file, ...at },
      { hint: `quote the values with " (and write a " inside them as ""), or leave the quotes out, so that both read the same table` },
    ),
  ];
}

/** The line (from 1) of the first row after the header, read with " quotes, that `test` holds for (`n` counts rows from 1); none if no row does. */
function firstRowWhere(absPath: string, delimiter: string, test: (fields: readonly string[], n: number) => boolean): { line: number } | undefined {
  let found: number | undefined;
  let n = 0;
  try {
    forEachCsvRow(readFileSync(absPath, 'utf8'), delimiter, (fields, line) => {
      // DuckDB skips a blank line of a seed of several columns.
      if (fields.length === 1 && fields[0] === '') return false;
      n++;
      if (test(fields, n)) found = line;
      return found !== undefined;
    });
  } catch {
    return undefined;
  }
  return found === undefined ? undefined : { line: found };
}

/** The first line (from 1) with a field that starts with `quote`, or holds `quote` at all; none if no line does. */
function firstLineWith(absPath: string, quote: string, delimiter: string): { line?: number } {
  const fieldStart = (l: string) => l.startsWith(quote) || l.includes(`${delimiter}${quote}`);
  return firstLine(absPath, fieldStart) ?? firstLine(absPath, (l) => l.includes(quote)) ?? {};
}

/** The first line (from 1) of the file that `test` holds for; undefined if none does. */
function firstLine(absPath: string, test: (line: string) => boolean): { line: number } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(absPath, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const i = lines.findIndex(test);
  return i >= 0 ? { line: i + 1 } : undefined;
}

/**
 * A blank line of a seed of one column is a row whose one field is empty, which loads as a row
 * of NULL (a seed of more columns skips it, as a row of too few fields would not load): said at
 * the first such line, the final line break doubled included.
 */
function blankLineWarnings(csv: CsvOrigin): Diagnostic[] {
  let lines: number[];
  try {
    lines = blankLines(readFileSync(csv.read.absPath, 'utf8'));
  } catch {
    return [];
  }
  if (lines.length === 0) return [];
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more blank line${lines.length > 2 ? 's' : ''})` : '';
  return [
    warning('blank-row', `a blank line in ${csv.file}, a seed of one column, loads as a row of NULL${more}`, { file: csv.file, line: lines[0] }, {
      hint: 'remove the blank lines (and a second line break at the end) unless they are rows without a value',
    }),
  ];
}

/** The columns of a pipe project's seed that column_types does not declare, typed by the engine's inference. */
function undeclared(csv: CsvOrigin, described: readonly Column[]): SeedValueCheck[] {
  const declared = new Set(csv.columnTypes.map((d) => d.column.toLowerCase()));
  return described.filter((c) => !declared.has(c.name.toLowerCase())).map((c) => ({ column: c.name, type: c.type, inferred: true }));
}

/**
 * Every value of a seed loads as what it reads as, or the seed is refused at the first one
 * that would not, until column_types says what its column is. A declared type would round
 * (1.7 into INTEGER, 10.005 into DECIMAL(10,2)), cut (a time of day into DATE) or drop a UTC
 * offset (into TIMESTAMP) without a word. DuckDB's inference, from the first rows, can make a
 * table that does not hold what the file says as well: those changes past the rows it read,
 * and whole numbers past BIGINT (or decimals of many digits) in a DOUBLE, hex or binary
 * numbers (0x1F) in an integer column, inf in a DATE. The whole file is read once when every
 * value passes, and once more for each column when one does not.
 */
async function valueProblems(session: WarehouseSession, csv: CsvOrigin, checks: readonly SeedValueCheck[]): Promise<Diagnostic[]> {
  // A malformed row past the first rows is the load's to report, at its line.
  const read = (sql: string) => session.query(sql).catch((e: unknown) => (warehouseMessage(e), []));
  const all = session.dialect.seedValueChanges(csv.read, checks);
  if (all === undefined || (await read(all)).length === 0) return [];
  const out: Diagnostic[] = [];
  let text: string | undefined;
  for (const check of checks) {
    const sql = session.dialect.seedValueChanges(csv.read, [check]);
    const [row] = sql === undefined ? [] : await read(sql);
    if (row?.value_0 == null) continue;
    const value = String(row.value_0);
    const column = csv.names.findIndex((n) => n.toLowerCase() === check.column.toLowerCase());
    text ??= readFileSync(csv.read.absPath, 'utf8');
    const line = lineOfValue(text, csv.read.delimiter ?? ',', column, value);
    const at = { file: csv.file, ...(line === undefined ? {} : { line }) };
    const change = String(row.change_0) as ValueChange;
    out.push(valueProblem(csv, { ...check, column: csv.names[column] ?? check.column }, value, change, row.became_0 == null ? undefined : String(row.became_0), at));
  }
  return out;
}

const scaleWord = (type: string): string => (/^DECIMAL/.test(type) ? `rounded to the decimals ${type} keeps` : `rounded to a whole number: ${type} keeps no decimals`);

function valueProblem(csv: CsvOrigin, check: SeedValueCheck, value: string, change: ValueChange, became: string | undefined, at: Location): Diagnostic {
  const { column, type } = check;
  const declaredAt = csv.columnTypes.find((d) => d.column.toLowerCase() === column.toLowerCase())?.location;
  const typed = check.inferred
    ? `column ${column} of ${csv.file} reads as ${type} (DuckDB's inference)`
    : `column ${column} of ${csv.file} is declared ${type}${declaredAt?.line ? ` (${declaredAt.file}:${declaredAt.line})` : ''}`;
  const quoted = JSON.stringify(value);
  const declare = check.inferred ? 'declare its type under column_types' : 'declare a type that holds it under column_types';
  switch (change) {
    case 'digits':
      return error('bad-csv', `${typed}, which keeps about 15 significant digits: ${value} would load as another number`, at, {
        hint: `declare its type under column_types: DECIMAL(38, s) or HUGEINT for numbers, VARCHAR for identifiers`,
      });
    case 'rounded': {
      const decimals = /\.([0-9]*[1-9])/.exec(value)?.[1].length ?? 1;
      // As many digits before the point as the type had.
      const decimal = /^DECIMAL\((\d+), ?(\d+)\)$/.exec(type);
      const whole = decimal ? Number(decimal[1]) - Number(decimal[2]) : 18;
      const wider = `DECIMAL(${Math.min(38, whole + decimals)}, ${decimals})`;
      return error('bad-csv', `${typed}: ${quoted} would load as ${became ?? 'another number'}, ${scaleWord(type)}`, at, {
        hint: `${declare}: ${wider} or DOUBLE for numbers with decimals, VARCHAR to keep the text`,
      });
    }
    case 'truncated':
      return error('bad-csv', `${typed}: ${quoted} would load as ${became ?? 'less than it says'}, cut to what ${type} keeps`, at, {
        hint: `${declare}: TIMESTAMP keeps the time of day (TIMESTAMPTZ an offset too), VARCHAR the text`,
      });
    case 'offset':
      return error('bad-csv', `${typed}: ${quoted} would load as ${became ?? 'another instant'}: ${type} drops the UTC offset, which makes it another instant`, at, {
        hint: `${declare}: TIMESTAMPTZ keeps the instant (TIMESTAMP the time as written, with the offset dropped by a model), VARCHAR the text`,
      });
    case 'notation':
      return error('bad-csv', `${typed}, which reads ${quoted} as the number ${became ?? '?'}: a value must load as what it reads as`, at, {
        hint: `${declare}: VARCHAR to keep the text, or ${type} to load the number`,
      });
    case 'range':
      return error('bad-csv', `${typed}: ${quoted} is past what ${type} holds, and would load as ${became ?? 'another number'}`, at, {
        hint: `${check.inferred ? 'declare its type under column_types' : 'declare another type under column_types'}: VARCHAR to keep the text`,
      });
    case 'infinite':
      return error('bad-csv', `${typed}, which reads ${quoted} as a date past all others (infinity)`, at, {
        hint: `${declare}: VARCHAR to keep the text, or ${type} to load infinity`,
      });
    default: {
      const never: never = change;
      throw new Error(`internal error: value change ${String(never)}`);
    }
  }
}

/**
 * Dates such as 01/02/2024 are read by DuckDB's inference day first or month first as its
 * sniffer guesses: refused at a value when every one reads either way (the whole file is
 * read for one that tells them apart), unless column_types declares the column.
 */
async function ambiguousDateProblems(session: WarehouseSession, csv: CsvOrigin, described: readonly Column[]): Promise<Diagnostic[]> {
  const declared = new Set(csv.columnTypes.map((d) => d.column.toLowerCase()));
  const dated = described.filter((c) => !declared.has(c.name.toLowerCase()) && (c.type === 'DATE' || c.type.startsWith('TIMESTAMP')));
  if (dated.length === 0) return [];
  const out: Diagnostic[] = [];
  const at = (value: string) => ({ file: csv.file, ...firstLine(csv.read.absPath, (l) => l.includes(value)) });
  const [formats] = await session.query(session.dialect.sniffedDateFormats(csv.read)).catch(() => []);
  for (const c of dated) {
    const format = String((c.type === 'DATE' ? formats?.date_format : formats?.timestamp_format) ?? '');
    // Year first (2024-01-02, 2024/01/02) is year, month, day wherever it is written.
    const [d, m, y] = ['%d', '%m', '%Y'].map((p) => format.indexOf(p));
    if (d < 0 || m < 0 || (y >= 0 && y < Math.min(d, m))) continue;
    const swapped = format.replace('%d', '\u0000').replace('%m', '%d').replace('\u0000', '%m');
    const [row] = await session.query(session.dialect.ambiguousDates(csv.read, c.name, format, swapped)).catch(() => []);
    if (row?.ambiguous !== true || row.example == null) continue;
    const example = String(row.example);
    out.push(
      error('bad-csv', `the dates of column ${c.name} of ${csv.file} read as ${format} (DuckDB's inference), and every one of them reads as ${swapped} too: ${example} could be either day`, at(example), {
        hint: `write them as YYYY-MM-DD, or declare ${c.name}: VARCHAR under column_types and read it with strptime in a model`,
      }),
    );
  }
  return out;
}

/** With quote_columns false, a column named by a keyword cannot be created: dbt-duckdb would fail. */
async function bareNameProblems(session: WarehouseSession, csv: CsvOrigin): Promise<Diagnostic[]> {
  const at = csv.bareNames;
  if (!at) return [];
  const out: Diagnostic[] = [];
  for (const name of csv.names) {
    const refused = await session.query(session.dialect.bareColumnProbe(name)).then(
      () => false,
      (e: unknown) => (warehouseMessage(e), true),
    );
    if (!refused) continue;
    out.push(
      error('bad-config', `quote_columns is false, and column '${name}' of ${csv.file} is a ${session.dialect.name} keyword: dbt-duckdb would fail to create the table`, at, {
        hint: 'remove quote_columns: false, or rename the column',
      }),
    );
  }
  return out;
}

/** A database error's message; anything else is a bug and goes on up. */
function warehouseMessage(e: unknown): string {
  if (e instanceof WarehouseError) return e.message;
  throw e;
}

/**
 * Before anything runs: the relation that types each input of a unit test (the input as built)
 * is there, or the run builds it before the test (not so `this`: the model is built after its
 * tests), and every column the test gives is one of its columns. A relation the run rebuilds is
 * read when the test runs, since the run may change its columns.
 */
export async function preflightUnitTests(session: WarehouseSession, tasks: readonly Task[]): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const rebuilt = new Set(tasks.filter((t) => t.kind !== 'test' && t.kind !== 'unit-test').map((t) => t.relation));
  const known = new Map<string, string[]>();
  for (const step of tasks.flatMap((t) => t.steps)) {
    if (step.kind !== 'unit-test') continue;
    for (const input of step.inputs) {
      if (input.rows.kind !== 'rows' || (rebuilt.has(input.relation) && input.label !== 'this')) continue;
      let columns = known.get(input.relation);
      if (!columns) {
        columns = (await session.dialect.describeRelation(session, input.relation)).map((c) => c.name);
        known.set(input.relation, columns);
      }
      if (columns.length === 0) {
        diagnostics.push(
          error('not-built', `unit test ${step.name}: the column types of ${input.label} come from ${input.relation}, which is not built`, input.location, {
            hint:
              input.label === 'this'
                ? `build it first: pipe run --select ${step.model} (its first build leaves this test out), or give its rows as format: sql`
                : "build it first (pipe run builds a model's inputs before its unit tests), or give its rows as format: sql",
          }),
        );
        continue;
      }
      const have = new Set(columns.map((c) => c.toLowerCase()));
      const unknown = input.rows.columns.find((c) => !have.has(c.toLowerCase()));
      if (unknown === undefined) continue;
      diagnostics.push(
        error('unknown-column', `unit test ${step.name}: ${input.label} has no column '${unknown}'`, input.location, {
          hint: didYouMean(unknown, columns) ?? `its columns: ${columns.join(', ')}`,
        }),
      );
    }
  }
  return diagnostics;
}
