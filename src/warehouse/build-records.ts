import { quoteLiteral } from '../sql/sql-text.js';
import { stateRelationColumns } from './state-shape.js';
import type { WarehouseSession } from './warehouse.js';
import { gatheredAsJson, insertRowsSql, json, jsonRows, type BulkColumn } from './bulk-rows.js';
import { byCodeUnit } from '../util/code-unit-order.js';
import { partitionPoint } from '../util/partition-point.js';
import { isHourLabel } from '../dates/dates.js';

/**
 * The record of every publication (`_pipe.builds`), appended in the publishing transaction of
 * the task that wrote it: what was built (node and interval key), from what (the SQL run, the
 * config that shapes the table, the versions of the inputs read) and the data version that
 * came out. A `reset` row says that a run built the model's table from nothing (it was absent,
 * or fully refreshed): the builds before it no longer describe what the table holds.
 *
 * Nothing here updates or deletes: the latest row of a node and key is its truth. Rows a later
 * row makes irrelevant to every reader are moved to the archive from time to time (see
 * builds-archive.ts).
 */

export const BUILDS_TABLE = '_pipe.builds';

/**
 * Where builds no reader of the latest ones needs are moved (see builds-archive.ts), made by
 * the first such move: with the builds, the whole record.
 */
export const BUILDS_ARCHIVE = '_pipe.builds_archive';

/**
 * The success of the task that published a build, in the build's own row (see
 * run-state.ts: `_pipe.task_results` reads them with the other outcomes): one row appended in
 * the publishing transaction rather than two, which DuckDB writes at half the cost. Empty in
 * reset rows and in the rows a full refresh's swap writes for the dates it publishes.
 */
export const OUTCOME_COLUMNS: readonly { readonly name: string; readonly type: string }[] = [
  { name: 'attempt', type: 'INTEGER' },
  { name: 'started_at', type: 'BIGINT' },
  { name: 'ended_at', type: 'BIGINT' },
  { name: 'rows', type: 'BIGINT' },
  { name: 'worker', type: 'INTEGER' },
  { name: 'runner', type: 'VARCHAR' },
];

export const BUILDS_DDL = `CREATE TABLE IF NOT EXISTS ${BUILDS_TABLE} (
    run_id VARCHAR, task_id VARCHAR, node VARCHAR, key VARCHAR, kind VARCHAR,
    interval_start BIGINT, interval_end BIGINT, sql_hash VARCHAR, config_hash VARCHAR,
    inputs JSON, version VARCHAR, untracked VARCHAR, built_at BIGINT${OUTCOME_COLUMNS.map((c) => `, ${c.name} ${c.type}`).join('')}, relation VARCHAR)`;

/**
 * `relation` (the relation a build wrote, `"schema"."name"`) came later: a warehouse whose
 * builds have no such column gains it, its rows without one (which then tell no relation).
 */
export const BUILDS_RELATION_MIGRATION = `ALTER TABLE ${BUILDS_TABLE} ADD COLUMN relation VARCHAR`;

/** The success of the attempt that published a build (epoch milliseconds); see OUTCOME_COLUMNS. */
export interface BuildOutcome {
  readonly attempt: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly rows?: number;
  readonly worker?: number;
  readonly runner?: string;
}

/** A publication of one node for one key: `''` for a model built whole, else its interval's label. */
export interface BuildRecord {
  readonly runId: string;
  readonly taskId: string;
  readonly node: string;
  readonly key: string;
  readonly interval?: { readonly start: number; readonly end: number };
  readonly sqlHash: string;
  readonly configHash: string;
  /** Input key -> the version read (see input-versions.ts). */
  readonly inputs: Readonly<Record<string, string>>;
  readonly version: string;
  /** Set when the task always runs: why (its version is then unique to its run). */
  readonly untracked?: string;
  /** Epoch milliseconds, when the publishing transaction was built. */
  readonly builtAt: number;
  /** The relation it wrote (`"schema"."name"`); absent in records of earlier pipes. */
  readonly relation?: string;
  /** As read back: how long the attempt that published it took, when its row says. */
  readonly tookMs?: number;
}

const lit = (v: string | undefined) => (v === undefined ? 'NULL' : quoteLiteral(v));
const int = (n: number | undefined) => (n === undefined ? 'NULL' : String(Math.round(n)));

/** The build's row; with `outcome`, the success of the task that published it in the same row. */
export function insertBuildSql(b: BuildRecord, outcome?: BuildOutcome): string {
  const recorded = outcome ? `, ${outcome.attempt}, ${int(outcome.startedAt)}, ${int(outcome.endedAt)}, ${int(outcome.rows)}, ${int(outcome.worker)}, ${lit(outcome.runner)}` : '';
  return `INSERT INTO ${BUILDS_TABLE} (run_id, task_id, node, key, kind, interval_start, interval_end, sql_hash, config_hash, inputs, version, untracked, built_at${
    outcome ? `, ${OUTCOME_COLUMNS.map((c) => c.name).join(', ')}` : ''
  }${b.relation === undefined ? '' : ', relation'}) VALUES (${lit(b.runId)}, ${lit(b.taskId)}, ${lit(b.node)}, ${lit(b.key)}, 'build', ${int(b.interval?.start)}, ${int(b.interval?.end)}, ${lit(
    b.sqlHash,
  )}, ${lit(b.configHash)}, ${lit(JSON.stringify(sortedKeys(b.inputs)))}, ${lit(b.version)}, ${lit(b.untracked)}, ${int(b.builtAt)}${recorded}${b.relation === undefined ? '' : `, ${lit(b.relation)}`})`;
}

/** Builds with the successes that published them, in one statement (see insertBuildSql); undefined for none. */
export function insertBuildsSql(published: readonly { readonly build: BuildRecord; readonly outcome: BuildOutcome }[]): string | undefined {
  const columns: readonly BulkColumn[] = [
    ...['run_id', 'task_id', 'node', 'key', 'kind'].map((name) => ({ name, type: 'VARCHAR' as const })),
    { name: 'interval_start', type: 'BIGINT' },
    { name: 'interval_end', type: 'BIGINT' },
    { name: 'sql_hash', type: 'VARCHAR' },
    { name: 'config_hash', type: 'VARCHAR' },
    { name: 'inputs', type: 'VARCHAR', value: json },
    { name: 'version', type: 'VARCHAR' },
    { name: 'untracked', type: 'VARCHAR' },
    { name: 'built_at', type: 'BIGINT' },
    ...OUTCOME_COLUMNS.map((c) => ({ name: c.name, type: c.type as BulkColumn['type'] })),
    { name: 'relation', type: 'VARCHAR' },
  ];
  const round = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? undefined : Math.round(n));
  return insertRowsSql(
    BUILDS_TABLE,
    columns,
    published.map(({ build: b, outcome: o }) => ({
      run_id: b.runId,
      task_id: b.taskId,
      node: b.node,
      key: b.key,
      kind: 'build',
      interval_start: round(b.interval?.start),
      interval_end: round(b.interval?.end),
      sql_hash: b.sqlHash,
      config_hash: b.configHash,
      inputs: JSON.stringify(sortedKeys(b.inputs)),
      version: b.version,
      untracked: b.untracked,
      built_at: round(b.builtAt),
      attempt: o.attempt,
      started_at: round(o.startedAt),
      ended_at: round(o.endedAt),
      rows: round(o.rows),
      worker: round(o.worker),
      runner: o.runner,
      relation: b.relation,
    })),
  );
}

/** Marks the builds of each of `nodes` so far as no longer describing its table (see the module comment), in one statement. */
export function insertResetsSql(runId: string, nodes: readonly string[], at: number): string {
  const columns = [
    { name: 'run_id', type: 'VARCHAR' },
    { name: 'node', type: 'VARCHAR' },
    { name: 'key', type: 'VARCHAR' },
    { name: 'kind', type: 'VARCHAR' },
    { name: 'built_at', type: 'BIGINT' },
  ] as const;
  const sql = insertRowsSql(BUILDS_TABLE, columns, nodes.map((node) => ({ run_id: runId, node, key: '', kind: 'reset', built_at: Math.round(at) })));
  if (sql === undefined) throw new Error('internal error: no reset to record');
  return sql;
}

function sortedKeys(o: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => byCodeUnit(a, b)));
}

/** The latest failed attempt (the last of its retries) of a node's task for a key, or of any of its tasks (key `''`). */
export interface FailureRecord {
  readonly runId: string;
  readonly taskId: string;
  readonly at: number;
  readonly error?: string;
}

/**
 * What the warehouse records of the nodes' builds: per node and key, the latest valid build
 * (after the node's latest reset), and the latest failures. Updated in memory by a run as its
 * tasks publish, so that one read serves a whole run.
 */
/** The latest build that wrote a relation, whichever node it was of. */
export interface RelationWriter {
  readonly node: string;
  /** A seed's load, or a model's (or snapshot's) build: a seed and a model may have one name. */
  readonly seed?: true;
  readonly runId: string;
  readonly builtAt: number;
}

/** Whose writes a writer's are: a node, a seed told from a model of its name. */
const writerKey = (w: { readonly node: string; readonly seed?: true }) => `${w.seed ? 'seed' : 'model'}:${w.node}`;

export class LatestBuilds {
  private readonly builds = new Map<string, Map<string, BuildRecord>>();
  /** The latest write of each node into each relation, by the relation's name in lower case (DuckDB's names are), then by node. */
  private readonly writers = new Map<string, Map<string, RelationWriter>>();
  private readonly failures = new Map<string, Map<string, FailureRecord>>();
  /** The nodes with a build of an hour on record. */
  private readonly hourly = new Set<string>();
  /** Per node, its builds of an interval by start (see buildsOver), made when first asked and kept in step by add. */
  private readonly byStart = new Map<string, IntervalIndex>();

  /** The latest valid build of `node` for `key`. */
  build(node: string, key: string): BuildRecord | undefined {
    return this.builds.get(node)?.get(key);
  }

  /** The latest valid builds of `node`, one per key (a model kept in intervals has one per interval). */
  buildsOf(node: string): readonly BuildRecord[] {
    return [...(this.builds.get(node)?.values() ?? [])];
  }

  /**
   * The latest valid builds of `node` of an interval that overlaps [start, end): what a task
   * reading those dates of it read. Found in the node's builds ordered by start, not by looking
   * at each: during a backfill every date's task asks, while the dates it published add up.
   */
  buildsOver(node: string, start: number, end: number): BuildRecord[] {
    const index = this.intervalIndex(node);
    if (!index) return [];
    const { list, longest } = index;
    const out: BuildRecord[] = [];
    // No build starting at or before start - longest ends after start (times are whole milliseconds).
    for (let i = firstStartingAt(list, start - longest + 1); i < list.length && list[i].interval!.start < end; i++) if (start < list[i].interval!.end) out.push(list[i]);
    return out;
  }

  private intervalIndex(node: string): IntervalIndex | undefined {
    let index = this.byStart.get(node);
    if (index) return index;
    const of = this.builds.get(node);
    if (!of) return undefined;
    const list = [...of.values()].filter(hasInterval).sort((a, b) => a.interval!.start - b.interval!.start);
    index = { list, longest: list.reduce((m, b) => Math.max(m, b.interval!.end - b.interval!.start), 0) };
    this.byStart.set(node, index);
    return index;
  }

  /**
   * The latest valid builds of `node` for the other keys whose intervals overlap `key`'s: the
   * hours of a day, or the day of an hour (pipe's intervals are UTC days and hours: no other two
   * labels overlap). A build of one of them after `key`'s rewrote part of what `key`'s wrote.
   */
  overlapping(node: string, key: string): BuildRecord[] {
    const of = this.builds.get(node);
    // Most models are never built by the hour: their days overlap nothing.
    if (!of || key === '' || (!isHourLabel(key) && !this.hourly.has(node))) return [];
    if (isHourLabel(key)) {
      const day = of.get(key.slice(0, 10));
      return day ? [day] : [];
    }
    const out: BuildRecord[] = [];
    for (let h = 0; h < 24; h++) {
      const hour = of.get(`${key}T${String(h).padStart(2, '0')}`);
      if (hour) out.push(hour);
    }
    return out;
  }

  /** The latest failure of `node` for `key`; for `''`, of any of its tasks. */
  failure(node: string, key: string): FailureRecord | undefined {
    return this.failures.get(node)?.get(key);
  }

  /** A publication: it is the latest of its key, and a build of the whole model replaces the model's every other. */
  add(b: BuildRecord): void {
    const of = this.builds.get(b.node) ?? new Map<string, BuildRecord>();
    if (b.key === '') {
      of.clear();
      this.byStart.delete(b.node);
    } else {
      const index = this.byStart.get(b.node);
      if (index) indexed(index, of.get(b.key), b);
    }
    of.set(b.key, b);
    if (isHourLabel(b.key)) this.hourly.add(b.node);
    this.builds.set(b.node, of);
    if (b.relation !== undefined) this.wrote(b.relation, { node: b.node, runId: b.runId, builtAt: b.builtAt });
  }

  /** The latest write of the model (or snapshot) `node` into `relation`, as far as the records tell. */
  writeOf(relation: string, node: string): RelationWriter | undefined {
    return this.writers.get(relation.toLowerCase())?.get(writerKey({ node }));
  }

  /**
   * The latest write into `relation` after `since` by another node than the model (or
   * snapshot) `node`, a seed of its name among them: one that replaced the table `node`'s
   * builds before it made, whatever `node` wrote since (a model kept by date rebuilt for one
   * date: its other dates' rows went with the other's write).
   */
  otherWriterSince(relation: string, node: string, since: number): RelationWriter | undefined {
    let latest: RelationWriter | undefined;
    for (const w of this.writers.get(relation.toLowerCase())?.values() ?? []) {
      if ((w.node !== node || w.seed) && w.builtAt > since && (!latest || w.builtAt >= latest.builtAt)) latest = w;
    }
    return latest;
  }

  /** A build of `w.node` wrote `relation`: its latest, if it is later than the one known. */
  wrote(relation: string, w: RelationWriter): void {
    const key = relation.toLowerCase();
    const of = this.writers.get(key) ?? new Map<string, RelationWriter>();
    const known = of.get(writerKey(w));
    if (!known || known.builtAt <= w.builtAt) of.set(writerKey(w), w);
    this.writers.set(key, of);
  }

  /** A reset (see the module comment): the node's builds so far stop counting. */
  reset(node: string): void {
    this.builds.delete(node);
    this.byStart.delete(node);
  }

  /** A failed task (its last attempt): for its key, and for its node as a whole. */
  fail(node: string, key: string, f: FailureRecord): void {
    const of = this.failures.get(node) ?? new Map<string, FailureRecord>();
    for (const k of new Set([key, ''])) {
      const known = of.get(k);
      if (!known || known.at <= f.at) of.set(k, f);
    }
    this.failures.set(node, of);
  }
}

/** A node's builds of an interval, by start, and the longest interval among those it held (a bound: see buildsOver). */
interface IntervalIndex {
  readonly list: BuildRecord[];
  longest: number;
}

const hasInterval = (b: BuildRecord): boolean => b.key !== '' && b.interval !== undefined;

/** `index` with `added` in place of `replaced` (the build it supersedes for its key, if any). */
function indexed(index: IntervalIndex, replaced: BuildRecord | undefined, added: BuildRecord): void {
  const { list } = index;
  if (replaced && hasInterval(replaced)) {
    const at = list.indexOf(replaced, firstStartingAt(list, replaced.interval!.start));
    if (at !== -1) list.splice(at, 1);
  }
  if (!hasInterval(added)) return;
  const { start, end } = added.interval!;
  index.longest = Math.max(index.longest, end - start);
  // A backfill publishes its dates in order: most land at the end.
  if (list.length === 0 || list[list.length - 1].interval!.start <= start) list.push(added);
  else list.splice(firstStartingAt(list, start + 1), 0, added);
}

/** The first place in `list` (ordered by start) whose build starts at or after `start`. */
function firstStartingAt(list: readonly BuildRecord[], start: number): number {
  return partitionPoint(list.length, (i) => list[i].interval!.start < start);
}

const LATEST_COLUMNS = ['run_id', 'task_id', 'node', 'key', 'interval_start', 'interval_end', 'sql_hash', 'config_hash', 'inputs', 'version', 'untracked', 'built_at', 'took_ms'];

/**
 * Above this many nodes, every node's records are read and the others dropped here: matching a
 * list of 10,000 names cost DuckDB more than reading the records it leaves out (a run of every
 * model of a 10,000-model project: 0.2 s of its two queries).
 */
export const LISTED_NODES = 1000;

/**
 * Reads the latest builds and failures of `nodes` (all nodes when absent) in two queries. The
 * records of each node are its own (the queries group and rank by node), so which nodes' are
 * read changes nothing of the others'. `listedAtMost`: see LISTED_NODES. The writers of
 * `relations` alone are read when they are given (those writeOf and otherWriterSince will be
 * asked of: a run's, its tasks' own relations), so that a run of a few models does not read
 * who wrote every relation of the warehouse (10,000 rows, 0.1 s, at each save in watch).
 */
export async function readLatestBuilds(session: WarehouseSession, nodes?: readonly string[], listedAtMost = LISTED_NODES, relations?: readonly string[]): Promise<LatestBuilds> {
  const out = new LatestBuilds();
  if (nodes !== undefined && nodes.length === 0) return out;
  const wanted = nodes !== undefined && nodes.length > listedAtMost ? new Set(nodes) : undefined;
  const listed = wanted ? undefined : nodes;
  const only = (column: string) => (listed === undefined ? 'TRUE' : session.dialect.memberOf(column, listed));
  const kept = (node: unknown) => wanted === undefined || wanted.has(String(node));
  // One JSON text of every row, oldest first (see gatheredAsJson): a run of 10,000 models reads 10,000 of them.
  const [read] = await session.query(
    `WITH resets AS (SELECT node, max(built_at) AS at FROM ${BUILDS_TABLE} WHERE kind = 'reset' AND ${only('node')} GROUP BY node),
     valid AS (
       SELECT b.* FROM ${BUILDS_TABLE} b LEFT JOIN resets r ON r.node = b.node
       WHERE b.kind = 'build' AND ${only('b.node')} AND (r.at IS NULL OR b.built_at >= r.at)),
     whole AS (SELECT node, max(built_at) AS at FROM valid WHERE key = '' GROUP BY node),
     latest AS (
       SELECT v.run_id, v.task_id, v.node, v.key, v.interval_start, v.interval_end, v.sql_hash, v.config_hash,
         v.inputs, v.version, v.untracked, v.built_at, v.ended_at - v.started_at AS took_ms
       FROM valid v LEFT JOIN whole w ON w.node = v.node
       WHERE w.at IS NULL OR v.built_at >= w.at
       QUALIFY row_number() OVER (PARTITION BY v.node, v.key ORDER BY v.built_at DESC) = 1)
     SELECT ${gatheredAsJson(LATEST_COLUMNS, 'built_at')} AS builds FROM latest`,
  );
  const builds = jsonRows<Record<string, unknown>>(read.builds);
  for (const r of builds) {
    if (!kept(r.node)) continue;
    out.add({
      runId: String(r.run_id),
      taskId: String(r.task_id),
      node: String(r.node),
      key: String(r.key),
      interval: r.interval_start === null ? undefined : { start: Number(r.interval_start), end: Number(r.interval_end) },
      sqlHash: String(r.sql_hash),
      configHash: String(r.config_hash),
      inputs: r.inputs as Record<string, string>,
      version: String(r.version),
      untracked: r.untracked === null ? undefined : String(r.untracked),
      builtAt: Number(r.built_at),
      ...(r.took_ms === null || r.took_ms === undefined ? {} : { tookMs: Number(r.took_ms) }),
    });
  }
  // Who wrote each relation last, of any node (a model enabled again after another took its
  // table's name): recorded by this pipe, an earlier one's builds say no relation.
  if (await buildsRecordRelations(session)) {
    // A seed's load writes its table too (a seed that took a disabled model's name).
    const asked = relations !== undefined && relations.length <= listedAtMost ? [...new Set(relations.map((r) => r.toLowerCase()))] : undefined;
    const writers = await session.query(
      `SELECT relation, node, seed, arg_max(run_id, written_at) AS run_id, max(written_at) AS at FROM (
         SELECT relation, node, false AS seed, run_id, built_at AS written_at FROM ${BUILDS_TABLE} WHERE kind = 'build' AND relation IS NOT NULL
         UNION ALL SELECT relation, name, true, run_id, epoch_ms(loaded_at) FROM _pipe.seeds
       )${asked === undefined ? '' : ` WHERE ${session.dialect.memberOf('lower(relation)', asked)}`} GROUP BY relation, node, seed`,
    );
    for (const w of writers) out.wrote(String(w.relation), { node: String(w.node), ...(w.seed === true ? { seed: true as const } : {}), runId: String(w.run_id), builtAt: Number(w.at) });
  }
  // A failure that a retry of the same attempt follows ("will retry") is not the task's end; a
  // failed `pipe test`, unit test or run hook built nothing (the model a unit test skipped keeps its standing).
  // Every node's are read and the others dropped here: few tasks fail, and a list of nodes to
  // match made DuckDB build its join on every task ever planned rather than on the failed
  // attempts (33 ms of an up-to-date run of nine models with 10,000 runs on record, against 2 ms).
  // The runs with a failure first, and the planned tasks of those runs alone: joined with every
  // task ever planned, one failure on record cost each later run a scan of them all (100,000
  // runs of nine tasks: 185-306 ms, against 18-35 ms so).
  const failedOutcome = `x.status = 'failed' AND coalesce(x.detail, '') <> 'will retry'`;
  const failedRuns = (await session.query(`SELECT DISTINCT x.run_id FROM _pipe.task_outcomes x WHERE ${failedOutcome}`)).map((r) => String(r.run_id));
  const plannedOf =
    failedRuns.length <= listedAtMost ? `(SELECT * FROM _pipe.planned_tasks WHERE ${session.dialect.memberOf('run_id', failedRuns)})` : '_pipe.planned_tasks';
  const failures =
    failedRuns.length === 0
      ? []
      : await session.query(
          `SELECT t.node, coalesce(t.ds, '') AS ds, arg_max(x.run_id, x.ended_at) AS run_id, arg_max(x.task_id, x.ended_at) AS task_id,
             epoch_ms(max(x.ended_at)) AS at, arg_max(x.error, x.ended_at) AS error
           FROM _pipe.task_outcomes x JOIN ${plannedOf} t ON t.run_id = x.run_id AND t.task_id = x.task_id
           WHERE ${failedOutcome} AND t.kind NOT IN ('test', 'unit-test', 'run-hook')
           GROUP BY ALL`,
        );
  const failing = nodes === undefined ? undefined : new Set(nodes);
  for (const r of failures) {
    if (failing !== undefined && !failing.has(String(r.node))) continue;
    out.fail(String(r.node), String(r.ds), {
      runId: String(r.run_id),
      taskId: String(r.task_id),
      at: Number(r.at),
      error: r.error === null ? undefined : String(r.error),
    });
  }
  return out;
}

/** Whether the warehouse's builds record the relation each wrote (see BUILDS_RELATION_MIGRATION). */
export async function buildsRecordRelations(session: WarehouseSession): Promise<boolean> {
  const columns = await stateRelationColumns(session, BUILDS_TABLE).catch(() => new Set<string>());
  return columns.has('relation');
}
