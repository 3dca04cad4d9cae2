/**
 * The JSON the `pipe ui` server answers with, shared by the server (src/ui/server/) and the
 * page (src/ui/web/): the one contract between them, type-checked on both sides. Plain data
 * only, no imports, so that the browser bundle takes nothing else from pipe.
 */

export const UI_RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type UiRunStatus = (typeof UI_RUN_STATUSES)[number];
export type UiTaskStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';

/**
 * Where run state was read from: the warehouse, or (while another process holds it) the run
 * logs beside it, with who holds it.
 */
/** `heldPid`: the holder's process, when the lock names it (a page follows it, and reads again once it is gone: killed, it writes no log again). */
export type StateSource = { readonly kind: 'warehouse' } | { readonly kind: 'run-log'; readonly heldBy: string; readonly heldPid?: number } | { readonly kind: 'none'; readonly why: string };

export interface UiProject {
  readonly name: string;
  readonly root: string;
  readonly warehouse: string;
}

export interface UiTaskCell {
  readonly task_id: string;
  readonly node: string;
  readonly status: UiTaskStatus;
}

export interface UiRun {
  readonly run_id: string;
  readonly command: string;
  readonly pipeline: string | null;
  readonly status: UiRunStatus;
  /** The dates it built: `2024-01-02`, a backfill's `2024-01-01..2024-01-31`, `?` when its parameters cannot be read. */
  readonly dates: string;
  /** `YYYY-MM-DD HH:MM:SS`, UTC. */
  readonly started_at: string;
  readonly ended_at: string | null;
  readonly duration_ms: number | null;
  readonly parent_run_id: string | null;
  readonly tasks: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly cancelled: number;
  readonly running: number;
  readonly pending: number;
  /** The last `pipe retry` of it (following retries of retries) and how that ended; null when none, or read from the run logs. */
  readonly retried_by: string | null;
  readonly retry_status: string | null;
  /** A later run that did the same work and succeeded, when this one did not. */
  readonly completed_by: string | null;
  /** Why pipe retry cannot read its recorded parameters (it then offers no retry), if it cannot. */
  readonly params_problem: string | null;
}

export interface UiRuns {
  readonly project: UiProject;
  readonly source: StateSource;
  readonly runs: readonly (UiRun & { readonly cells: readonly UiTaskCell[] })[];
  /** The run the next page lists the runs after (`before=`), when there are older runs. */
  readonly older: string | null;
}

export interface UiTask {
  readonly task_id: string;
  readonly node: string;
  readonly kind: string;
  readonly ds: string | null;
  readonly status: UiTaskStatus;
  readonly attempts: number | null;
  readonly rows: number | null;
  /** Epoch milliseconds of the first attempt's start and of the last attempt's end. */
  readonly start_ms: number | null;
  readonly end_ms: number | null;
  readonly error: string | null;
  readonly detail: string | null;
  /** Which of the run's threads (1..threads) ran it; null when not recorded (a run of an earlier pipe, a task no thread took). */
  readonly worker: number | null;
  /** The `pipe worker` process that ran it, in a distributed backfill. */
  readonly runner?: string | null;
}

/**
 * Tasks that failed with one error, told once; each with where it points. The error is the
 * first task's; a task whose own message differs from it (in a name, a date, a number) has it
 * as `error`: the group's text is not its.
 */
export interface UiFailureGroup {
  readonly error: string;
  readonly tasks: readonly { readonly task_id: string; readonly node: string; readonly at: string | null; readonly error?: string }[];
}

export interface UiCheckResult {
  readonly task_id: string;
  readonly check: string;
  readonly severity: string;
  readonly status: string;
  readonly failing_rows: number;
  readonly sample: readonly Record<string, unknown>[];
}

export interface UiRunDetail {
  readonly project: UiProject;
  readonly source: StateSource;
  readonly run: UiRun;
  readonly tasks: readonly UiTask[];
  readonly failures: readonly UiFailureGroup[];
  readonly checks: readonly UiCheckResult[];
  /**
   * The command that completes the run, when it did not fully succeed, has ended and was not
   * completed since: `pipe retry` of its latest retry when it was retried (what a bare `pipe
   * retry` picks), else of itself.
   */
  readonly retry: string | null;
  /** The run that command retries. */
  readonly retry_run: string | null;
}

export interface UiNode {
  readonly name: string;
  /** `model`, `seed` or `source`. */
  readonly type: string;
  /** A model's materialization; `seed` or `source` for the others. */
  readonly kind: string;
  readonly file: string;
  readonly upstream: readonly string[];
  readonly tags: readonly string[];
  /** The status of the node's latest task in any run, if it ever ran. */
  readonly last_status: UiTaskStatus | null;
}

export interface UiGraph {
  readonly project: UiProject;
  readonly source: StateSource;
  readonly nodes: readonly UiNode[];
  /** The project's errors (`file:line: message`): the nodes are what the rest of the project is. */
  readonly problems: readonly string[];
}

export interface UiColumn {
  readonly name: string;
  readonly type: string;
  readonly description?: string;
  /** False for a column the project declares that the built table does not have. */
  readonly in_table?: boolean;
}

export interface UiModelTask {
  readonly run_id: string;
  readonly task_id: string;
  readonly status: UiTaskStatus;
  readonly rows: number | null;
  readonly duration_ms: number | null;
  readonly ended_at: string | null;
}

export interface UiModel {
  readonly project: UiProject;
  readonly source: StateSource;
  readonly node: UiNode;
  readonly relation: string;
  readonly downstream: readonly string[];
  /** What the project says the node is (`description:`), if it says. */
  readonly description: string | null;
  /** The file as written, when the node has one of its own (not a source). */
  readonly source_sql: string | null;
  /** The query a run for the default date would execute, or why there is none. */
  readonly compiled: { readonly sql: string } | { readonly problem: string };
  /** That date (YYYY-MM-DD): yesterday, as a run takes it by default. */
  readonly compiled_for: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly checks: readonly { readonly name: string; readonly severity: string; readonly at: string }[];
  /** From the warehouse when it can be read, else as the project declares them. */
  readonly columns: readonly UiColumn[];
  readonly columns_from: 'warehouse' | 'project';
  readonly tasks: readonly UiModelTask[];
}

export interface UiPreview {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
  readonly more: boolean;
}

/** Whether the page may act (`pipe ui --allow-actions`), and the token it sends with each action. */
export interface UiActions {
  readonly allowed: boolean;
  readonly token: string | null;
}

/** An action's answer: the run it started, or why there was nothing to run. */
export type UiStarted = { readonly run_id: string } | { readonly nothing: string };

/** What every endpoint answers with when it cannot answer. */
export interface UiError {
  readonly error: string;
}

/** How many rows the model page previews. */
export const PREVIEW_ROWS = 100;

/**
 * One interval of a model (or its one build, for a model built whole), as `pipe status --json`
 * tells it, with the task that builds it and the run to open for it: the one that failed it,
 * else the one that last built it.
 */
export interface UiCoverageUnit {
  readonly interval?: string;
  readonly start?: string;
  readonly end?: string;
  /** `current`, `never-built`, `failed`, `modified`, `stale`, `dropped`, `untracked`. */
  readonly state: string;
  readonly reason?: string;
  readonly built_at: string | null;
  readonly run_id: string | null;
  readonly task_id: string;
  readonly open_run: string | null;
}

export interface UiCoverageNode {
  readonly node: string;
  readonly kind: string;
  readonly dated: boolean;
  readonly ever_built: boolean;
  /** Oldest first; one for a model built whole. */
  readonly units: readonly UiCoverageUnit[];
}

/** `pipe status` of every model and seed, or why the warehouse could not be read. */
export type UiCoverage =
  /** `history_start`: where the history on record starts, when the default range was cut short before it (see Coverage.cut); else null. */
  | { readonly kind: 'read'; readonly project: UiProject; readonly start: string; readonly end: string; readonly history_start: string | null; readonly nothing_built: boolean; readonly nodes: readonly UiCoverageNode[] }
  /**
   * `held_pid`: the holder's process, when the lock names it (the page reads again once it is
   * gone); `live`: the run it is running, from its log, with the tasks it has finished so far.
   */
  | { readonly kind: 'held'; readonly project: UiProject; readonly held_by: string; readonly held_pid: number | null; readonly live: UiCoverageLive | null };

/** What a run that holds the warehouse has finished so far, as its log tells. */
export interface UiCoverageLive {
  readonly run_id: string;
  readonly finished: readonly { readonly node: string; readonly ds: string | null; readonly status: 'succeeded' | 'failed' }[];
}

/** /api/changes: what the page compares with its previous answer to know that it should read again. */
export interface UiChanges {
  /** Changes whenever a run log does. */
  readonly runs: string;
  /** With `?run=ID`: changes whenever that run's log does. */
  readonly run?: string;
  /** With `?free=PID`: whether that process, which held the warehouse, is gone. */
  readonly free?: boolean;
}
