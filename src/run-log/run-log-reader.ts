import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { DONE_SKIPS } from '../events/events.js';
import type { RunStatus, TaskStatus } from '../warehouse/run-state.js';
import { listRunLogs } from './run-log-files.js';
import type { EventLine, ReconciledLine, RunLogHeader, RunLogLine } from './run-log-lines.js';
import { processAlive } from '../util/process-alive.js';

/**
 * A run as its log tells it, for `pipe history` while another process holds the warehouse.
 * Once the log is reconciled it says what the warehouse says; before, it follows the events,
 * and a run whose process is gone without an end is `interrupted`, its tasks under way then
 * back to `pending` (their success never committed, or it would have been logged after).
 */

export type LoggedTaskStatus = TaskStatus | 'running';

export interface LoggedTask {
  readonly task_id: string;
  readonly node: string;
  readonly kind: string;
  readonly ds: string | null;
  readonly status: LoggedTaskStatus;
  readonly attempts: number | null;
  readonly rows: number | null;
  readonly started_at: string | null;
  readonly ended_at: string | null;
  readonly error: string | null;
  readonly detail: string | null;
  /** Which thread of the run ran it, when told. */
  readonly worker: number | null;
  /** Its start to the millisecond (started_at is to the second), when the log tells it. */
  readonly started_ms?: number;
  /** How long it ran, to the millisecond, as its end's event tells it (started_at and ended_at are to the second). */
  readonly duration_ms?: number;
}

export interface LoggedRun {
  readonly run_id: string;
  readonly command: string;
  readonly pipeline: string | null;
  /** `running` only while its process lives. */
  readonly status: RunStatus;
  /** Whether the warehouse's record of the run's end is in the log (then the log is the warehouse's word). */
  readonly reconciled: boolean;
  readonly pid: number | null;
  /** `YYYY-MM-DD HH:MM:SS` in UTC, as the run state shows times. */
  readonly started_at: string;
  readonly ended_at: string | null;
  /** The stored parameters, as JSON text (as the run state's `params`). */
  readonly params: string | null;
  readonly parent_run_id: string | null;
  /** Milliseconds from the start to the end, or to `now` while the run goes on. */
  readonly elapsed_ms: number | null;
  readonly tasks: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly cancelled: number;
  readonly running: number;
  readonly pending: number;
  readonly task_rows: readonly LoggedTask[];
}

/** `YYYY-MM-DD HH:MM:SS` of an ISO time. */
const shown = (iso: string) => iso.slice(0, 19).replace('T', ' ');
/** Epoch ms of a time as either form shows it, in UTC. */
const epoch = (t: string) => Date.parse(t.includes('T') ? t : `${t.replace(' ', 'T')}Z`);

export interface FoldOptions {
  /** Whether the process of this pid, running `since` (ms), is alive (a pid the holder of the warehouse has is). */
  readonly alive: (pid: number, since?: number) => boolean;
  readonly now: number;
}

/** A run from the parsed lines of its log; undefined when they tell of no run. */
export function foldRunLog(lines: readonly RunLogLine[], o: FoldOptions): LoggedRun | undefined {
  const reconciled = [...lines].reverse().find((l): l is ReconciledLine => l.type === 'reconciled');
  if (reconciled) {
    const r = reconciled.run;
    const tasks: LoggedTask[] = reconciled.tasks.map((t) => ({
      task_id: t.task_id,
      node: t.node,
      kind: t.kind,
      ds: t.ds,
      status: t.status,
      attempts: t.attempts,
      rows: t.rows,
      started_at: t.started_at,
      ended_at: t.ended_at,
      error: t.error,
      detail: t.detail,
      worker: t.worker ?? null,
    }));
    return {
      ...counted(tasks),
      run_id: r.run_id,
      command: r.command,
      pipeline: r.pipeline,
      // Reconciled only once the run ended: still running there means a later crash the warehouse has not recovered yet.
      status: r.status === 'running' ? 'interrupted' : r.status,
      reconciled: true,
      pid: null,
      started_at: r.started_at,
      ended_at: r.ended_at,
      params: r.params,
      parent_run_id: r.parent_run_id,
      // The warehouse's times are shown to the second: the run's own measure, when its log has it, is to the millisecond.
      elapsed_ms: r.ended_at === null ? null : (finishedMs(lines) ?? epoch(r.ended_at) - epoch(r.started_at)),
    };
  }
  const header = lines.find((l): l is RunLogHeader => l.type === 'run-log');
  if (!header) return undefined;
  const tasks = new Map<string, LoggedTask>();
  for (const t of header.tasks) {
    tasks.set(t.id, { task_id: t.id, node: t.node, kind: t.kind, ds: t.ds ?? null, status: 'pending', attempts: null, rows: null, started_at: null, ended_at: null, error: null, detail: null, worker: null });
  }
  let finished: Extract<EventLine, { type: 'run-finished' }> | undefined;
  for (const l of lines) {
    if (l.type === 'run-log' || l.type === 'reconciled') continue;
    if (l.type === 'run-finished') finished = l;
    const outcome = taskOutcome(l);
    if (!outcome) continue;
    const before = tasks.get(outcome.id);
    if (!before) continue;
    tasks.set(outcome.id, { ...before, ...outcome.change, started_at: outcome.change.started_at ?? before.started_at });
  }
  const alive = finished === undefined && o.alive(header.pid, Date.parse(header.startedAt));
  const status: RunStatus = finished ? finished.status : alive ? 'running' : 'interrupted';
  const rows = [...tasks.values()].map((t) => (t.status === 'running' && !alive ? { ...t, status: 'pending' as const } : t));
  const started = Date.parse(header.startedAt);
  return {
    ...counted(rows),
    run_id: header.runId,
    command: header.command,
    pipeline: header.pipeline ?? null,
    status,
    reconciled: false,
    pid: header.pid,
    started_at: shown(header.startedAt),
    ended_at: finished ? shown(finished.time) : null,
    params: JSON.stringify(header.params),
    parent_run_id: header.parentRunId ?? null,
    // The run's own measure, the span its warehouse record has too.
    elapsed_ms: finished ? finished.ms : alive ? o.now - started : null,
  };
}

/** How long the run took by its own `run-finished` event, if its log has one. */
function finishedMs(lines: readonly RunLogLine[]): number | undefined {
  const finished = lines.find((l): l is Extract<EventLine, { type: 'run-finished' }> => l.type === 'run-finished');
  return finished?.ms;
}

/** How an event changes the task it tells of, if it tells of one. */
function taskOutcome(l: EventLine): { id: string; change: Partial<LoggedTask> } | undefined {
  switch (l.type) {
    case 'task-started':
      return { id: l.task.id, change: { status: 'running', started_at: shown(l.time), worker: l.worker ?? null, ...(Number.isFinite(Date.parse(l.time)) ? { started_ms: Date.parse(l.time) } : {}) } };
    case 'task-retrying':
      return { id: l.task.id, change: { status: 'running', attempts: l.attempt, error: l.error.message } };
    case 'task-succeeded':
      return { id: l.task.id, change: { status: 'succeeded', attempts: l.attempts, rows: l.rows ?? null, ended_at: shown(l.time), error: null, duration_ms: l.ms } };
    case 'task-failed':
      return { id: l.task.id, change: { status: 'failed', attempts: l.attempts, ended_at: shown(l.time), error: l.error.message, duration_ms: l.ms } };
    case 'task-skipped':
      // As the run state records it (see DONE_SKIPS): a task found current succeeded.
      return { id: l.task.id, change: { status: DONE_SKIPS.has(l.reason) ? 'succeeded' : 'skipped', ended_at: shown(l.time), detail: l.detail } };
    case 'task-cancelled':
      return { id: l.task.id, change: { status: 'cancelled', ended_at: shown(l.time) } };
    case 'run-started':
    case 'check-failed':
    case 'check-passed':
    case 'template-message':
    case 'progress':
    case 'run-finished':
    case 'watch-started':
    case 'watch-change':
    case 'watch-waiting':
    case 'diagnostic':
    case 'notice':
      return undefined;
    default: {
      const never: never = l;
      throw new Error(`internal error: event ${JSON.stringify(never)}`);
    }
  }
}

function counted(tasks: LoggedTask[]) {
  const n = (s: LoggedTaskStatus) => tasks.filter((t) => t.status === s).length;
  return {
    tasks: tasks.length,
    succeeded: n('succeeded'),
    failed: n('failed'),
    skipped: n('skipped'),
    cancelled: n('cancelled'),
    running: n('running'),
    pending: n('pending'),
    task_rows: tasks,
  };
}

/** The lines of a log that parse; a line cut short by a crash does not. */
export function parseRunLog(text: string): RunLogLine[] {
  const out: RunLogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as RunLogLine);
    } catch {
      // cut short
    }
  }
  return out;
}

/**
 * The newest `limit` runs of a warehouse's logs, newest first; or only `runId`'s. `before`: only
 * the runs listed after that one; `where`: only the runs it keeps.
 */
export function readRunLogs(
  warehousePath: string,
  o: Partial<FoldOptions> & { readonly limit?: number; readonly runId?: string; readonly before?: string; readonly where?: (run: LoggedRun) => boolean } = {},
): LoggedRun[] {
  const fold = { alive: o.alive ?? processAlive, now: o.now ?? Date.now() };
  let files = listRunLogs(warehousePath).filter((f) => o.runId === undefined || f.runId === o.runId);
  if (o.before !== undefined) {
    const at = files.findIndex((f) => f.runId === o.before);
    files = at === -1 ? [] : files.slice(at + 1);
  }
  const out: LoggedRun[] = [];
  for (const f of files) {
    if (o.limit !== undefined && out.length >= o.limit) break;
    let text: string;
    try {
      text = readFileSync(f.path, 'utf8');
    } catch {
      continue;
    }
    const run = foldRunLog(parseRunLog(text), fold);
    if (run && (o.where === undefined || o.where(run))) out.push(run);
  }
  return out;
}

/**
 * The run each logged retry retries (its header's parentRunId), newest log first; read from
 * each log's first line only.
 */
export function loggedParents(warehousePath: string): { readonly runId: string; readonly parentRunId: string }[] {
  const out: { runId: string; parentRunId: string }[] = [];
  for (const f of listRunLogs(warehousePath)) {
    const line = firstLine(f.path);
    if (line === undefined) continue;
    try {
      const header = JSON.parse(line) as Partial<RunLogHeader>;
      if (header.type === 'run-log' && typeof header.parentRunId === 'string') out.push({ runId: f.runId, parentRunId: header.parentRunId });
    } catch {
      // cut short: no header yet
    }
  }
  return out;
}

/** A file's first line, read up to its end of line only. */
function firstLine(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(65_536);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return undefined;
      const end = buffer.subarray(0, n).indexOf(10);
      if (end >= 0) {
        chunks.push(Buffer.from(buffer.subarray(0, end)));
        return Buffer.concat(chunks).toString('utf8');
      }
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
  } finally {
    closeSync(fd);
  }
}
