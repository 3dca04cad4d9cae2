import { formatHistory } from '../../src/cli/format-history.js';
import { formatInit } from '../../src/cli/format-init.js';
import { formatPlan } from '../../src/cli/format-plan.js';
import { sourceReader } from '../../src/cli/output.js';
import { operationStatus, report, statusCode } from '../../src/cli/report.js';
import { backfill, backfillDryRun, backfillMissing, type BackfillOptions } from '../../src/commands/backfill.js';
import { status, type StatusOptions } from '../../src/commands/status.js';
import { formatStatus } from '../../src/cli/format-status.js';
import { init } from '../../src/commands/init.js';
import { compile, history, listNodes, type CompiledModel, type CompileOptions, type GraphOptions, type HistoryOptions } from '../../src/commands/inspect.js';
import { retry, type RetryOptions } from '../../src/commands/retry.js';
import { run, type RunOptions } from '../../src/commands/run.js';
import { test, type TestOptions } from '../../src/commands/test.js';
import { runOperation, type RunOperationOptions } from '../../src/commands/run-operation.js';
import { sourceFreshness, type FreshnessOptions } from '../../src/commands/source-freshness.js';
import { show, type ShowOptions } from '../../src/commands/show.js';
import { formatRowsJson, formatRowsTable } from '../../src/cli/format-rows.js';
import { formatFreshness, freshnessExitStatus } from '../../src/cli/format-freshness.js';
import { listSchedules, schedule, type ScheduleOptions } from '../../src/schedule/scheduler.js';
import type { PipeEvent } from '../../src/events/events.js';
import type { DagNode } from '../../src/graph/render-dag.js';
import { parseJsonLines, type PipeEventJson, type PipeResult } from '../e2e/helpers.js';
import { plainStyle } from '../../src/logging/style.js';
import { TextLogger } from '../../src/logging/text-logger.js';

/**
 * pipe's commands called as library functions, in the test's own process, on a real project
 * directory and a real DuckDB file. The result has the shape of a `pipe` process's: the exit
 * status the CLI would give (through the CLI's own mapping), the plain text its logger would
 * print (in memory), and the events as `--json` would print them. Only what a process alone
 * shows (signals, kill -9, locks between processes, the environment) needs the binary.
 */

type Emit = (e: PipeEvent) => void;

/**
 * Options of a command without the project and the event sink, which the harness supplies;
 * `onEvent` sees each event as it happens (to act at a known point of a run).
 */
type Opts<T> = Omit<T, 'project' | 'emit'> & { readonly onEvent?: Emit };

async function command(
  project: string,
  body: (emit: Emit, print: (text: string) => void) => Promise<number>,
  onEvent: Emit = () => undefined,
): Promise<PipeResult> {
  let stdout = '';
  let stderr = '';
  const logger = new TextLogger({ write: (t) => (stdout += t) }, { write: (t) => (stderr += t) }, plainStyle, false, sourceReader(project));
  const events: PipeEventJson[] = [];
  const emit: Emit = (e) => {
    events.push(JSON.parse(JSON.stringify(e)) as PipeEventJson);
    logger.handle(e);
    onEvent(e);
  };
  let code: number;
  try {
    code = await body(emit, (text) => logger.result(text));
  } catch (e) {
    code = report(e, { handle: emit, result: (t) => logger.result(t), close: () => undefined });
  }
  logger.close();
  return { code, signal: null, stdout, stderr, events };
}

/** `pipe init DIR`, run from the folder `cwd`: the files it wrote and the commands to run next. */
export function initIn(dir: string, cwd = process.cwd()): Promise<PipeResult> {
  return command(dir, async (_emit, print) => {
    print(formatInit(init({ dir }), cwd));
    return 0;
  });
}

/** `pipe run`. */
export function runIn(project: string, options: Opts<RunOptions> = {}): Promise<PipeResult> {
  return command(project, async (emit) => settled(await run({ ...options, project, emit }), emit), options.onEvent);
}

/** `pipe backfill`. */
export function backfillIn(project: string, options: Opts<BackfillOptions>): Promise<PipeResult> {
  return command(project, async (emit) => settled(await backfill({ ...options, project, emit }), emit), options.onEvent);
}

/** The exit status of a command that may find nothing to do (said as a notice, as the CLI says it). */
async function settled(outcome: { nothingToDo: string } | { notified: Promise<unknown>; status: Parameters<typeof statusCode>[0] }, emit: (e: PipeEvent) => void): Promise<number> {
  if ('nothingToDo' in outcome) {
    emit({ type: 'notice', message: outcome.nothingToDo });
    return 0;
  }
  await outcome.notified;
  return statusCode(outcome.status);
}

/** `pipe backfill --missing`. */
export function backfillMissingIn(project: string, options: Opts<BackfillOptions>): Promise<PipeResult> {
  return command(project, async (emit) => {
    return settled(await backfillMissing({ ...options, project, emit }), emit);
  }, options.onEvent);
}

/** `pipe status`, as text or, with `json`, as the lines `--json` prints (in `events`). */
export async function statusIn(project: string, options: Opts<StatusOptions> & { json?: boolean } = {}): Promise<PipeResult> {
  const r = await command(project, async (emit, print) => {
    print(formatStatus(await status({ ...options, project, emit }), Boolean(options.json)));
    return 0;
  });
  return options.json ? { ...r, events: [...r.events, ...parseJsonLines(r.stdout)] } : r;
}

/** `pipe backfill --dry-run`: the plan as the CLI prints it. */
export function dryRunIn(project: string, options: Opts<BackfillOptions>): Promise<PipeResult> {
  return command(project, async (emit, print) => {
    const plan = await backfillDryRun({ ...options, project, emit });
    print(formatPlan(plan, { start: options.start, end: options.end, order: options.order ?? 'oldest', parallel: options.parallel ?? 1 }, false));
    return 0;
  });
}

/** `pipe retry`. */
export function retryIn(project: string, options: Opts<RetryOptions> = {}): Promise<PipeResult> {
  return command(project, async (emit) => {
    return settled(await retry({ ...options, project, emit }), emit);
  }, options.onEvent);
}

/** `pipe test`. */
export function testIn(project: string, options: Opts<TestOptions> = {}): Promise<PipeResult> {
  return command(project, async (emit) => {
    return settled(await test({ ...options, project, emit }), emit);
  });
}

/** `pipe run-operation MACRO`. */
export function runOperationIn(project: string, options: Opts<RunOperationOptions>): Promise<PipeResult> {
  return command(project, async (emit) => operationStatus(await runOperation({ ...options, project, emit }), { handle: emit }), options.onEvent);
}

/** `pipe source freshness`, as text or, with `json`, as the lines `--json` prints (in `events`). */
export async function freshnessIn(project: string, options: Opts<FreshnessOptions> & { json?: boolean } = {}): Promise<PipeResult> {
  const r = await command(project, async (emit, print) => {
    const { results, warnings } = await sourceFreshness({ ...options, project, emit });
    for (const d of warnings) emit({ type: 'diagnostic', diagnostic: d });
    print(formatFreshness(results, Boolean(options.json)));
    return freshnessExitStatus(results);
  });
  return options.json ? { ...r, events: [...r.events, ...parseJsonLines(r.stdout)] } : r;
}

/** `pipe compile`: `models` holds what `--json` prints, `stdout` the SQL of the one model asked for. */
export async function compileIn(project: string, options: Opts<CompileOptions> = {}): Promise<PipeResult & { models: CompiledModel[] }> {
  let models: CompiledModel[] = [];
  const r = await command(project, async (emit, print) => {
    const compiled = await compile({ ...options, project, emit });
    for (const d of compiled.warnings) emit({ type: 'diagnostic', diagnostic: d });
    models = compiled.models;
    if (options.model) print(models[0]?.sql ?? '');
    return 0;
  });
  return { ...r, models };
}

/** `pipe ls` and `pipe dag`: the selected nodes in dependency order. */
export async function nodesIn(project: string, options: Opts<GraphOptions> = {}): Promise<PipeResult & { nodes: DagNode[] }> {
  let nodes: DagNode[] = [];
  const r = await command(project, async (emit) => {
    nodes = await listNodes({ ...options, project, emit });
    return 0;
  });
  return { ...r, nodes };
}

/** `pipe history`, as text or, with `json`, as the lines `--json` prints (in `events`). */
export async function historyIn(project: string, options: Opts<HistoryOptions> & { json?: boolean } = {}): Promise<PipeResult> {
  const r = await command(project, async (_emit, print) => {
    print(formatHistory(await history({ ...options, project }), Boolean(options.json)));
    return 0;
  });
  return options.json ? { ...r, events: [...r.events, ...parseJsonLines(r.stdout)] } : r;
}

/** `pipe show`: the table within `width` columns, or with `json` the array `--json` prints. */
export async function showIn(project: string, options: Opts<ShowOptions> & { json?: boolean; width?: number }): Promise<PipeResult> {
  return command(project, async (emit, print) => {
    const shown = await show({ ...options, project, emit });
    print(options.json ? formatRowsJson(shown) : formatRowsTable(shown, options.width));
    return 0;
  });
}

/** `pipe schedule --once` (`list`: `--list`), with the clock standing for PIPE_NOW. */
export function scheduleIn(project: string, options: Opts<Omit<ScheduleOptions, 'signal' | 'once'>> & { list?: boolean; json?: boolean } = {}): Promise<PipeResult> {
  return command(project, async (emit, print) => {
    if (options.list) {
      print(await listSchedules({ ...options, project }, undefined, options.json));
      return 0;
    }
    const result = await schedule({ ...options, project, once: true, emit, signal: new AbortController().signal });
    return result.failed > 0 ? 1 : 0;
  }, options.onEvent);
}
