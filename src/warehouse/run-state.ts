import { hostname } from 'node:os';
import { ownRelationName, quoteLiteral } from '../sql/sql-text.js';
import type { Dialect, RelationKind } from './dialect.js';
import { DUCKDB } from './duckdb/dialect.js';
import { BUILDS_ARCHIVE, BUILDS_DDL, BUILDS_RELATION_MIGRATION, BUILDS_TABLE, buildsRecordRelations, OUTCOME_COLUMNS } from './build-records.js';
import { gatheredAsJson, insertRowsSql, json, jsonRows, timestampFromMs } from './bulk-rows.js';
import { forgetStateShape, stateRelationColumns } from './state-shape.js';
import type { Row, WarehouseSession } from './warehouse.js';
import { byCodeUnit } from '../util/code-unit-order.js';

/**
 * Run state lives inside the warehouse, in the `_pipe` schema, so that a task's success row
 * commits in the same transaction as its data: state and data never disagree.
 *
 * Everything is appended, never updated: parallel workers, and on a lake other processes,
 * only ever INSERT, which cannot conflict, and every attempt stays on record. A task's status
 * is its latest outcome, or `pending` while it has none; a run's is its latest end in
 * `run_ends`, or `running` while it has none (see STATE_DDL).
 */

export const STATE_SCHEMA = '_pipe';
export const STAGING_PREFIX = '__pipe_stage__';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type TaskStatus = 'pending' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/**
 * The run state's tables. A run's start (`run_starts`) and its end (`run_ends`) are rows of
 * their own, and so are a task's plan (`planned_tasks`) and the hash of the SQL it ran when it
 * was rendered again as it ran (`task_sql`): nothing is ever updated. The views `runs` and
 * `tasks` read them together, each run with its latest end (or `running` while it has none),
 * each task with the hash it ran; they are what every query of pipe, and users, read.
 */
export const STATE_DDL: readonly string[] = [
  `CREATE SCHEMA IF NOT EXISTS ${STATE_SCHEMA}`,
  // `host`: the machine of the run's process; on a lake several machines write to, a run
  // still running is known dead only on its own machine.
  `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.run_starts (
    run_id VARCHAR, command VARCHAR, pipeline VARCHAR, params JSON, status VARCHAR,
    started_at TIMESTAMP, ended_at TIMESTAMP, parent_run_id VARCHAR, pid INTEGER, version VARCHAR, host VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.planned_tasks (
    run_id VARCHAR, task_id VARCHAR, node VARCHAR, kind VARCHAR, ds VARCHAR,
    interval_start TIMESTAMP, interval_end TIMESTAMP, upstream JSON, sql_hash VARCHAR, seq INTEGER)`,
  `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.run_ends (run_id VARCHAR, status VARCHAR, ended_at TIMESTAMP, recorded_at TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.task_sql (run_id VARCHAR, task_id VARCHAR, sql_hash VARCHAR)`,
  `CREATE VIEW IF NOT EXISTS ${STATE_SCHEMA}.runs AS
   SELECT r.* REPLACE (coalesce(e.status, r.status) AS status, coalesce(e.ended_at, r.ended_at) AS ended_at)
   FROM ${STATE_SCHEMA}.run_starts r LEFT JOIN (
     SELECT run_id, arg_max(status, recorded_at) AS status, arg_max(ended_at, recorded_at) AS ended_at FROM ${STATE_SCHEMA}.run_ends GROUP BY run_id
   ) e ON e.run_id = r.run_id`,
  `CREATE VIEW IF NOT EXISTS ${STATE_SCHEMA}.tasks AS
   SELECT t.* REPLACE (coalesce(h.sql_hash, t.sql_hash) AS sql_hash)
   FROM ${STATE_SCHEMA}.planned_tasks t LEFT JOIN (
     SELECT run_id, task_id, any_value(sql_hash) AS sql_hash FROM ${STATE_SCHEMA}.task_sql GROUP BY run_id, task_id
   ) h ON h.run_id = t.run_id AND h.task_id = t.task_id`,
  `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.task_outcomes (
    run_id VARCHAR, task_id VARCHAR, attempt INTEGER, status VARCHAR, started_at TIMESTAMP,
    ended_at TIMESTAMP, rows BIGINT, error VARCHAR, error_class VARCHAR, detail VARCHAR, worker INTEGER, runner VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.check_results (
    run_id VARCHAR, task_id VARCHAR, attempt INTEGER, check_name VARCHAR, severity VARCHAR, status VARCHAR,
    failing_rows BIGINT, sample JSON, checked_at TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.schedule (
    pipeline VARCHAR, fire_at TIMESTAMP, interval_label VARCHAR, run_id VARCHAR, triggered_at TIMESTAMP)`,
  `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.seeds (
    name VARCHAR, relation VARCHAR, hash VARCHAR, loaded_at TIMESTAMP, run_id VARCHAR)`,
  BUILDS_DDL,
];

/**
 * Every attempt's outcome: a success that published a build is in the build's row (see
 * build-records.ts OUTCOME_COLUMNS), every other outcome a row of `task_outcomes`. Once
 * superseded builds have been moved aside (see builds-archive.ts), their rows are read there too.
 */
function resultsViewSql(create: 'CREATE VIEW IF NOT EXISTS' | 'CREATE OR REPLACE VIEW', archived: boolean): string {
  const successes = (table: string) =>
    `SELECT run_id, task_id, attempt, 'succeeded', make_timestamp(started_at * 1000), make_timestamp(ended_at * 1000), rows,
     NULL, NULL, NULL, worker, runner
   FROM ${table} WHERE attempt IS NOT NULL`;
  return `${create} ${STATE_SCHEMA}.task_results AS
   SELECT run_id, task_id, attempt, status, started_at, ended_at, rows, error, error_class, detail, worker, runner FROM ${STATE_SCHEMA}.task_outcomes
   UNION ALL
   ${successes(BUILDS_TABLE)}${archived ? `\n   UNION ALL\n   ${successes(BUILDS_ARCHIVE)}` : ''}`;
}
const RESULTS_VIEW = resultsViewSql('CREATE VIEW IF NOT EXISTS', false);

/** The view of every attempt's outcome, reading the archive of superseded builds too (made with the archive: see builds-archive.ts). */
export const ARCHIVED_RESULTS_VIEW = resultsViewSql('CREATE OR REPLACE VIEW', true);

/**
 * A warehouse of an earlier pipe kept `runs` and `tasks` as tables whose rows it updated:
 * they become `run_starts` and `planned_tasks`, their rows kept (a run's end in its own row
 * still counts, under any later `run_ends`), before the views take their names.
 */
const MIGRATION: readonly string[] = [
  `ALTER TABLE ${STATE_SCHEMA}.runs RENAME TO run_starts`,
  `ALTER TABLE ${STATE_SCHEMA}.run_starts ADD COLUMN IF NOT EXISTS host VARCHAR`,
  `ALTER TABLE ${STATE_SCHEMA}.tasks RENAME TO planned_tasks`,
];

/**
 * An earlier pipe kept every task outcome in a table `task_results`: it becomes
 * `task_outcomes`, its rows kept, and the builds gain the columns of the outcomes they carry
 * (theirs stay empty), before the view takes the name.
 */
const OUTCOMES_MIGRATION = `ALTER TABLE ${STATE_SCHEMA}.task_results RENAME TO task_outcomes`;
const BUILDS_MIGRATION = OUTCOME_COLUMNS.map((c) => `ALTER TABLE ${BUILDS_TABLE} ADD COLUMN IF NOT EXISTS ${c.name} ${c.type}`);

/**
 * `worker` (which of the run's threads ran the task) came later: a warehouse whose
 * `task_results` has no such column gains it, its rows without one (read as unknown).
 */
const WORKER_MIGRATION = `ALTER TABLE ${STATE_SCHEMA}.task_results ADD COLUMN worker INTEGER`;

/**
 * `runner` (the `pipe worker` process that ran the task, in a distributed backfill: its --name
 * or host:pid) came later still, the same way.
 */
const RUNNER_MIGRATION = `ALTER TABLE ${STATE_SCHEMA}.task_results ADD COLUMN runner VARCHAR`;

/**
 * The columns of the state's relation `name` (a table or a view), none when it does not exist:
 * looked up by name, where duckdb_tables() lists every table of the warehouse (a tenth of a
 * second at 10,000 tables, for every question).
 */
function stateColumns(session: WarehouseSession, name: string): Promise<Set<string>> {
  return stateRelationColumns(session, `${STATE_SCHEMA}.${name}`);
}

/** Whether the warehouse has the state relation `name` (a table or a view). */
export async function stateHas(session: WarehouseSession, name: string): Promise<boolean> {
  return (await stateColumns(session, name)).size > 0;
}

/** Which of the later columns (worker, runner) the table of task results `table` has (see WORKER_MIGRATION). */
async function resultColumns(session: WarehouseSession, table: string): Promise<Set<string>> {
  if ((await session.query(session.dialect.tableExists(STATE_SCHEMA, table))).length === 0) return new Set();
  const columns = await session.dialect.describeQuery(session, `SELECT * FROM ${STATE_SCHEMA}.${table}`);
  return new Set(columns.map((c) => c.name));
}

/**
 * The later columns the warehouse's task results have: an earlier pipe's table `task_results`
 * until the warehouse is written again (see OUTCOMES_MIGRATION), else this pipe's, which has them all.
 */
async function taskResultColumns(session: WarehouseSession): Promise<Set<string>> {
  const outcomes = await stateColumns(session, 'task_outcomes');
  return outcomes.size > 0 ? outcomes : resultColumns(session, 'task_results');
}

/** Whether the warehouse's task results say which worker ran each task (see WORKER_MIGRATION). */
export async function recordsWorkers(session: WarehouseSession): Promise<boolean> {
  return (await taskResultColumns(session)).has('worker');
}

const lit = (v: string | undefined | null) => (v === undefined || v === null ? 'NULL' : quoteLiteral(v));
/**
 * The statements below are written before a session is at hand (the plan carries some of
 * them), so they use the default dialect; queries use their session's.
 */
const ts = (ms: number | undefined) => (ms === undefined ? 'NULL' : DUCKDB.timestamp(ms));
const finite = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? undefined : Math.round(n));

export interface RunRecord {
  readonly runId: string;
  readonly command: string;
  readonly pipeline?: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly startedAt: number;
  readonly parentRunId?: string;
  readonly version: string;
}

export function insertRunSql(run: RunRecord): string {
  return `INSERT INTO ${STATE_SCHEMA}.run_starts (run_id, command, pipeline, params, status, started_at, ended_at, parent_run_id, pid, version, host) VALUES (${lit(
    run.runId,
  )}, ${lit(run.command)}, ${lit(run.pipeline)}, ${lit(JSON.stringify(run.params))}, 'running', ${ts(run.startedAt)}, NULL, ${lit(run.parentRunId)}, ${
    process.pid
  }, ${lit(run.version)}, ${lit(hostname())})`;
}

/** The table of the run state that a message of DuckDB's says does not exist, if it is one of the run state's. */
export function missingStateTable(message: string): string | undefined {
  const m = /^Catalog Error: Table with name (\w+) does not exist!/.exec(message);
  return m && STATE_TABLES.includes(m[1]) ? m[1] : undefined;
}

/** The run state's own tables (and views), by name. */
const STATE_TABLES = ['run_starts', 'planned_tasks', 'run_ends', 'task_sql', 'runs', 'tasks', 'task_outcomes', 'check_results', 'schedule', 'seeds', 'task_results', 'builds'];

/** A run's end: never `running`, which is a run without one (recoverAfterCrash reads it so). */
export type RunEndStatus = Exclude<RunStatus, 'running'>;

export function finishRunSql(runId: string, status: RunEndStatus, endedAt: number): string {
  return `INSERT INTO ${STATE_SCHEMA}.run_ends VALUES (${lit(runId)}, ${lit(status)}, ${ts(endedAt)}, ${ts(Date.now())})`;
}

export interface PlannedTaskRecord {
  readonly id: string;
  readonly node: string;
  readonly kind: string;
  readonly ds?: string;
  readonly intervalStart?: number;
  readonly intervalEnd?: number;
  readonly upstream: readonly string[];
  readonly sqlHash?: string;
}

/** The planned tasks of a run, so that never-started ones can be found again after a crash. */
export function insertTasksSql(runId: string, tasks: readonly PlannedTaskRecord[]): string[] {
  const sql = insertRowsSql(
    `${STATE_SCHEMA}.planned_tasks`,
    [
      { name: 'run_id', type: 'VARCHAR' },
      { name: 'task_id', type: 'VARCHAR' },
      { name: 'node', type: 'VARCHAR' },
      { name: 'kind', type: 'VARCHAR' },
      { name: 'ds', type: 'VARCHAR' },
      { name: 'interval_start', type: 'BIGINT', value: timestampFromMs },
      { name: 'interval_end', type: 'BIGINT', value: timestampFromMs },
      { name: 'upstream', type: 'VARCHAR', value: json },
      { name: 'sql_hash', type: 'VARCHAR' },
      { name: 'seq', type: 'INTEGER' },
    ],
    tasks.map((t, seq) => ({
      run_id: runId,
      task_id: t.id,
      node: t.node,
      kind: t.kind,
      ds: t.ds,
      interval_start: t.intervalStart,
      interval_end: t.intervalEnd,
      upstream: JSON.stringify(t.upstream),
      sql_hash: t.sqlHash,
      seq,
    })),
  );
  return sql === undefined ? [] : [sql];
}

/** A task rendered again as it ran (see plan/task.ts RenderAtRun): the hash of the SQL it runs replaces the planned one. */
export function taskSqlHashSql(runId: string, taskId: string, sqlHash: string): string {
  return `INSERT INTO ${STATE_SCHEMA}.task_sql VALUES (${lit(runId)}, ${lit(taskId)}, ${lit(sqlHash)})`;
}

export interface TaskResultRecord {
  readonly runId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly status: Exclude<TaskStatus, 'pending'>;
  readonly startedAt?: number;
  readonly endedAt: number;
  readonly rows?: number;
  readonly error?: string;
  readonly errorClass?: string;
  readonly detail?: string;
  /** Which of the run's threads (1..threads) ran it; absent for a task no thread took (skipped after a failure). */
  readonly worker?: number;
  /** The `pipe worker` process that ran it, in a distributed backfill. */
  readonly runner?: string;
}

export function taskResultSql(r: TaskResultRecord): string {
  return taskResultsSql([r]);
}

/** Several task outcomes in one statement. */
export function taskResultsSql(records: readonly TaskResultRecord[]): string {
  const sql = insertRowsSql(
    `${STATE_SCHEMA}.task_outcomes`,
    [
      { name: 'run_id', type: 'VARCHAR' },
      { name: 'task_id', type: 'VARCHAR' },
      { name: 'attempt', type: 'INTEGER' },
      { name: 'status', type: 'VARCHAR' },
      { name: 'started_at', type: 'BIGINT', value: timestampFromMs },
      { name: 'ended_at', type: 'BIGINT', value: timestampFromMs },
      { name: 'rows', type: 'BIGINT' },
      { name: 'error', type: 'VARCHAR' },
      { name: 'error_class', type: 'VARCHAR' },
      { name: 'detail', type: 'VARCHAR' },
      { name: 'worker', type: 'INTEGER' },
      { name: 'runner', type: 'VARCHAR' },
    ],
    records.map((r) => ({
      run_id: r.runId,
      task_id: r.taskId,
      attempt: r.attempt,
      status: r.status,
      started_at: r.startedAt,
      ended_at: r.endedAt,
      rows: finite(r.rows),
      error: r.error,
      error_class: r.errorClass,
      detail: r.detail,
      worker: finite(r.worker),
      runner: r.runner,
    })),
  );
  if (sql === undefined) throw new Error('internal error: no task outcome to record');
  return sql;
}

export interface CheckResultRecord {
  readonly runId: string;
  readonly taskId: string;
  readonly attempt: number;
  readonly check: string;
  readonly severity: 'error' | 'warn';
  /** What the check decided: a dbt test may pass with failures under its thresholds. */
  readonly status: 'passed' | 'warned' | 'failed';
  readonly failingRows: number;
  readonly sample: readonly Record<string, unknown>[];
  readonly at: number;
}

export function checkResultSql(r: CheckResultRecord): string {
  return `INSERT INTO ${STATE_SCHEMA}.check_results VALUES (${lit(r.runId)}, ${lit(r.taskId)}, ${r.attempt}, ${lit(r.check)}, ${lit(
    r.severity,
  )}, ${lit(r.status)}, ${r.failingRows}, ${lit(JSON.stringify(r.sample))}, ${ts(r.at)})`;
}

export function seedLoadedSql(name: string, relation: string, hash: string, runId: string, at: number): string {
  return `INSERT INTO ${STATE_SCHEMA}.seeds VALUES (${lit(name)}, ${lit(relation)}, ${lit(hash)}, ${ts(at)}, ${lit(runId)})`;
}

/** The relations of the state, as STATE_DDL and RESULTS_VIEW create them (lower-case). */
const STATE_RELATIONS: readonly string[] = [...STATE_DDL, RESULTS_VIEW].flatMap((ddl) => {
  const m = new RegExp(`^CREATE (?:TABLE|VIEW) IF NOT EXISTS ${STATE_SCHEMA}\\.(\\w+)`).exec(ddl);
  return m ? [m[1].toLowerCase()] : [];
});

/**
 * Creates the state schema if needed, moving an earlier pipe's to this one's in one
 * transaction. `listed`: the warehouse's relations as listed under this very hold, nothing
 * written since; when every relation of the state is there, and nothing is left to move,
 * nothing is sent (the transaction of some twenty statements took 9-26 ms of every command).
 */
export async function ensureState(session: WarehouseSession, listed?: readonly FoundRelation[]): Promise<void> {
  // This pipe's state has `task_outcomes`: nothing earlier is left to move.
  const moved = await stateHas(session, 'task_outcomes');
  if (moved && listed !== undefined && (await buildsRecordRelations(session))) {
    const there = new Set(listed.filter((r) => r.schema.toLowerCase() === STATE_SCHEMA).map((r) => r.name.toLowerCase()));
    if (STATE_RELATIONS.every((name) => there.has(name))) return;
  }
  const earlier = !moved && (await session.query(session.dialect.tableExists(STATE_SCHEMA, 'runs'))).length > 0;
  // A table of the name is an earlier pipe's (a view now): see OUTCOMES_MIGRATION.
  const columns = moved ? new Set<string>() : await resultColumns(session, 'task_results');
  const hasResults = columns.size > 0;
  const added = [...(columns.has('worker') ? [] : [WORKER_MIGRATION]), ...(columns.has('runner') ? [] : [RUNNER_MIGRATION])];
  const move = hasResults ? { before: [...added, OUTCOMES_MIGRATION], after: BUILDS_MIGRATION } : { before: [], after: [] };
  // Builds of an earlier pipe's warehouse gain the relation each wrote (see BUILDS_RELATION_MIGRATION).
  const relation = (await stateHas(session, 'builds')) && !(await buildsRecordRelations(session)) ? [BUILDS_RELATION_MIGRATION] : [];
  forgetStateShape(session);
  try {
    await session.transaction([...(earlier ? MIGRATION : []), ...move.before, ...STATE_DDL, ...move.after, ...relation, RESULTS_VIEW]);
  } finally {
    forgetStateShape(session);
  }
}

/** On a warehouse other processes write to: whether the process of a run still runs. */
export interface RunLiveness {
  /** Whether process `pid` of machine `host`, running at `startedMs`, is alive, as far as this machine can tell (another machine's: assumed so). */
  alive(pid: number, host: string | null, startedMs: number | undefined): boolean;
}

/**
 * Records the end of runs whose process is gone: `succeeded` when every one of its tasks had
 * committed, else `interrupted` (what `pipe retry` starts from). Only runs still `running` are
 * ended; one already ended keeps its end.
 */
export async function endDeadRuns(session: WarehouseSession, runIds: readonly string[]): Promise<void> {
  if (runIds.length === 0) return;
  await session.exec(
    `INSERT INTO ${STATE_SCHEMA}.run_ends
     SELECT r.run_id,
       CASE WHEN EXISTS (
           SELECT 1 FROM ${STATE_SCHEMA}.tasks t WHERE t.run_id = r.run_id AND NOT EXISTS (
             SELECT 1 FROM ${STATE_SCHEMA}.task_results x WHERE x.run_id = t.run_id AND x.task_id = t.task_id AND x.status = 'succeeded'))
         THEN 'interrupted' ELSE 'succeeded' END,
       coalesce((SELECT max(ended_at) FROM ${STATE_SCHEMA}.task_results t WHERE t.run_id = r.run_id), r.started_at),
       ${ts(Date.now())}
     FROM ${STATE_SCHEMA}.run_starts r WHERE r.run_id IN (${runIds.map(quoteLiteral).join(', ')})
       AND NOT EXISTS (SELECT 1 FROM ${STATE_SCHEMA}.run_ends e WHERE e.run_id = r.run_id)`,
  );
}

/** The tasks of a run with an outcome on record. */
export async function taskIdsWithResults(session: WarehouseSession, runId: string): Promise<Set<string>> {
  const rows = await session.query(`SELECT DISTINCT task_id FROM ${STATE_SCHEMA}.task_results WHERE run_id = ${quoteLiteral(runId)}`);
  return new Set(rows.map((r) => String(r.task_id)));
}

/**
 * Called when pipe opens the warehouse for writing. A run still marked `running` whose
 * process died is `succeeded` when every one of its tasks had committed (the process died
 * between its last task and the run's own record), else `interrupted`. On a DuckDB file one
 * process holds the file, so every such run is dead, and every staging table left over: they
 * are dropped (pipe's own scratch space, their names quoted like every other identifier pipe
 * writes: a table name is data, never SQL). On a lake other processes write to (`liveness`),
 * only runs whose process is known dead are recovered, and staging tables are left alone: a
 * live run may be using one, and the next build of its model replaces it.
 */
export async function recoverAfterCrash(
  session: WarehouseSession,
  liveness?: RunLiveness,
  /** The warehouse's relations as listed under this very hold, nothing written since: the staging tables are found there. */
  listed?: readonly FoundRelation[],
): Promise<{ interruptedRuns: string[]; droppedStaging: string[] }> {
  // The runs view's `running` (no end on record), read without grouping every run's ends as
  // the view does: both grow with the runs on record, the anti join about a third less
  // (100,000 runs, as a command's first read: 55-80 ms against 94-105 ms). No end is ever
  // recorded as `running` (RunEndStatus).
  const running = await session.query(
    `SELECT run_id, pid, host, epoch_ms(started_at) AS started_ms FROM ${STATE_SCHEMA}.run_starts r ANTI JOIN ${STATE_SCHEMA}.run_ends e USING (run_id) WHERE r.status = 'running'`,
  );
  const dead = running.filter(
    (r) =>
      !liveness ||
      (r.pid !== null &&
        !liveness.alive(Number(r.pid), r.host === null || r.host === undefined ? null : String(r.host), r.started_ms === null || r.started_ms === undefined ? undefined : Number(r.started_ms))),
  );
  const interruptedRuns = dead.map((r) => String(r.run_id));
  await endDeadRuns(session, interruptedRuns);
  const droppedStaging: string[] = [];
  if (liveness) return { interruptedRuns, droppedStaging };
  const staging = listed
    ? listed.filter((r) => r.type === 'table' && r.name.startsWith(STAGING_PREFIX))
    : (await session.query(session.dialect.tablesStartingWith(STAGING_PREFIX))).map((r) => ({ database: String(r.database_name), schema: String(r.schema_name), name: String(r.table_name) }));
  for (const r of staging) {
    const rel = ownRelationName(r.database, r.schema, r.name);
    await session.exec(`DROP TABLE IF EXISTS ${rel}`);
    droppedStaging.push(rel);
  }
  return { interruptedRuns, droppedStaging };
}

export type RelationType = RelationKind;

/** Every user relation in the warehouse, as `"schema"."name"` -> table or view. */
/**
 * The relations in the warehouse by `"schema"."name"`. DuckDB matches names without regard
 * to case (`Orders` and `orders` are one table), and so do lookups here: a model renamed
 * from `dimcustomer` to `DimCustomer` finds its existing table.
 */
export class Catalog extends Map<string, RelationType> {
  /**
   * The relations as the listing of the warehouse named them (readCatalog), in their own case:
   * what a process holding the file, with nothing written since, finds here instead of listing
   * the warehouse again (each listing costs DuckDB about 5 µs a table: 50 ms at 10,000). Absent
   * on a catalog made otherwise.
   */
  listed?: readonly FoundRelation[];

  override get(relation: string): RelationType | undefined {
    return super.get(relation.toLowerCase());
  }

  override has(relation: string): boolean {
    return super.has(relation.toLowerCase());
  }

  override set(relation: string, type: RelationType): this {
    return super.set(relation.toLowerCase(), type);
  }

  /** The relations of one type. */
  only(type: RelationType): Catalog {
    const out = new Catalog();
    for (const [relation, t] of this) if (t === type) out.set(relation, t);
    return out;
  }
}

export async function readCatalog(session: WarehouseSession): Promise<Catalog> {
  const rows = await session.query(session.dialect.relations());
  const out = new Catalog();
  const listed: FoundRelation[] = [];
  for (const r of rows) {
    const found = { database: String(r.database_name), schema: String(r.schema_name), name: String(r.name), type: r.type as RelationType };
    out.set(ownRelationName(found.database, found.schema, found.name), found.type);
    listed.push(found);
  }
  out.listed = listed;
  return out;
}

/** A relation in the warehouse, by schema and name as DuckDB reports them. */
export interface FoundRelation {
  /** The warehouse's own database, which a schema of its name is named with (see ownRelationName). */
  readonly database: string;
  readonly schema: string;
  readonly name: string;
  readonly type: RelationType;
}

/**
 * The tables and views, outside pipe's own schema, named after a node of any run pipe has
 * recorded: what pipe built, to be told apart from what it builds now. The tasks record a
 * node's name, not its schema, so a relation of that name in any schema is found. One query,
 * run once per run.
 */
export async function readRelationsOfRecordedNodes(
  session: WarehouseSession,
  /** The warehouse's relations as listed under this very hold, nothing written since: only the recorded names are read then. */
  listed?: readonly FoundRelation[],
): Promise<FoundRelation[]> {
  if (listed) {
    // The planned tasks' own column: the tasks view joins each task's SQL hash in besides
    // (900,000 tasks on record, as a command's first read: 34-36 ms against 7-16 ms).
    const recorded = await session.query(`SELECT DISTINCT node FROM ${STATE_SCHEMA}.planned_tasks`);
    const names = new Set(recorded.map((r) => String(r.node).toLowerCase()));
    return listed
      .filter((r) => r.schema !== STATE_SCHEMA && names.has(r.name.toLowerCase()))
      .sort((a, b) => byCodeUnit(a.schema, b.schema) || byCodeUnit(a.name, b.name));
  }
  const rows = await session.query(
    `SELECT database_name, schema_name, name, type FROM (
       ${session.dialect.relations()}
     ) WHERE schema_name <> '${STATE_SCHEMA}' AND lower(name) IN (SELECT lower(node) FROM ${STATE_SCHEMA}.planned_tasks)
     ORDER BY schema_name ASC, name ASC`,
  );
  return rows.map((r) => ({ database: String(r.database_name), schema: String(r.schema_name), name: String(r.name), type: r.type as RelationType }));
}

/**
 * Latest loaded hash of each seed; for one whose table another seed's load or a model's build
 * wrote since (one took its name while it was disabled, a model of the seed's own name too), `WRITTEN_BY` and that node's name,
 * which no seed's hash is: the table holds that node's rows, and the seed loads again.
 */
export async function readSeedHashes(session: WarehouseSession): Promise<Map<string, string>> {
  const byModels = (await stateHas(session, 'builds')) && (await buildsRecordRelations(session));
  const rows = await session.query(
    `WITH latest AS (
       SELECT name, arg_max(hash, loaded_at) AS hash, lower(arg_max(relation, loaded_at)) AS relation, max(loaded_at) AS at FROM ${STATE_SCHEMA}.seeds GROUP BY name
     ),
     writes AS (
       SELECT name AS node, true AS seed, lower(relation) AS relation, loaded_at AS at FROM ${STATE_SCHEMA}.seeds
       ${byModels ? `UNION ALL SELECT node, false, lower(relation), make_timestamp(built_at * 1000) FROM ${BUILDS_TABLE} WHERE kind = 'build' AND relation IS NOT NULL` : ''}
     )
     SELECT l.name, l.hash, (SELECT arg_max(CASE WHEN w.seed THEN 'the seed ' || w.node WHEN w.node = l.name THEN 'the model ' || w.node ELSE w.node END, w.at) FROM writes w WHERE w.relation = l.relation AND (w.node <> l.name OR NOT w.seed) AND w.at > l.at) AS written_by FROM latest l`,
  );
  return new Map(rows.map((r) => [String(r.name), r.written_by === null ? String(r.hash) : `${WRITTEN_BY}${String(r.written_by)}`]));
}

/** What readSeedHashes gives for a seed whose table another node wrote since its load, before that node's name (`the seed x` for a seed). */
export const WRITTEN_BY = 'written-by:';

export interface RunSummaryRow extends Row {
  run_id: string;
  command: string;
  pipeline: string | null;
  status: RunStatus;
  started_at: string;
  ended_at: string | null;
  params: string;
  parent_run_id: string | null;
  /** From its start to its end as recorded, to the millisecond; null while it goes on. */
  duration_ms: number | null;
  tasks: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled: number;
  pending: number;
  /** The last `pipe retry` of this run (following retries of retries), and how it ended. */
  retried_by: string | null;
  retry_status: string | null;
  /** A later run that did the same work and succeeded (see COMPLETED_BY), when this one did not. */
  completed_by: string | null;
}

/**
 * Each task's latest attempt, all its fields from that one attempt: a field the latest attempt
 * left empty (no error after a success, no "will retry" after the last try) stays empty, never
 * filled in from an earlier attempt. A task that never started (skipped, cancelled before it
 * ran) made no attempt: its count is empty, not the 1 its outcome is recorded under.
 */
/** The runs a query reads: one, those listed, those a subquery names, or (undefined) every run. */
type RunsRead = string | readonly string[] | { readonly in: string } | undefined;

function latestResults(d: Dialect, columns: ReadonlySet<string> = new Set(), runId?: RunsRead): string {
  const latest = (value: string) => d.latest(value, `attempt * 1000000000000 + ${d.epochMs('ended_at')}`);
  return `(SELECT run_id, task_id, ${latest('status')} AS status, ${columns.has('worker') ? latest('worker') : 'NULL::INTEGER'} AS worker,
    ${columns.has('runner') ? latest('runner') : 'NULL::VARCHAR'} AS runner,
    CASE WHEN min(started_at) IS NULL AND ${latest('status')} IN ('skipped', 'cancelled') THEN NULL ELSE max(attempt) END AS attempts,
    min(started_at) AS started_at, max(ended_at) AS ended_at,
    ${latest('rows')} AS rows,
    ${latest('error')} AS error,
    ${latest('detail')} AS detail
  FROM ${STATE_SCHEMA}.task_results ${ofRun('run_id', runId)} GROUP BY run_id, task_id)`;
}

/**
 * The condition that keeps the rows of one run when `runId` is given, or of the runs it lists
 * or its subquery names (none otherwise): written into each part of a query that reads some
 * runs, so that reading them costs what they hold, not what the whole history does.
 */
function ofRun(column: string, runId: RunsRead): string {
  if (runId === undefined) return '';
  if (typeof runId === 'string') return `WHERE ${column} = ${quoteLiteral(runId)}`;
  if ('in' in runId) return `WHERE ${column} IN (${runId.in})`;
  return runId.length === 0 ? 'WHERE FALSE' : `WHERE ${column} IN (${runId.map(quoteLiteral).join(', ')})`;
}

/** Which runs a list shows: only those of these statuses, only those older than the run `before` (the last of the page before). */
export interface RunsPage {
  readonly statuses?: readonly RunStatus[];
  readonly before?: string;
}

/** The runs listed after `runId` (newest first: started earlier, or at once with a smaller id). */
function olderThan(runId: string): string {
  const startedAt = `(SELECT started_at FROM ${STATE_SCHEMA}.runs WHERE run_id = ${quoteLiteral(runId)})`;
  return `(r.started_at < ${startedAt} OR (r.started_at = ${startedAt} AND r.run_id < ${quoteLiteral(runId)}))`;
}

/** The latest runs, newest first; or the one run `runId`. */
export async function listRuns(session: WarehouseSession, limit: number, runId?: string, page: RunsPage = {}): Promise<RunSummaryRow[]> {
  const where = [
    ...(runId === undefined ? [] : [`r.run_id = ${quoteLiteral(runId)}`]),
    ...(page.statuses === undefined ? [] : [page.statuses.length === 0 ? 'FALSE' : `r.status IN (${page.statuses.map(quoteLiteral).join(', ')})`]),
    ...(page.before === undefined ? [] : [olderThan(page.before)]),
  ];
  const count = Math.max(1, Math.floor(limit));
  // The runs of the page first, then the tasks and outcomes of those alone: counting every
  // run's tasks to keep a page of them made pipe history and the UI's runs page grow with the
  // history (100,000 runs of nine tasks: 2.3 s a page, against 0.5 s for four runs).
  const runs: string | readonly string[] =
    runId ??
    (
      await session.query(
        `SELECT r.run_id FROM ${STATE_SCHEMA}.runs r ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
         ORDER BY r.started_at DESC, r.run_id DESC LIMIT ${count}`,
      )
    ).map((r) => String(r.run_id));
  if (runs.length === 0) return [];
  const rows = await session.query(
    `SELECT ${runColumns(session)},
        count(t.task_id)::INTEGER AS tasks,
        count(*) FILTER (WHERE l.status = 'succeeded')::INTEGER AS succeeded,
        count(*) FILTER (WHERE l.status = 'failed')::INTEGER AS failed,
        count(*) FILTER (WHERE l.status = 'skipped')::INTEGER AS skipped,
        count(*) FILTER (WHERE l.status = 'cancelled')::INTEGER AS cancelled,
        count(t.task_id) FILTER (WHERE l.status IS NULL)::INTEGER AS pending,
        retried.parent_run_id IS NOT NULL AS retried
     FROM ${STATE_SCHEMA}.runs r
     LEFT JOIN (SELECT DISTINCT parent_run_id FROM ${STATE_SCHEMA}.run_starts ${ofRun('parent_run_id', runs)}) retried ON retried.parent_run_id = r.run_id
     LEFT JOIN (SELECT * FROM ${STATE_SCHEMA}.tasks ${ofRun('run_id', runs)}) t USING (run_id)
     LEFT JOIN ${latestResults(session.dialect, undefined, runs)} l ON l.run_id = t.run_id AND l.task_id = t.task_id
     ${ofRun('r.run_id', runs)} ${where.map((w) => `AND ${w}`).join(' ')}
     GROUP BY ALL ORDER BY any_value(r.started_at) DESC, r.run_id DESC LIMIT ${count}`,
  );
  return withFamily(session, rows);
}

/** A run's own columns, as a run summary gives them (`r` the `runs` view). */
function runColumns(session: WarehouseSession): string {
  return `r.run_id, r.command, r.pipeline, r.status, strftime(r.started_at, '%Y-%m-%d %H:%M:%S') AS started_at,
        strftime(r.ended_at, '%Y-%m-%d %H:%M:%S') AS ended_at, r.params::VARCHAR AS params, r.parent_run_id,
        (${session.dialect.epochMs('r.ended_at')} - ${session.dialect.epochMs('r.started_at')})::DOUBLE AS duration_ms`;
}

/**
 * One run's summary and its tasks, as listRuns and runTasks give them: its counts are those of
 * the tasks read, which saves DuckDB joining the same tasks and outcomes a second time (every
 * run reads its own as it ends, for the last line of its log: 7-10 ms of a run's 100).
 */
export async function runWithTasks(session: WarehouseSession, runId: string): Promise<{ run: RunSummaryRow; tasks: TaskRow[] } | undefined> {
  const [row] = await session.query(
    `SELECT ${runColumns(session)}, EXISTS (SELECT 1 FROM ${STATE_SCHEMA}.run_starts WHERE parent_run_id = ${quoteLiteral(runId)}) AS retried
     FROM ${STATE_SCHEMA}.runs r WHERE r.run_id = ${quoteLiteral(runId)}`,
  );
  if (!row) return undefined;
  const tasks = await runTasks(session, runId);
  const counted = (status: TaskStatus) => tasks.filter((t) => t.status === status).length;
  const counts = {
    tasks: tasks.length,
    succeeded: counted('succeeded'),
    failed: counted('failed'),
    skipped: counted('skipped'),
    cancelled: counted('cancelled'),
    pending: counted('pending'),
  };
  const [run] = await withFamily(session, [{ ...row, ...counts }]);
  return { run, tasks };
}

/** Run rows with their last retry (following retries of retries) and the later run that completed each unfinished one. */
async function withFamily(session: WarehouseSession, rows: readonly Row[]): Promise<RunSummaryRow[]> {
  // A retry may itself be retried: follow each run's latest retry to the last of the family
  // (asked only when a run listed was retried: a run's own summary at its end never was).
  const latestRetry = new Map<string, Row>();
  if (rows.some((r) => r.retried === true)) {
    const children = await session.query(
      `SELECT parent_run_id, arg_max(run_id, started_at) AS run_id, arg_max(status, started_at) AS status
       FROM ${STATE_SCHEMA}.runs WHERE parent_run_id IS NOT NULL GROUP BY parent_run_id`,
    );
    for (const c of children) latestRetry.set(String(c.parent_run_id), c);
  }
  const completed = new Map<string, string>();
  const unfinished = rows.filter((r) => r.status !== 'succeeded').map((r) => quoteLiteral(String(r.run_id)));
  if (unfinished.length > 0) {
    const later = await session.query(
      `SELECT r.run_id, arg_min(l.run_id, l.started_at) AS by FROM ${STATE_SCHEMA}.runs r JOIN ${STATE_SCHEMA}.runs l ON ${COMPLETED_BY('l', 'r')}
       WHERE r.run_id IN (${unfinished.join(', ')}) GROUP BY r.run_id`,
    );
    for (const c of later) completed.set(String(c.run_id), String(c.by));
  }
  return rows.map((r) => {
    let child: Row | undefined;
    for (let at = latestRetry.get(String(r.run_id)), hops = 0; at && hops < 1000; at = latestRetry.get(String(at.run_id)), hops++) child = at;
    const { retried: _retried, ...run } = r;
    return {
      ...run,
      retried_by: child ? String(child.run_id) : null,
      retry_status: child ? String(child.status) : null,
      completed_by: completed.get(String(r.run_id)) ?? null,
    } as RunSummaryRow;
  });
}

export interface TaskRow extends Row {
  task_id: string;
  node: string;
  kind: string;
  ds: string | null;
  status: TaskStatus;
  attempts: number | null;
  started_at: string | null;
  ended_at: string | null;
  rows: number | null;
  error: string | null;
  detail: string | null;
  sql_hash: string | null;
  /** Which thread of the run ran its latest attempt; null when not recorded (a warehouse of an earlier pipe, a task no thread took). */
  worker: number | null;
  /** The `pipe worker` process that ran its latest attempt, in a distributed backfill. */
  runner: string | null;
}

const TASK_COLUMNS = ['task_id', 'node', 'kind', 'ds', 'status', 'attempts', 'started_at', 'ended_at', 'rows', 'error', 'detail', 'sql_hash', 'worker', 'runner'];

/**
 * The tasks of a run in their order, with their latest outcomes, read as one JSON text (see
 * gatheredAsJson): every run reads its own at its end, for the last line of its log.
 */
export async function runTasks(session: WarehouseSession, runId: string): Promise<TaskRow[]> {
  return (await tasksOfRuns(session, [runId])).get(runId) ?? [];
}

/**
 * The tasks of each of `runIds` as runTasks reads them, in one query: the runs page lists 25
 * runs with their tasks, which took a query per run (5-10 ms each however few their tasks).
 * A run without tasks (or unknown) has none in the map.
 */
export async function tasksOfRuns(session: WarehouseSession, runIds: readonly string[]): Promise<Map<string, TaskRow[]>> {
  const out = new Map<string, TaskRow[]>();
  if (runIds.length === 0) return out;
  const rows = await session.query(
    `SELECT run_id, ${gatheredAsJson(TASK_COLUMNS, 'seq')} AS tasks FROM (
       SELECT t.run_id, t.seq, t.task_id, t.node, t.kind, t.ds, coalesce(l.status, 'pending') AS status, l.attempts,
         strftime(l.started_at, '%Y-%m-%d %H:%M:%S') AS started_at, strftime(l.ended_at, '%Y-%m-%d %H:%M:%S') AS ended_at,
         l.rows::DOUBLE AS rows, l.error, l.detail, t.sql_hash, l.worker, l.runner
       FROM ${STATE_SCHEMA}.tasks t
       LEFT JOIN ${latestResults(session.dialect, await taskResultColumns(session), runIds)} l ON l.run_id = t.run_id AND l.task_id = t.task_id
       ${ofRun('t.run_id', runIds)})
     GROUP BY run_id`,
  );
  for (const r of rows) out.set(String(r.run_id), jsonRows<TaskRow>(r.tasks));
  return out;
}

export async function runExists(session: WarehouseSession, runId: string): Promise<boolean> {
  const rows = await session.query(`SELECT 1 FROM ${STATE_SCHEMA}.runs WHERE run_id = ${quoteLiteral(runId)}`);
  return rows.length > 0;
}

/** Whether the warehouse has run state: this pipe's, or an earlier one's not yet moved (whose `runs` is a table). */
export async function stateExists(session: WarehouseSession): Promise<boolean> {
  return stateHas(session, 'runs');
}

export interface RunRow extends Row {
  run_id: string;
  command: string;
  pipeline: string | null;
  status: RunStatus;
  params: string;
  parent_run_id: string | null;
}

export async function getRun(session: WarehouseSession, runId: string): Promise<RunRow | undefined> {
  const rows = await session.query(
    `SELECT run_id, command, pipeline, status, params::VARCHAR AS params, parent_run_id FROM ${STATE_SCHEMA}.runs WHERE run_id = ${quoteLiteral(runId)}`,
  );
  return rows[0] as RunRow | undefined;
}

/**
 * Runs `l` that did the same work as run `r` later and succeeded: a `pipe run` of the same
 * pipeline, interval, selection and vars. Such a run completed `r`, which is then not retried.
 */
// A retry of a run records the run's parameters, and its command as original_command: a later run of them completes it too.
const COMPLETED_BY = (l: string, r: string) => `${l}.command = 'run' AND (${r}.command = 'run' OR (${r}.command = 'retry' AND (${r}.params->>'original_command') = 'run')) AND ${l}.status = 'succeeded'
    AND ${l}.started_at > ${r}.started_at AND ${l}.pipeline IS NOT DISTINCT FROM ${r}.pipeline
    AND (${l}.params->>'ds') = (${r}.params->>'ds') AND (${l}.params->>'hour') IS NOT DISTINCT FROM (${r}.params->>'hour')
    AND (${l}.params->'select')::VARCHAR = (${r}.params->'select')::VARCHAR AND (${l}.params->'exclude')::VARCHAR = (${r}.params->'exclude')::VARCHAR
    AND (${l}.params->'vars')::VARCHAR = (${r}.params->'vars')::VARCHAR`;

/**
 * The run `pipe retry` picks by default: the latest build (run, backfill, watch, or a retry of
 * one) that did not fully succeed and that no later retry has taken up. A `pipe test` builds
 * nothing: it is retried only when named.
 */
export async function latestUnfinishedRun(session: WarehouseSession): Promise<RunRow | undefined> {
  // The runs that did not succeed first, by their status alone: most often none, and then
  // nothing more is read. Their params are read as JSON only then, and the runs that may have
  // completed one only from the earliest of them on, which DuckDB skips to by the start times
  // (100,000 runs: each run's params read as JSON and the runs view joined three times took
  // 0.27-0.34 s where nothing was unfinished).
  const [first] = await session.query(`SELECT epoch_us(min(started_at)) AS since FROM ${STATE_SCHEMA}.runs WHERE status <> 'succeeded'`);
  if (first?.since === null || first?.since === undefined) return undefined;
  const since = `make_timestamp(${BigInt(first.since as bigint | number | string).toString()}::BIGINT)`;
  const rows = await session.query(
    `WITH u AS MATERIALIZED (SELECT * FROM ${STATE_SCHEMA}.runs WHERE status <> 'succeeded' AND started_at >= ${since})
     SELECT run_id, command, pipeline, status, params::VARCHAR AS params, parent_run_id FROM u r
     WHERE command <> 'test' AND coalesce(params->>'original_command', '') <> 'test'
       AND NOT EXISTS (SELECT 1 FROM ${STATE_SCHEMA}.run_starts c WHERE c.parent_run_id = r.run_id)
       AND NOT EXISTS (SELECT 1 FROM ${STATE_SCHEMA}.runs l WHERE l.started_at > ${since} AND ${COMPLETED_BY('l', 'r')})
     ORDER BY started_at DESC, run_id DESC LIMIT 1`,
  );
  return rows[0] as RunRow | undefined;
}

/**
 * Tasks of a run that have not succeeded, neither in it nor in any retry descending from it:
 * failed, skipped, cancelled and never started.
 */
export async function unfinishedTasks(session: WarehouseSession, runId: string): Promise<{ taskId: string; status: TaskStatus; sqlHash?: string }[]> {
  const rows = await session.query(
    `WITH RECURSIVE family(run_id) AS (
        SELECT ${quoteLiteral(runId)}
        UNION SELECT r.run_id FROM ${STATE_SCHEMA}.run_starts r JOIN family f ON r.parent_run_id = f.run_id
     ),
     done AS (
        SELECT DISTINCT task_id FROM ${STATE_SCHEMA}.task_results
        WHERE run_id IN (SELECT run_id FROM family) AND status = 'succeeded'
     )
     SELECT t.task_id, coalesce(l.status, 'pending') AS status, t.sql_hash
     FROM ${STATE_SCHEMA}.tasks t
     LEFT JOIN ${latestResults(session.dialect, undefined, runId)} l ON l.run_id = t.run_id AND l.task_id = t.task_id
     WHERE t.run_id = ${quoteLiteral(runId)} AND t.task_id NOT IN (SELECT task_id FROM done) AND t.kind <> 'run-hook'
     ORDER BY t.seq ASC`,
  );
  return rows.map((r) => ({ taskId: String(r.task_id), status: r.status as TaskStatus, ...(r.sql_hash == null ? {} : { sqlHash: String(r.sql_hash) }) }));
}

/** The nodes a run (or a retry of it) published a task of: what it built, which the warehouse holds unless it was dropped since. */
export async function nodesBuiltBy(session: WarehouseSession, runId: string): Promise<Set<string>> {
  const rows = await session.query(
    `WITH RECURSIVE family(run_id) AS (
        SELECT ${quoteLiteral(runId)}
        UNION SELECT r.run_id FROM ${STATE_SCHEMA}.run_starts r JOIN family f ON r.parent_run_id = f.run_id
     )
     SELECT DISTINCT t.node FROM ${STATE_SCHEMA}.task_results x
     JOIN ${STATE_SCHEMA}.tasks t ON t.run_id = x.run_id AND t.task_id = x.task_id
     WHERE x.run_id IN (SELECT run_id FROM family) AND x.status = 'succeeded'`,
  );
  return new Set(rows.map((r) => String(r.node)));
}

/**
 * How each node's tasks ended in the latest build that had a task for it (a run, backfill,
 * watch build or retry of one; `pipe test` builds nothing): each task's latest attempt, and
 * whether a check of it failed or warned there. With `before`, only builds that started
 * before the first run of that run's family (the run it retries, however many times).
 */
export async function latestNodeResults(session: WarehouseSession, before?: string): Promise<{ node: string; status: TaskStatus; checks: 'failed' | 'warned' | null }[]> {
  const cutoff =
    before === undefined
      ? ''
      : `AND r.started_at < (WITH RECURSIVE up(run_id, parent) AS (
            SELECT run_id, parent_run_id FROM ${STATE_SCHEMA}.run_starts WHERE run_id = ${quoteLiteral(before)}
            UNION SELECT r2.run_id, r2.parent_run_id FROM ${STATE_SCHEMA}.run_starts r2 JOIN up ON r2.run_id = up.parent
          ) SELECT min(x.started_at) FROM ${STATE_SCHEMA}.run_starts x JOIN up USING (run_id))`;
  // The runs' and tasks' own tables (what is read of them is not what the views change), and
  // the outcomes and checks of the latest builds alone: every task's latest outcome was worked
  // out before, 0.7 s of 0.9 s at 100,000 runs of nine tasks (now 0.2 s; the latest build of
  // each node still reads every planned task).
  const rows = await session.query(
    `WITH builds AS (
        SELECT run_id, started_at FROM ${STATE_SCHEMA}.run_starts r
        WHERE command <> 'test' AND coalesce(params->>'original_command', '') <> 'test' ${cutoff}
     ),
     latest AS MATERIALIZED (
        SELECT t.node, arg_max(t.run_id, b.started_at) AS run_id
        FROM ${STATE_SCHEMA}.planned_tasks t JOIN builds b USING (run_id) WHERE t.kind <> 'run-hook' GROUP BY t.node
     ),
     checks AS (
        SELECT run_id, task_id, bool_or(status = 'failed') AS failed, bool_or(status = 'warned') AS warned
        FROM ${STATE_SCHEMA}.check_results WHERE run_id IN (SELECT run_id FROM latest) GROUP BY run_id, task_id
     )
     SELECT DISTINCT t.node, coalesce(l.status, 'pending') AS status,
        CASE WHEN c.failed THEN 'failed' WHEN c.warned THEN 'warned' END AS checks
     FROM ${STATE_SCHEMA}.planned_tasks t JOIN latest USING (node, run_id)
     LEFT JOIN ${latestResults(session.dialect, undefined, { in: 'SELECT run_id FROM latest' })} l ON l.run_id = t.run_id AND l.task_id = t.task_id
     LEFT JOIN checks c ON c.run_id = t.run_id AND c.task_id = t.task_id
     WHERE t.kind <> 'run-hook'`,
  );
  return rows.map((r) => ({ node: String(r.node), status: r.status as TaskStatus, checks: (r.checks ?? null) as 'failed' | 'warned' | null }));
}

/** Which of these task ids have succeeded in some run. */
export async function succeededTaskIds(session: WarehouseSession, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await session.query(
    `SELECT DISTINCT task_id FROM ${STATE_SCHEMA}.task_results WHERE status = 'succeeded' AND ${session.dialect.memberOf('task_id', ids)}`,
  );
  return new Set(rows.map((r) => String(r.task_id)));
}

/** The earliest interval (its label) each node has a succeeded task of; a node with none is absent. */
export async function firstSucceeded(session: WarehouseSession, nodes: readonly string[]): Promise<Map<string, string>> {
  if (nodes.length === 0) return new Map();
  const rows = await session.query(
    `SELECT t.node, min(t.ds) AS first FROM ${STATE_SCHEMA}.task_results r JOIN ${STATE_SCHEMA}.planned_tasks t ON t.run_id = r.run_id AND t.task_id = r.task_id
     WHERE r.status = 'succeeded' AND t.ds IS NOT NULL AND ${session.dialect.memberOf('t.node', nodes)} GROUP BY t.node`,
  );
  return new Map(rows.map((r) => [String(r.node), String(r.first)]));
}

/**
 * How the detail of a task starts when it left a table or view as it was because a newer
 * build stood there: a retry's task that a later run published since, or a task whose run
 * was for an older interval than a run of the same process that published it first. Such a
 * task counts as done, and is not a publication (see laterPublications).
 */
export const SUPERSEDED = 'superseded';

/**
 * How the detail of a task starts when it did not run because its output was current (see
 * state/currency.ts): done, and not a publication either.
 */
export const UP_TO_DATE = 'up to date';

/** The detail of a superseded task: who published the relation (later, or for a newer interval), and how to rebuild it anyway. */
export function supersededDetail(task: { readonly node: string; readonly ds?: string }, by: { readonly runId: string; readonly ds?: string | null }, how: 'later' | 'for a newer interval'): string {
  const when = how === 'later' ? ` published it later${by.ds ? ` (${by.ds})` : ''}` : ` published it for a newer interval${by.ds ? ` (${by.ds})` : ''}`;
  // An hour's label (2024-01-02T13) is given to pipe run as its date and hour.
  const hour = task.ds === undefined ? undefined : /^(\d{4}-\d{2}-\d{2})T(\d{2})$/.exec(task.ds);
  const date = hour ? ` --date ${hour[1]} --hour ${Number(hour[2])}` : task.ds ? ` --date ${task.ds}` : '';
  return `${SUPERSEDED}: run ${by.runId}${when}; pipe run --select ${task.node}${date} rebuilds it for this ${hour ? 'hour' : 'date'}`;
}

/**
 * What a run outside `runId`'s family (its retries) published after `runId` started, with the
 * latest such run and its date: rebuilding it for `runId` would put older data over newer.
 * `byNode`: the nodes of tasks of `kinds` (what every build writes whole or merges into: a
 * table, a view, a merge by key); `byTask`: the tasks of `intervalKinds` (a partition, a
 * batch: an interval another run's task of the same id replaced).
 */
export async function laterPublications(
  session: WarehouseSession,
  runId: string,
  kinds: readonly string[],
  intervalKinds: readonly string[] = [],
): Promise<{ readonly byNode: Map<string, LaterPublication>; readonly byTask: Map<string, LaterPublication> }> {
  // A retry's retry does the work of the run first retried: later is later than that run, and
  // its retries are its own (a run published since would be overwritten by an older interval).
  const root = await originalRun(session, runId);
  // An earlier pipe's builds record no relation: then by node alone.
  const relations = await buildsRecordRelations(session);
  // By the relation in lower case, as DuckDB names tables (and laterKey keys them): `"main"."B"`
  // and `"main"."b"` are one table, whose latest publication is the later of the two.
  const relation = relations ? 'lower(b.relation)' : 'NULL';
  // A build moved aside since (see builds-archive.ts) wrote its relation all the same.
  const builds = (await stateHas(session, 'builds_archive'))
    ? `(SELECT run_id, task_id, kind, relation FROM ${BUILDS_TABLE} UNION ALL SELECT run_id, task_id, kind, relation FROM ${BUILDS_ARCHIVE})`
    : BUILDS_TABLE;
  const published = async (of: readonly string[], key: 't.node' | 't.task_id') => {
    if (of.length === 0) return new Map<string, LaterPublication>();
    const latest = (column: string) => session.dialect.latest(column, 'x.ended_at');
    const rows = await session.query(
      `WITH RECURSIVE family(run_id) AS (
          SELECT ${quoteLiteral(root)}
          UNION SELECT r.run_id FROM ${STATE_SCHEMA}.run_starts r JOIN family f ON r.parent_run_id = f.run_id
       )
       SELECT ${key} AS k, ${relation} AS relation, arg_max(x.run_id, x.ended_at) AS run_id, ${latest('t.ds')} AS ds,
         ${session.dialect.epochMs(latest('x.started_at'))} AS started_at, ${latest('t.sql_hash')} AS sql_hash,
         ${session.dialect.epochMs(latest('t.interval_start'))} AS interval_start, ${session.dialect.epochMs(latest('t.interval_end'))} AS interval_end
       FROM ${STATE_SCHEMA}.task_results x
       JOIN ${STATE_SCHEMA}.tasks t ON t.run_id = x.run_id AND t.task_id = x.task_id
       ${relations ? `LEFT JOIN ${builds} b ON b.run_id = x.run_id AND b.task_id = x.task_id AND b.kind = 'build'` : ''}
       WHERE x.status = 'succeeded' AND t.kind IN (${of.map(quoteLiteral).join(', ')})
         AND (x.detail IS NULL OR NOT (starts_with(x.detail, ${quoteLiteral(SUPERSEDED)}) OR starts_with(x.detail, ${quoteLiteral(UP_TO_DATE)})))
         AND x.run_id NOT IN (SELECT run_id FROM family)
         AND x.ended_at > (SELECT started_at FROM ${STATE_SCHEMA}.runs WHERE run_id = ${quoteLiteral(root)})
       GROUP BY ${key}${relations ? ', lower(b.relation)' : ''}`,
    );
    const known = (v: unknown) => (v === null || v === undefined ? undefined : v);
    return new Map(
      rows.map((r) => [
        laterKey(String(r.k), known(r.relation) === undefined ? undefined : String(r.relation)),
        {
          runId: String(r.run_id),
          ds: r.ds === null ? null : String(r.ds),
          startedAt: known(r.started_at) === undefined ? undefined : Number(r.started_at),
          sqlHash: known(r.sql_hash) === undefined ? undefined : String(r.sql_hash),
          intervalStart: known(r.interval_start) === undefined ? undefined : Number(r.interval_start),
          intervalEnd: known(r.interval_end) === undefined ? undefined : Number(r.interval_end),
        },
      ]),
    );
  };
  return { byNode: await published(kinds, 't.node'), byTask: await published(intervalKinds, 't.task_id') };
}

/** The run a chain of retries began with: `runId` itself when it retries none. */
async function originalRun(session: WarehouseSession, runId: string): Promise<string> {
  const rows = await session.query(
    `WITH RECURSIVE up(run_id, parent_run_id, depth) AS (
        SELECT run_id, parent_run_id, 0 FROM ${STATE_SCHEMA}.run_starts WHERE run_id = ${quoteLiteral(runId)}
        UNION ALL SELECT r.run_id, r.parent_run_id, u.depth + 1 FROM ${STATE_SCHEMA}.run_starts r JOIN up u ON r.run_id = u.parent_run_id
     )
     SELECT arg_max(run_id, depth) AS run_id FROM up`,
  );
  const found = rows[0]?.run_id;
  return typeof found === 'string' ? found : runId;
}

/**
 * How laterPublications keys a publication: by node (or task) and the relation it wrote, as
 * builds record it; a build recorded without one (an earlier pipe's) by node alone.
 */
export function laterKey(node: string, relation: string | undefined): string {
  return relation === undefined ? node : `${node}\u0000${relation.toLowerCase()}`;
}

/** A later run's publication of a relation or an interval (see laterPublications). */
export interface LaterPublication {
  readonly runId: string;
  readonly ds: string | null;
  /** When its task began to read what it was built from (ms since the epoch). */
  readonly startedAt?: number;
  readonly sqlHash?: string;
  /** The interval it was built for (ms since the epoch). */
  readonly intervalStart?: number;
  readonly intervalEnd?: number;
}

/**
 * When each node was last published to (ms since the epoch): by any run, a task that wrote
 * (not one left as it was, superseded or up to date).
 */
export async function lastPublished(session: WarehouseSession): Promise<Map<string, number>> {
  const rows = await session.query(
    `SELECT t.node AS node, ${session.dialect.epochMs('max(x.ended_at)')} AS at
     FROM ${STATE_SCHEMA}.task_results x
     JOIN ${STATE_SCHEMA}.tasks t ON t.run_id = x.run_id AND t.task_id = x.task_id
     WHERE x.status = 'succeeded' AND (x.detail IS NULL OR NOT (starts_with(x.detail, ${quoteLiteral(SUPERSEDED)}) OR starts_with(x.detail, ${quoteLiteral(UP_TO_DATE)})))
     GROUP BY t.node`,
  );
  return new Map(rows.map((r) => [String(r.node), Number(r.at)]));
}

export function scheduledSql(pipeline: string, fireAt: number, label: string, runId: string, at: number): string {
  return `INSERT INTO ${STATE_SCHEMA}.schedule VALUES (${lit(pipeline)}, ${ts(fireAt)}, ${lit(label)}, ${lit(runId)}, ${ts(at)})`;
}

export interface ScheduleState {
  /** The latest fire time handled (triggered), per pipeline. */
  readonly lastFire: Map<string, number>;
  /** The interval label the latest fire handled covered, per pipeline (as the schedule then was: it may have changed since). */
  readonly lastLabel?: Map<string, string>;
  /** Intervals whose triggered run never finished (the scheduler died or was stopped, or the run could not start), per pipeline. */
  readonly unfinished: Map<string, { fireAt: number; label: string; runId: string }[]>;
  /** Interval labels with a succeeded run (scheduled or not, retries included), per pipeline. */
  readonly succeeded: Map<string, Set<string>>;
}

export async function readScheduleState(session: WarehouseSession): Promise<ScheduleState> {
  const last = await session.query(`SELECT pipeline, ${session.dialect.epochMs('max(fire_at)')} AS t, arg_max(interval_label, fire_at) AS label FROM ${STATE_SCHEMA}.schedule GROUP BY pipeline`);
  const done = await session.query(
    `WITH RECURSIVE fam(root, run_id) AS (
        SELECT run_id, run_id FROM ${STATE_SCHEMA}.run_starts WHERE parent_run_id IS NULL
        UNION ALL SELECT f.root, r.run_id FROM ${STATE_SCHEMA}.run_starts r JOIN fam f ON r.parent_run_id = f.run_id)
     SELECT DISTINCT o.pipeline, o.params->>'ds' AS ds, o.params->>'hour' AS hour
     FROM fam JOIN ${STATE_SCHEMA}.runs o ON o.run_id = fam.root JOIN ${STATE_SCHEMA}.runs r ON r.run_id = fam.run_id
     WHERE o.command IN ('run', 'watch') AND o.pipeline IS NOT NULL AND r.status = 'succeeded'`,
  );
  // A triggered interval whose run was never recorded (it could not start: its Postgres gone,
  // the warehouse held) is unfinished too: it was handled, and must not be left out.
  const stuck = await session.query(
    `SELECT s.pipeline, ${session.dialect.epochMs('s.fire_at')} AS t, s.interval_label, s.run_id FROM ${STATE_SCHEMA}.schedule s
     LEFT JOIN ${STATE_SCHEMA}.runs r ON r.run_id = s.run_id
     WHERE (r.run_id IS NULL OR r.status IN ('interrupted', 'cancelled', 'running'))
       AND NOT EXISTS (SELECT 1 FROM ${STATE_SCHEMA}.runs c WHERE c.parent_run_id = s.run_id)
     ORDER BY s.fire_at ASC, coalesce(r.started_at, s.triggered_at) ASC`,
  );
  const succeeded = new Map<string, Set<string>>();
  for (const r of done) {
    const label = r.hour === null || r.hour === undefined ? String(r.ds) : `${String(r.ds)}T${String(r.hour).padStart(2, '0')}`;
    const set = succeeded.get(String(r.pipeline)) ?? new Set<string>();
    set.add(label);
    succeeded.set(String(r.pipeline), set);
  }
  const unfinished = new Map<string, { fireAt: number; label: string; runId: string }[]>();
  for (const r of stuck) {
    const list = unfinished.get(String(r.pipeline)) ?? [];
    list.push({ fireAt: Number(r.t), label: String(r.interval_label), runId: String(r.run_id) });
    unfinished.set(String(r.pipeline), list);
  }
  return { lastFire: new Map(last.map((r) => [String(r.pipeline), Number(r.t)])), lastLabel: new Map(last.map((r) => [String(r.pipeline), String(r.label)])), unfinished, succeeded };
}
