import { readFileSync } from 'node:fs';
import { readStoredParams, storedDates } from '../../commands/stored-params.js';
import { quoteLiteral } from '../../sql/sql-text.js';
import { runLogPath } from '../../run-log/run-log-files.js';
import { loggedParents, parseRunLog, readRunLogs, type LoggedRun, type LoggedTask } from '../../run-log/run-log-reader.js';
import { processAlive } from '../../util/process-alive.js';
import type { RunLogLine } from '../../run-log/run-log-lines.js';
import { listRuns, runExists, runWithTasks, STATE_SCHEMA, tasksOfRuns, type RunStatus, type RunSummaryRow, type TaskRow } from '../../warehouse/run-state.js';
import type { WarehouseSession } from '../../warehouse/warehouse.js';
import type { WarehouseSetup } from '../../warehouse/warehouse-setup.js';
import type { StateSource, UiCheckResult, UiFailureGroup, UiModelTask, UiRun, UiRunStatus, UiTask, UiTaskCell, UiTaskStatus } from '../api.js';
import { DiagnosticError, error } from '../../diagnostics/diagnostics.js';
import { aliveAs, heldBy, readWarehouse, type WarehouseRead } from './warehouse-access.js';

/**
 * The run state as the UI shows it, from the warehouse when it can be opened, else from the
 * run logs beside it (a run holds it): the same shapes either way, and `source` says which.
 */

export interface StateLocation {
  readonly warehouse: string;
  readonly setup: WarehouseSetup;
}

export interface Sourced<T> {
  readonly source: StateSource;
  readonly value: T;
}

type RunWithCells = UiRun & { readonly cells: readonly UiTaskCell[] };

/** Epoch ms of a run-state time (`YYYY-MM-DD HH:MM:SS`, UTC). */
const epoch = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);

/** The fields a run has in the warehouse's summary and in its log alike. */
type RunFields = Pick<LoggedRun, 'run_id' | 'command' | 'pipeline' | 'started_at' | 'ended_at' | 'parent_run_id' | 'tasks' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'pending'> & {
  readonly params: string | null;
};

/** What later runs did about a run: its latest retry and how it ended, or the run that completed it. */
type Followed = Pick<UiRun, 'retried_by' | 'retry_status' | 'completed_by'>;

/**
 * What the run logs tell of runs' retries: each run's latest retry, followed to the last of
 * the family, and how it stands. Which later run completed a run the logs do not tell.
 */
function followedInLogs(warehouse: string, alive: (pid: number, since?: number) => boolean): (runId: string) => Followed {
  const latest = new Map<string, string>();
  // Newest first: a run's first retry seen is its latest.
  for (const { runId, parentRunId } of loggedParents(warehouse)) if (!latest.has(parentRunId)) latest.set(parentRunId, runId);
  return (runId) => {
    let child: string | undefined;
    for (let at = latest.get(runId), hops = 0; at !== undefined && hops < 1000; at = latest.get(at), hops++) child = at;
    if (child === undefined) return { retried_by: null, retry_status: null, completed_by: null };
    const [retry] = readRunLogs(warehouse, { alive, runId: child });
    return { retried_by: child, retry_status: retry?.status ?? null, completed_by: null };
  };
}

function uiRun(r: RunFields, status: UiRun['status'], duration: number | null, running: number, followed: Followed): UiRun {
  const { run_id, command, pipeline, started_at, ended_at, parent_run_id, tasks, succeeded, failed, skipped, cancelled, pending } = r;
  const dates = r.params === null ? '?' : storedDates({ run_id, command, params: r.params });
  // Parameters pipe retry cannot read back (another version's, or changed by hand): it refuses the run, as pipe history warns.
  const read = r.params === null ? undefined : readStoredParams({ run_id, command, params: r.params });
  const params_problem = read !== undefined && 'problem' in read ? read.problem.message : null;
  // An interrupted run's process died: its end is only its last word's time, not how long it ran.
  const known = status === 'interrupted' ? null : duration;
  return { run_id, command, pipeline, status, dates, started_at, ended_at, duration_ms: known, parent_run_id, tasks, succeeded, failed, skipped, cancelled, running, pending, params_problem, ...followed };
}

/**
 * Opened read-only, a DuckDB file is held by no pipe: a run still marked running died (see
 * `pipe history`). A lake is read while other processes write it: its runs may be running.
 */
const fromSummary = (r: RunSummaryRow, sharedWriters: boolean) => {
  const died = (status: string | null) => status === 'running' && !sharedWriters;
  return uiRun(r, died(r.status) ? 'interrupted' : r.status, r.duration_ms, 0, {
    retried_by: r.retried_by,
    retry_status: died(r.retry_status) ? 'interrupted' : r.retry_status,
    completed_by: r.completed_by,
  });
};

const fromLog = (r: LoggedRun, followed: (runId: string) => Followed) => uiRun(r, r.status, r.elapsed_ms, r.running, followed(r.run_id));

/**
 * The run a `pipe retry` completes `run` through, if any is left to do: its latest retry when it
 * has one. With the run's `tasks`, none when only its run hooks failed (an on-run-end), which a
 * retry does not run again: it would find nothing to do.
 */
export function runToRetry(run: UiRun, tasks?: readonly UiTask[]): string | null {
  if (run.status === 'running' || run.status === 'succeeded' || run.completed_by !== null || run.params_problem !== null) return null;
  if (run.retried_by === null && tasks !== undefined && tasks.length > 0 && tasks.every((t) => t.kind === 'run-hook' || t.status === 'succeeded')) return null;
  if (run.retried_by === null) return run.run_id;
  return run.retry_status === 'succeeded' || run.retry_status === 'running' ? null : run.retried_by;
}

/**
 * The answer of a read: the warehouse's, nothing when nothing has run, else what the run logs
 * tell (`fromLogs`, given which pids are live: the holder's run is).
 */
function sourced<T>(read: WarehouseRead<T>, empty: T, fromLogs: (alive: (pid: number, since?: number) => boolean) => T): Sourced<T> {
  switch (read.kind) {
    case 'read':
      return { source: { kind: 'warehouse' }, value: read.value };
    case 'empty':
      return { source: { kind: 'none', why: read.why }, value: empty };
    case 'held':
      return {
        source: { kind: 'run-log', heldBy: heldBy(read.locked), ...(read.locked.holderPid === undefined ? {} : { heldPid: read.locked.holderPid }) },
        value: fromLogs(aliveAs(read.locked, processAlive)),
      };
    default: {
      const never: never = read;
      throw new Error(`internal error: read ${JSON.stringify(never)}`);
    }
  }
}

const cell = (t: { task_id: string; node: string; status: UiTaskStatus }): UiTaskCell => ({ task_id: t.task_id, node: t.node, status: t.status });

/** Which runs a page of the list shows: of these statuses only, and after the run `before` (the last of the page before). */
export interface RunsFilter {
  readonly statuses?: readonly UiRunStatus[];
  readonly before?: string;
}

/**
 * The newest `limit` runs the filter keeps, each with the status of each of its tasks (the
 * grid's cells); `older`: the run to list the next page after, when there are more.
 */
export async function readRuns(at: StateLocation, limit: number, filter: RunsFilter = {}): Promise<Sourced<{ runs: RunWithCells[]; older: string | null }>> {
  const page = (runs: RunWithCells[]) => ({ runs: runs.slice(0, limit), older: runs.length > limit ? runs[limit - 1].run_id : null });
  const read = await readWarehouse(at.warehouse, at.setup, async (session, sharedWriters) => {
    if (filter.before !== undefined && !(await runExists(session, filter.before))) {
      throw new DiagnosticError([error('unknown-run', `no run '${filter.before}' in ${at.warehouse} to list the runs before`)]);
    }
    // Read-only, a DuckDB file is held by no pipe: a run marked running died, and shows as interrupted (see fromSummary).
    const statuses = sharedWriters ? filter.statuses : filter.statuses?.flatMap((s): RunStatus[] => (s === 'interrupted' ? ['interrupted', 'running'] : s === 'running' ? [] : [s]));
    const runs = await listRuns(session, limit + 1, undefined, { statuses, before: filter.before });
    const tasks = await tasksOfRuns(session, runs.map((r) => r.run_id));
    return page(runs.map((r) => ({ ...fromSummary(r, sharedWriters), cells: (tasks.get(r.run_id) ?? []).map(cell) })));
  });
  return sourced(read, { runs: [], older: null }, (alive) => {
    const where = filter.statuses && ((r: LoggedRun) => filter.statuses!.includes(r.status));
    const followed = followedInLogs(at.warehouse, alive);
    return page(readRunLogs(at.warehouse, { alive, limit: limit + 1, before: filter.before, where }).map((r) => ({ ...fromLog(r, followed), cells: r.task_rows.map(cell) })));
  });
}

export interface RunState {
  readonly run: UiRun;
  readonly tasks: UiTask[];
  readonly checks: UiCheckResult[];
  /** Where each failed task's error points, when the run log tells it. */
  readonly locations: ReadonlyMap<string, string>;
}

/** One run with its tasks (times to the millisecond) and its failed checks; undefined when no such run. */
export async function readRun(at: StateLocation, runId: string): Promise<Sourced<RunState | undefined>> {
  const read = await readWarehouse(at.warehouse, at.setup, async (session, sharedWriters) => {
    const found = await runWithTasks(session, runId);
    if (!found) return undefined;
    const times = await taskTimes(session, runId);
    const tasks = found.tasks.map((t) => uiTask(t, times.get(t.task_id)));
    return { run: fromSummary(found.run, sharedWriters), tasks, checks: await failedChecks(session, runId) };
  });
  // Logs are read in both cases: they hold what the warehouse does not, where an error points.
  const lines = logLines(at.warehouse, runId);
  const locations = errorLocations(lines);
  const answer = sourced<Omit<RunState, 'locations'> | undefined>(read, undefined, (alive) => {
    const [run] = readRunLogs(at.warehouse, { alive, runId });
    if (!run) return undefined;
    const times = logTimes(lines);
    const tasks = run.task_rows.map((t) => uiTask(t, times.get(t.task_id)));
    return { run: fromLog(run, followedInLogs(at.warehouse, alive)), tasks, checks: logChecks(lines) };
  });
  return { source: answer.source, value: answer.value && { ...answer.value, locations } };
}

/** A task as the warehouse or its log tells it, with its times to the millisecond. */
function uiTask(t: TaskRow | LoggedTask, time: { start: number | null; end: number | null } | undefined): UiTask {
  const { task_id, node, kind, ds, status, attempts, error, detail } = t;
  return { task_id, node, kind, ds, status, attempts, rows: t.rows === null ? null : Number(t.rows), start_ms: time?.start ?? null, end_ms: time?.end ?? null, error, detail, worker: t.worker ?? null, runner: 'runner' in t ? t.runner : null };
}

/** First start and last end of each task of a run, in ms (runTasks shows seconds). */
async function taskTimes(session: WarehouseSession, runId: string): Promise<Map<string, { start: number | null; end: number | null }>> {
  const ms = (e: string) => session.dialect.epochMs(e);
  const rows = await session.query(
    `SELECT task_id, ${ms('min(started_at)')} AS s, ${ms('max(ended_at)')} AS e FROM ${STATE_SCHEMA}.task_results
     WHERE run_id = ${quoteLiteral(runId)} GROUP BY task_id`,
  );
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return new Map(rows.map((r) => [String(r.task_id), { start: n(r.s), end: n(r.e) }]));
}

/** The checks of a run that warned or failed, with their sample rows, latest attempt first. */
async function failedChecks(session: WarehouseSession, runId: string): Promise<UiCheckResult[]> {
  const rows = await session.query(
    `SELECT task_id, check_name, severity, status, failing_rows::DOUBLE AS failing_rows, sample::VARCHAR AS sample
     FROM ${STATE_SCHEMA}.check_results WHERE run_id = ${quoteLiteral(runId)} AND status <> 'passed'
     ORDER BY task_id ASC, check_name ASC, attempt DESC`,
  );
  const seen = new Set<string>();
  const out: UiCheckResult[] = [];
  for (const r of rows) {
    const key = `${String(r.task_id)}\u0000${String(r.check_name)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      task_id: String(r.task_id),
      check: String(r.check_name),
      severity: String(r.severity),
      status: String(r.status),
      failing_rows: Number(r.failing_rows),
      sample: parseSample(r.sample),
    });
  }
  return out;
}

function parseSample(v: unknown): Record<string, unknown>[] {
  if (typeof v !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(v);
    return Array.isArray(parsed) ? (parsed as Record<string, unknown>[]) : [];
  } catch {
    return [];
  }
}

function logLines(warehouse: string, runId: string): RunLogLine[] {
  try {
    return parseRunLog(readFileSync(runLogPath(warehouse, runId), 'utf8'));
  } catch {
    return [];
  }
}

/** Task times to the millisecond from a log's events (its folded rows show seconds). */
function logTimes(lines: readonly RunLogLine[]): Map<string, { start: number | null; end: number | null }> {
  const out = new Map<string, { start: number | null; end: number | null }>();
  for (const l of lines) {
    if (l.type === 'task-started') out.set(l.task.id, { start: out.get(l.task.id)?.start ?? Date.parse(l.time), end: null });
    else if (l.type === 'task-succeeded' || l.type === 'task-failed' || l.type === 'task-skipped' || l.type === 'task-cancelled') {
      out.set(l.task.id, { start: out.get(l.task.id)?.start ?? null, end: Date.parse(l.time) });
    }
  }
  return out;
}

/** `file:line` of each failed task's error, as its log's event tells it. */
function errorLocations(lines: readonly RunLogLine[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    if (l.type !== 'task-failed') continue;
    const at = l.error.location ?? { file: l.task.file };
    out.set(l.task.id, `${at.file}${at.line === undefined ? '' : `:${at.line}`}`);
  }
  return out;
}

function logChecks(lines: readonly RunLogLine[]): UiCheckResult[] {
  const out: UiCheckResult[] = [];
  for (const l of lines) {
    if (l.type !== 'check-failed') continue;
    const f = l.failure;
    out.push({ task_id: l.task.id, check: f.check, severity: f.severity, status: f.severity === 'warn' ? 'warned' : 'failed', failing_rows: f.failingRows, sample: f.sample });
  }
  return out;
}

/** `models/x.sql:12` in an error's text (pipe labels SQL errors with their place). */
const FILE_LINE = /([\w./-]+\.(?:sql|ya?ml|csv|py)):(\d+)/;

/**
 * The failed tasks grouped by their error: its first line with places, quoted names and
 * numbers taken out, so that one cause in many models is told once. Each task keeps where it points:
 * the log's location, else the file:line its message names, else the node's file.
 */
export function groupFailures(tasks: readonly UiTask[], locations: ReadonlyMap<string, string>, fileOf: (node: string) => string | undefined): UiFailureGroup[] {
  const groups = new Map<string, { error: string; tasks: { task_id: string; node: string; at: string | null; error?: string }[] }>();
  for (const t of tasks) {
    if (t.status !== 'failed') continue;
    const text = t.error ?? 'failed';
    // The headline: what follows (candidates, the source line and its caret) is the place's own.
    const key = text
      .split('\n')[0]
      .replace(/\([^()]*\.(?:sql|ya?ml|csv|py)(?::\d+)?\)/g, '')
      .replace(FILE_LINE, '')
      .replace(/"[^"]*"|'[^']*'/g, '""')
      .replace(/\b\d+\b/g, 'N')
      .replace(new RegExp(`(?<![\\w.])${t.node.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w.])`, 'g'), 'MODEL');
    const found = FILE_LINE.exec(text);
    const at = locations.get(t.task_id) ?? (found ? `${found[1]}:${found[2]}` : (fileOf(t.node) ?? null));
    const group = groups.get(key) ?? { error: text, tasks: [] };
    // One cause, told once; but a message of its own (another date, another name) is the task's, not the group's.
    group.tasks.push({ task_id: t.task_id, node: t.node, at, ...(text === group.error ? {} : { error: text }) });
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.tasks.length - a.tasks.length);
}

/** The latest status of every node that ever ran. */
export async function readNodeStatuses(at: StateLocation): Promise<Sourced<Map<string, UiTaskStatus>>> {
  const read = await readWarehouse(at.warehouse, at.setup, async (session) => {
    const rows = await session.query(
      `SELECT t.node, arg_max(x.status, x.ended_at) AS status FROM ${STATE_SCHEMA}.task_results x
       JOIN ${STATE_SCHEMA}.tasks t ON t.run_id = x.run_id AND t.task_id = x.task_id GROUP BY t.node`,
    );
    return new Map(rows.map((r) => [String(r.node), r.status as UiTaskStatus]));
  }, { besideProject: true });
  return sourced(read, new Map(), (alive) => {
    const out = new Map<string, UiTaskStatus>();
    // Newest first: a node's first status seen is its latest.
    for (const run of readRunLogs(at.warehouse, { alive, limit: 50 })) {
      for (const t of run.task_rows) if (!out.has(t.node) && t.status !== 'pending') out.set(t.node, t.status);
    }
    return out;
  });
}

/**
 * A node's latest task attempts across runs, newest first; and what `also` reads of the
 * warehouse in the same opening of it (undefined when it is not read: held, or nothing ran).
 */
export async function readNodeTasks<C>(
  at: StateLocation,
  node: string,
  also: (session: WarehouseSession) => Promise<C>,
  limit = 20,
): Promise<Sourced<UiModelTask[]> & { also?: C }> {
  const read = await readWarehouse(at.warehouse, at.setup, async (session) => {
    const ms = (e: string) => session.dialect.epochMs(e);
    const rows = await session.query(
      `SELECT x.run_id, x.task_id, x.status, x.rows::DOUBLE AS rows, ${ms('x.ended_at')} - ${ms('x.started_at')} AS duration_ms,
          strftime(x.ended_at, '%Y-%m-%d %H:%M:%S') AS ended_at
       FROM ${STATE_SCHEMA}.task_results x JOIN ${STATE_SCHEMA}.tasks t ON t.run_id = x.run_id AND t.task_id = x.task_id
       WHERE t.node = ${quoteLiteral(node)} ORDER BY x.ended_at DESC LIMIT ${limit}`,
    );
    const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    const tasks = rows.map((r) => ({
      run_id: String(r.run_id),
      task_id: String(r.task_id),
      status: r.status as UiTaskStatus,
      rows: n(r.rows),
      duration_ms: n(r.duration_ms),
      ended_at: r.ended_at === null ? null : String(r.ended_at),
    }));
    return { tasks, also: await also(session) };
  }, { besideProject: true });
  const alsoRead = read.kind === 'read' ? read.value.also : undefined;
  const tasks = sourced(read.kind === 'read' ? { kind: 'read', value: read.value.tasks } : read, [], (alive) => {
    const out: UiModelTask[] = [];
    for (const run of readRunLogs(at.warehouse, { alive, limit: 50 })) {
      for (const t of run.task_rows) {
        if (t.node !== node || t.status === 'pending') continue;
        // The times shown are to the second: the duration is the one its end's event tells, to the millisecond.
        const duration = t.duration_ms ?? (t.started_at && t.ended_at ? epoch(t.ended_at) - epoch(t.started_at) : null);
        out.push({ run_id: run.run_id, task_id: t.task_id, status: t.status, rows: t.rows, duration_ms: duration, ended_at: t.ended_at });
      }
    }
    // Newest first, as the warehouse's list: the logs of several runs, each in its order.
    return out.sort((a, b) => (b.ended_at ?? '').localeCompare(a.ended_at ?? '')).slice(0, limit);
  });
  return { ...tasks, also: alsoRead };
}
